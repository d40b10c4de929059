"""The watch party over the socket: setup, control policy, playback clock, ready check."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from realtime.connection import Member
from server.app import create_app
from server.settings import Settings
from tests.conftest import LiveServer, run_live
from tests.live.test_socket import http_create, http_join
from tests.support.wsclient import RawMember, connect_member


async def command(member: RawMember, frame: dict[str, Any], cid: str) -> dict[str, Any]:
    await member.send({**frame, "id": cid})
    return await member.recv_type("ack", "error")


async def snapshot(live: LiveServer, session_id: str, token: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        response = await http.get(
            f"/api/v1/sessions/{session_id}", headers={"Authorization": f"Bearer {token}"}
        )
        body: dict[str, Any] = response.json()
        return body


async def test_the_host_controls_playback_and_everyone_sees_one_clock(live: LiveServer) -> None:
    host = await http_create(live)
    guest_seat = await http_join(live, host["invite_code"], "Ben")
    ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
    ben, _ = await connect_member(live.ws_url, host["session_id"], guest_seat["token"])

    setup = {
        "type": "party.setup",
        "film_title": "Alien",
        "media_url": "https://cdn.example/alien.webm",
    }
    assert (await command(ana, setup, "s1"))["type"] == "ack"
    party = await ben.recv_type("party")
    assert (party["film_title"], party["media_url"], party["control"]) == (
        "Alien",
        "https://cdn.example/alien.webm",
        "host",
    )

    refused = await command(ben, {"type": "playback", "action": "play"}, "p0")
    assert (refused["type"], refused["code"]) == ("error", "not_controller")

    before = int(time.time() * 1000)
    assert (await command(ana, {"type": "playback", "action": "play"}, "p1"))["type"] == "ack"
    playing = await ben.recv_type("playback")
    assert (
        playing["state"] == "playing"
        and playing["position_ms"] == 0
        and playing["by"] == host["member_id"]
    )
    assert playing["at"] >= before + 500  # scheduled a little ahead so every screen starts together

    await command(ana, {"type": "playback", "action": "seek", "position_ms": 90_000}, "p2")
    sought = await ben.recv_type("playback")
    assert sought["position_ms"] == 90_000 and sought["state"] == "playing"
    await command(ana, {"type": "playback", "action": "pause"}, "p3")
    paused = await ben.recv_type("playback")
    assert paused["state"] == "paused" and paused["position_ms"] >= 90_000
    assert paused["version"] == sought["version"] + 1

    # the state is in the snapshot (a reload comes back at the right position)
    state = (await snapshot(live, host["session_id"], guest_seat["token"]))["party"]
    assert state["playback"]["state"] == "paused"
    assert state["playback"]["position_ms"] == paused["position_ms"]
    assert state["film_title"] == "Alien"
    await ana.close()
    await ben.close()


async def test_bad_party_commands_get_stable_codes_and_change_nothing(live: LiveServer) -> None:
    host = await http_create(live)
    guest_seat = await http_join(live, host["invite_code"], "Ben")
    ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
    ben, _ = await connect_member(live.ws_url, host["session_id"], guest_seat["token"])
    cases: list[tuple[RawMember, dict[str, Any], str]] = [
        (ana, {"type": "playback", "action": "seek", "position_ms": -5}, "bad_position"),
        (ana, {"type": "playback", "action": "seek", "position_ms": 10**12}, "bad_position"),
        (ana, {"type": "playback", "action": "seek"}, "bad_position"),
        (ana, {"type": "playback", "action": "rate", "rate": 10}, "bad_rate"),
        (ana, {"type": "playback", "action": "rate", "rate": 0.1}, "bad_rate"),
        (ana, {"type": "playback", "action": "pause", "base_version": 99}, "stale"),
        (ana, {"type": "party.setup", "media_url": "javascript:alert(1)"}, "bad_media_url"),
        (ben, {"type": "party.setup", "film_title": "Mine"}, "host_only"),
        (ben, {"type": "countdown", "action": "start", "force": True}, "host_only"),
        # no film yet: no ready check, no countdown (issue: a timer ran under "No film set")
        (ben, {"type": "ready", "ready": True}, "no_film"),
        (ana, {"type": "countdown", "action": "start", "force": True}, "no_film"),
        (ana, {"type": "countdown", "action": "cancel"}, "no_countdown"),
        (ana, {"type": "countdown", "action": "extend", "seconds": 10}, "no_countdown"),
    ]
    for n, (member, frame, code) in enumerate(cases):
        reply = await command(member, frame, f"bad{n}")
        assert (reply["type"], reply.get("code")) == ("error", code), frame
    state = (await snapshot(live, host["session_id"], host["token"]))["party"]
    assert state["playback"] == {
        "state": "paused",
        "position_ms": 0,
        "rate": 1.0,
        "at": 0,
        "by": None,
        "version": 0,
    }
    assert state["film_title"] is None and state["countdown_ends_at"] is None
    assert state["ready"] == []
    await ana.close()
    await ben.close()


async def test_everyone_may_control_when_the_host_says_so(live: LiveServer) -> None:
    host = await http_create(live)
    guest_seat = await http_join(live, host["invite_code"], "Ben")
    ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
    ben, _ = await connect_member(live.ws_url, host["session_id"], guest_seat["token"])
    await command(ana, {"type": "party.setup", "control": "everyone"}, "s1")
    reply = await command(ben, {"type": "playback", "action": "play"}, "b1")
    assert reply["type"] == "ack"
    event = await ana.recv_type("playback")
    assert event["by"] == guest_seat["member_id"]
    # two changes based on the same version: the second is refused, nobody's change bounces
    version = event["version"]
    first = await command(
        ana, {"type": "playback", "action": "pause", "base_version": version}, "a2"
    )
    second = await command(
        ben, {"type": "playback", "action": "seek", "position_ms": 5, "base_version": version}, "b2"
    )
    assert first["type"] == "ack" and second["code"] == "stale"
    await ana.close()
    await ben.close()


async def test_ready_check_and_countdown(live: LiveServer) -> None:
    host = await http_create(live)
    guest_seat = await http_join(live, host["invite_code"], "Ben")
    ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
    ben, _ = await connect_member(live.ws_url, host["session_id"], guest_seat["token"])
    await command(ana, {"type": "party.setup", "film_title": "Alien"}, "s1")
    refused = await command(ana, {"type": "countdown", "action": "start"}, "c0")
    assert refused["code"] == "not_all_ready"

    await command(ana, {"type": "ready", "ready": True}, "r1")
    first = await ben.recv_type("ready")
    assert (first["member_id"], first["ready"], first["all_ready"]) == (
        host["member_id"],
        True,
        False,
    )

    # the last one to get ready starts the countdown, and playback is scheduled for its end
    now = int(time.time() * 1000)
    last_ready = await command(ben, {"type": "ready", "ready": True}, "r2")
    ready = await ana.recv_type("ready")
    assert ready["all_ready"] is True
    countdown = await ana.recv_type("countdown")
    assert now + 4_500 <= countdown["ends_at"] <= now + 6_000 and countdown["forced"] is False
    scheduled = await ana.recv_type("playback")
    assert scheduled["state"] == "playing" and scheduled["at"] == countdown["ends_at"]
    # an automatic countdown (and the start it schedules) is by the member who got ready last
    assert countdown["by"] == scheduled["by"] == guest_seat["member_id"]
    # the ack names every event the last ready caused, and a resend gets the same ack
    caused = [ready["seq"], countdown["seq"], scheduled["seq"]]
    assert caused == list(range(ready["seq"], ready["seq"] + 3))
    assert last_ready == {"type": "ack", "id": "r2", "seq": caused[-1], "seqs": caused}
    assert await command(ben, {"type": "ready", "ready": True}, "r2") == last_ready

    # un-readying cancels it, and the start that had not happened yet is undone
    await command(ben, {"type": "ready", "ready": False}, "r3")
    cancelled = await ana.recv_type("countdown")
    assert cancelled["ends_at"] is None
    undone = await ana.recv_type("playback")
    assert undone["state"] == "paused" and undone["position_ms"] == 0
    assert cancelled["by"] == undone["by"] == guest_seat["member_id"]

    # the host can force it, and cancel it
    forced = await command(
        ana, {"type": "countdown", "action": "start", "seconds": 3, "force": True}, "c2"
    )
    assert forced["type"] == "ack"
    assert (await ben.recv_type("countdown"))["forced"] is True
    assert (await ben.recv_type("playback"))["state"] == "playing"
    await command(ana, {"type": "countdown", "action": "cancel"}, "c3")
    assert (await ben.recv_type("countdown"))["ends_at"] is None
    assert (await ben.recv_type("playback"))["state"] == "paused"
    await ana.close()
    await ben.close()


async def test_party_state_survives_a_restart(settings: Settings) -> None:
    async with run_live(create_app(settings), settings) as first:
        host = await http_create(first)
        guest_seat = await http_join(first, host["invite_code"], "Ben")
        ana, _ = await connect_member(first.ws_url, host["session_id"], host["token"])
        ben, _ = await connect_member(first.ws_url, host["session_id"], guest_seat["token"])
        await command(ana, {"type": "party.setup", "film_title": "Alien"}, "s1")
        await command(ana, {"type": "playback", "action": "seek", "position_ms": 42_000}, "p1")
        await command(ana, {"type": "ready", "ready": True}, "r1")
        assert (await ben.recv_type("ready"))["ready"] is True
        await ana.close()
        gone = await ben.recv_type("ready")  # her last connection closed: she is not ready
        assert (gone["member_id"], gone["ready"]) == (host["member_id"], False)
        await ben.close()
    async with run_live(create_app(settings), settings) as second:
        ana, welcome = await connect_member(second.ws_url, host["session_id"], host["token"])
        assert welcome is not None
        party = welcome["session"]["party"]
        assert party["playback"]["position_ms"] == 42_000
        assert party["film_title"] == "Alien"
        assert party["ready"] == []  # stored so: she is online again, and not ready
        await ana.close()


async def test_play_while_playing_and_pause_while_paused_change_nothing_but_are_acked(
    live: LiveServer,
) -> None:
    host = await http_create(live)
    guest_seat = await http_join(live, host["invite_code"], "Ben")
    ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
    ben, _ = await connect_member(live.ws_url, host["session_id"], guest_seat["token"])
    for action in ("play", "pause"):
        first = await command(ana, {"type": "playback", "action": action}, f"{action}-1")
        event = await ben.recv_type("playback")
        assert first == {
            "type": "ack",
            "id": f"{action}-1",
            "seq": event["seq"],
            "seqs": [event["seq"]],
        }
        before = await snapshot(live, host["session_id"], host["token"])
        again = await command(ana, {"type": "playback", "action": action}, f"{action}-2")
        assert again == {"type": "ack", "id": f"{action}-2", "seq": None, "seqs": []}
        assert [f for f in await ben.quiet(0.3) if "seq" in f] == []  # no event, no seq taken
        after = await snapshot(live, host["session_id"], host["token"])
        assert after["seq"] == before["seq"] and after["party"] == before["party"]
    await ana.close()
    await ben.close()


async def test_a_new_film_starts_over_paused_at_zero_with_nobody_ready(live: LiveServer) -> None:
    """The issue's "Watch it together": the friend saw the new film already at 0:03."""
    host = await http_create(live)
    guest_seat = await http_join(live, host["invite_code"], "Ben")
    ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
    ben, _ = await connect_member(live.ws_url, host["session_id"], guest_seat["token"])
    await command(ana, {"type": "party.setup", "film_title": "Alien"}, "s1")
    await command(ana, {"type": "playback", "action": "seek", "position_ms": 3_000}, "p1")
    await command(ana, {"type": "ready", "ready": True}, "r1")
    await command(ben, {"type": "ready", "ready": True}, "r2")  # the countdown starts
    assert (await ana.recv_type("countdown"))["ends_at"] is not None
    version = (await ana.recv_type("playback"))["version"]

    # the host picks the round's winner: same command as "Watch it together" sends
    watch = {"type": "party.setup", "film_title": "Alien³", "control": "host"}
    ack = await command(ana, watch, "s2")
    party = await ben.recv_type("party")
    assert (party["film_title"], party["reset"]) == ("Alien³", True)
    stopped = await ben.recv_type("countdown")
    clock = await ben.recv_type("playback")
    assert stopped["ends_at"] is None
    assert (clock["state"], clock["position_ms"], clock["rate"]) == ("paused", 0, 1.0)
    assert clock["version"] == version + 1  # a command based on the old film is stale
    # one transaction: the three events, and one ack naming them all
    assert ack["seqs"] == [party["seq"], stopped["seq"], clock["seq"]]
    state = (await snapshot(live, host["session_id"], guest_seat["token"]))["party"]
    assert state["ready"] == [] and state["countdown_ends_at"] is None
    assert (state["playback"]["state"], state["playback"]["position_ms"]) == ("paused", 0)

    # changing only who controls playback is not a new film: nothing starts over
    await command(ben, {"type": "ready", "ready": True}, "r3")
    await command(ana, {**watch, "control": "everyone"}, "s3")
    same = await ben.recv_type("party")
    assert same["reset"] is False
    after = (await snapshot(live, host["session_id"], guest_seat["token"]))["party"]
    assert after["ready"] == [guest_seat["member_id"]]
    assert after["playback"]["version"] == clock["version"]
    await ana.close()
    await ben.close()


