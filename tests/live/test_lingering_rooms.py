"""Rooms that stay after their last member: members who come back within
``room_linger_s`` are resumed from what the room keeps, with no read of the database,
and get exactly the events they missed; whatever the room cannot vouch for is read."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from realtime.connection import Member
from realtime.room import Room, Rooms
from server.app import create_app
from server.live.gateway import LiveGateway
from tests.conftest import LiveServer, make_settings, run_live
from tests.live.test_party import command
from tests.live.test_socket import http_create, http_join
from tests.support.wsclient import RawMember, connect_member


def _lingers(room: Room) -> bool:
    """Kept with no member, until its expiry (a call: mypy does not narrow it)."""
    return room.expiry is not None


def _gateway(live: LiveServer) -> LiveGateway:
    gateway: LiveGateway = live.app.state.services.gateway
    return gateway


def _rooms(live: LiveServer) -> Rooms:
    rooms = _gateway(live).rooms
    assert rooms is not None
    return rooms


async def _emptied(live: LiveServer, session_id: str) -> Room | None:
    """The session's room once the server has seen its last member go."""
    for _ in range(200):
        room = _rooms(live).get(session_id)
        if room is None or not room.recipients:
            return room
        await asyncio.sleep(0.01)
    raise AssertionError("the room kept its members")


def _reads(live: LiveServer) -> tuple[int, int]:
    """(state reads, replay reads) made so far."""
    gateway = _gateway(live)
    return gateway.welcomes.reads, gateway.replays.reads


async def ben_away(live: LiveServer) -> tuple[dict[str, Any], dict[str, Any], RawMember, int]:
    """Ana hosts and stays; Ben joins, is welcomed and goes. Returns Ana's seat,
    Ben's seat, Ana's connection and the ``seq`` Ben holds."""
    host = await http_create(live, "Ana")
    ben_seat = await http_join(live, host["invite_code"], "Ben")
    ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
    ben, welcome = await connect_member(live.ws_url, host["session_id"], ben_seat["token"])
    assert welcome is not None
    await ben.close()
    return host, ben_seat, ana, int(welcome["seq"])


async def _seq_frames(member: RawMember, duration: float = 0.3) -> list[tuple[int, str]]:
    return [(f["seq"], f["type"]) for f in await member.quiet(duration) if "seq" in f]


async def test_members_back_within_the_linger_are_resumed_by_the_room_with_no_read(
    live: LiveServer,
) -> None:
    host = await http_create(live, "Ana")
    ben_seat = await http_join(live, host["invite_code"], "Ben")
    sid = host["session_id"]
    ana, first = await connect_member(live.ws_url, sid, host["token"])
    ben, welcome = await connect_member(live.ws_url, sid, ben_seat["token"])
    assert first is not None and welcome is not None
    chat = await command(ana, {"type": "chat", "text": "popcorn?"}, "c1")
    held = chat["seq"]
    await ben.recv_type("chat")
    await ana.close()
    await ben.close()
    room = await _emptied(live, sid)
    assert room is not None and _lingers(room)  # lingering, still following
    # An event while nobody is connected: the lingering room delivers it to no one, keeps it.
    cy = await http_join(live, host["invite_code"], "Cy")
    states, replays = _reads(live)

    ben, back = await connect_member(live.ws_url, sid, ben_seat["token"], held)
    assert back is not None and back["resumed"] is True and back["seq"] == held
    joined = await ben.recv_type("member.joined")
    assert (joined["seq"], joined["member"]["member_id"]) == (held + 1, cy["member_id"])
    assert await _seq_frames(ben) == []  # nothing twice
    assert _rooms(live).get(sid) is room and not _lingers(room)
    # The kept state was older than Ben's position (it lacks members who joined since,
    # whom a resumed client shows as the welcome has them online or not): read again,
    # and the replay still came from the room.
    assert _reads(live) == (states + 1, replays)
    reads = _reads(live)
    # Ana is further back: the room still holds every event after her position.
    ana, back = await connect_member(live.ws_url, sid, host["token"], first["seq"])
    assert back is not None and back["resumed"] is True and back["seq"] == first["seq"]
    replay = [(f["seq"], f["type"]) for f in [await ana.recv_type("chat")]]
    replay.append(((await ana.recv_type("member.joined"))["seq"], "member.joined"))
    assert replay == [(held, "chat"), (held + 1, "member.joined")]
    online = {m["member_id"]: m["online"] for m in back["session"]["members"]}
    assert online[ben_seat["member_id"]] is True and online[cy["member_id"]] is False
    assert _reads(live) == reads
    # and both stay live: the next event reaches each once
    later = await command(ben, {"type": "chat", "text": "yes"}, "c2")
    assert later["seq"] == held + 2
    assert (await ana.recv_type("chat"))["seq"] == held + 2
    await ana.close()
    await ben.close()


