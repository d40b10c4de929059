"""The watch party over the socket: setup, control policy, playback clock, ready check."""

from __future__ import annotations

import time
from typing import Any

import httpx

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
        (ana, {"type": "countdown", "action": "start"}, "not_all_ready"),
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
        ana, _ = await connect_member(first.ws_url, host["session_id"], host["token"])
        await command(ana, {"type": "playback", "action": "seek", "position_ms": 42_000}, "p1")
        await command(ana, {"type": "ready", "ready": True}, "r1")
        await ana.close()
    async with run_live(create_app(settings), settings) as second:
        ana, welcome = await connect_member(second.ws_url, host["session_id"], host["token"])
        assert welcome is not None
        party = welcome["session"]["party"]
        assert party["playback"]["position_ms"] == 42_000
        assert party["ready"] == [host["member_id"]]
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