async def test_no_countdown_while_the_film_plays(live: LiveServer) -> None:
    """The issue: after the countdown, "Cancel" then "Start" showed "Starting in 4…" mid-film."""
    host = await http_create(live)
    guest_seat = await http_join(live, host["invite_code"], "Ben")
    ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
    ben, _ = await connect_member(live.ws_url, host["session_id"], guest_seat["token"])
    await command(ana, {"type": "party.setup", "film_title": "Alien"}, "s1")
    start = {"type": "countdown", "action": "start", "seconds": 1, "force": True}
    assert (await command(ana, start, "c1"))["type"] == "ack"
    again = await command(ana, {**start, "seconds": 5}, "c2")
    assert again["code"] == "countdown_running"
    await asyncio.sleep(1.3)  # the countdown reached zero: the film plays
    for n, action in enumerate(("cancel", "start", "extend")):
        refused = await command(ana, {**start, "action": action}, f"late{n}")
        assert (refused["type"], refused["code"]) == ("error", "already_playing"), action
    # nobody's re-readying starts a countdown mid-film either
    await command(ben, {"type": "ready", "ready": True}, "r1")
    await command(ana, {"type": "ready", "ready": True}, "r2")
    state = (await snapshot(live, host["session_id"], host["token"]))["party"]
    assert state["playback"]["state"] == "playing"
    ended = state["countdown_ends_at"]
    assert ended is not None and ended < time.time() * 1000
    # paused, a countdown may start again, and it schedules the start
    await command(ana, {"type": "playback", "action": "pause"}, "p1")
    assert (await command(ana, start, "c3"))["type"] == "ack"
    countdown = [f for f in await ben.quiet(0.3) if f["type"] == "countdown"][-1]
    assert countdown["ends_at"] > time.time() * 1000
    await ana.close()
    await ben.close()