async def test_an_ephemeral_change_since_the_kept_state_makes_the_resume_read_it(
    live: LiveServer,
) -> None:
    """The kept state may lack what an ephemeral event changed (no replay brings it):
    the resume reads the state again."""
    host, ben_seat, ana, held = await ben_away(live)
    await ana.send({"type": "reaction", "emoji": "🍿", "id": "r1"})
    await ana.recv_type("reaction")
    states, _ = _reads(live)
    ben, back = await connect_member(live.ws_url, host["session_id"], ben_seat["token"], held)
    assert back is not None and back["resumed"] is True
    assert _reads(live)[0] == states + 1
    await ana.close()
    await ben.close()


async def test_what_the_room_does_not_hold_is_read_from_the_log(
    tmp_path: Path, database_url: str
) -> None:
    """Older than the room's recent events: the replay is read, exactly. Past the
    session's newest ``seq``: a fresh welcome. A room behind what the hello's token
    check saw committed does not answer either."""
    settings = make_settings(tmp_path, database_url, room_recent_events=2)
    async with run_live(create_app(settings), settings) as live:
        host, ben_seat, ana, held = await ben_away(live)
        sid = host["session_id"]
        sent = [await command(ana, {"type": "chat", "text": f"m{n}"}, f"c{n}") for n in range(3)]
        _, replays = _reads(live)
        ben, back = await connect_member(live.ws_url, sid, ben_seat["token"], held)
        assert back is not None and back["resumed"] is True
        got = [(await ben.recv_type("chat"))["seq"] for _ in sent]
        assert got == [reply["seq"] for reply in sent]
        assert await _seq_frames(ben) == []
        assert _reads(live)[1] == replays + 1
        await ben.close()
        # two events back: the room holds them
        ben, back = await connect_member(live.ws_url, sid, ben_seat["token"], sent[0]["seq"])
        assert back is not None and back["resumed"] is True
        assert [(await ben.recv_type("chat"))["seq"] for _ in sent[1:]] == [
            reply["seq"] for reply in sent[1:]
        ]
        assert _reads(live)[1] == replays + 1
        await ben.close()
        ben, back = await connect_member(live.ws_url, sid, ben_seat["token"], sent[-1]["seq"] + 5)
        assert back is not None and back["resumed"] is False and back["seq"] == sent[-1]["seq"]
        await ben.close()

        gateway = _gateway(live)
        room = _rooms(live).get(sid)
        assert room is not None and room.next_seq is not None
        ahead = Member(sid, ben_seat["member_id"], seen_seq=room.next_seq + 3)
        states, _ = _reads(live)
        plan = await gateway.welcome(ahead, sent[-1]["seq"])
        assert _reads(live)[0] == states + 1  # not answered by the room
        assert plan.seq == sent[-1]["seq"]
        await ana.close()


async def test_a_room_goes_when_its_linger_is_over(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url, room_linger_s=0.2)
    async with run_live(create_app(settings), settings) as live:
        host = await http_create(live, "Ana")
        sid = host["session_id"]
        ana, welcome = await connect_member(live.ws_url, sid, host["token"])
        assert welcome is not None
        await ana.close()
        assert await _emptied(live, sid) is not None
        # back within the linger: the same room, and its expiry is called off
        ana, _ = await connect_member(live.ws_url, sid, host["token"], welcome["seq"])
        await asyncio.sleep(0.3)
        assert _rooms(live).get(sid) is not None
        await ana.close()
        await _emptied(live, sid)
        await asyncio.sleep(0.4)
        assert _rooms(live).get(sid) is None
        states, _ = _reads(live)
        ana, back = await connect_member(live.ws_url, sid, host["token"], welcome["seq"])
        assert back is not None and back["resumed"] is True
        assert _reads(live)[0] == states + 1
        await ana.close()


async def test_with_no_linger_a_room_goes_with_its_last_member(
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(tmp_path, database_url, room_linger_s=0)
    async with run_live(create_app(settings), settings) as live:
        host = await http_create(live, "Ana")
        sid = host["session_id"]
        ana, _ = await connect_member(live.ws_url, sid, host["token"])
        await ana.close()
        for _ in range(200):
            if _rooms(live).get(sid) is None:
                break
            await asyncio.sleep(0.01)
        assert _rooms(live).get(sid) is None