async def test_the_host_extends_a_countdown_and_its_start_moves_with_it(live: LiveServer) -> None:
    host = await http_create(live)
    guest_seat = await http_join(live, host["invite_code"], "Ben")
    ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
    ben, _ = await connect_member(live.ws_url, host["session_id"], guest_seat["token"])
    await command(ana, {"type": "party.setup", "film_title": "Alien"}, "s1")
    await command(ana, {"type": "countdown", "action": "start", "seconds": 5, "force": True}, "c1")
    first = await ben.recv_type("countdown")
    await ben.recv_type("playback")
    extend = {"type": "countdown", "action": "extend", "seconds": 20}
    ack = await command(ana, extend, "e1")
    longer = await ben.recv_type("countdown")
    moved = await ben.recv_type("playback")
    assert longer["ends_at"] == first["ends_at"] + 20_000
    assert (moved["state"], moved["at"]) == ("playing", longer["ends_at"])
    assert ack["seqs"] == [longer["seq"], moved["seq"]]
    refused = await command(ana, {**extend, "seconds": 60}, "e2")  # past a minute from now
    assert refused["code"] == "bad_countdown"
    refused = await command(ben, extend, "e3")
    assert refused["code"] == "host_only"
    # a pause undoes the scheduled start, and so the countdown goes too
    await command(ana, {"type": "playback", "action": "pause"}, "p1")
    assert (await ben.recv_type("playback"))["state"] == "paused"
    assert (await ben.recv_type("countdown"))["ends_at"] is None
    state = (await snapshot(live, host["session_id"], host["token"]))["party"]
    assert state["countdown_ends_at"] is None and state["playback"]["position_ms"] == 0
    await ana.close()
    await ben.close()


async def test_an_offline_member_is_not_ready(live: LiveServer) -> None:
    host = await http_create(live)
    guest_seat = await http_join(live, host["invite_code"], "Ben")
    ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
    ben, _ = await connect_member(live.ws_url, host["session_id"], guest_seat["token"])
    await command(ana, {"type": "party.setup", "film_title": "Alien"}, "s1")
    await command(ben, {"type": "ready", "ready": True}, "r1")
    assert (await ana.recv_type("ready"))["member_id"] == guest_seat["member_id"]
    await ben.close()
    gone = await ana.recv_type("ready")
    assert (gone["member_id"], gone["ready"], gone["all_ready"]) == (
        guest_seat["member_id"],
        False,
        False,
    )
    state = (await snapshot(live, host["session_id"], host["token"]))["party"]
    assert state["ready"] == []
    # back online, Ben is asked again rather than counted as ready
    ben, welcome = await connect_member(live.ws_url, host["session_id"], guest_seat["token"])
    assert welcome is not None and welcome["session"]["party"]["ready"] == []
    await ana.close()
    await ben.close()


async def test_members_going_offline_together_share_one_read_of_the_party(
    live: LiveServer,
) -> None:
    """A dropped network takes many members at once, of one session or several: one
    read of their party records tells which of them were ready, and each of those
    (only) is un-readied."""
    host = await http_create(live)
    seats = [await http_join(live, host["invite_code"], name) for name in ("Ben", "Cy", "Di")]
    ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
    await command(ana, {"type": "party.setup", "film_title": "Alien"}, "s1")
    other = await http_create(live, "Eve")
    eve, _ = await connect_member(live.ws_url, other["session_id"], other["token"])
    await command(eve, {"type": "party.setup", "film_title": "Heat"}, "s2")
    assert (await command(eve, {"type": "ready", "ready": True}, "e1"))["type"] == "ack"
    ready = []
    for n, seat in enumerate(seats[:2]):
        member, _ = await connect_member(live.ws_url, host["session_id"], seat["token"])
        assert (await command(member, {"type": "ready", "ready": True}, f"r{n}"))["type"] == "ack"
        ready.append(member)
    state = (await snapshot(live, host["session_id"], host["token"]))["party"]
    assert sorted(state["ready"]) == sorted(seat["member_id"] for seat in seats[:2])
    party = live.app.state.services.gateway.offline_hooks[0].__self__
    reads = party.readiness_reads
    going = [Member(host["session_id"], seat["member_id"], 0) for seat in seats]
    going.append(Member(other["session_id"], other["member_id"], 0))
    await asyncio.gather(*(party.member_offline(member) for member in going))
    assert party.readiness_reads == reads + 1
    state = (await snapshot(live, host["session_id"], host["token"]))["party"]
    assert state["ready"] == []
    assert (await snapshot(live, other["session_id"], other["token"]))["party"]["ready"] == []
    for member in (ana, eve, *ready):
        await member.close()
