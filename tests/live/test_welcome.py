"""Welcomes from a room's shared state: read once per state, never stale, each member's own.

The gateway reads a room's state once and shares it between its members' welcomes
(server/live/welcome.py); these tests pin what that must never change: a member
who left, or a session that ended, is refused at once; a welcome after a change
shows the change; each member's welcome carries their own id, position, presence
and ballot; and the text is the same as encoding the whole welcome for them.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import msgspec
import websockets

from realtime.framing import EPHEMERAL, EVENT, pack
from realtime.protocol import (
    MemberInfo,
    PartyInfo,
    RoundInfo,
    Snapshot,
    Welcome,
    encode,
)
from realtime.room import Room
from server.live.gateway import LiveGateway
from server.live.welcome import SharedSnapshot, WelcomeBuilder
from server.sessions.service import SnapshotView
from tests.conftest import LiveServer
from tests.live.test_party import command
from tests.live.test_rounds import film_ids, open_room, start
from tests.live.test_socket import http_create, http_join, http_leave
from tests.support.wsclient import connect_member


def _gateway(live: LiveServer) -> LiveGateway:
    gateway: LiveGateway = live.app.state.services.gateway
    return gateway


async def _seats(live: LiveServer, names: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    host = await http_create(live, names[0])
    return host, [host] + [await http_join(live, host["invite_code"], n) for n in names[1:]]


async def _refused(live: LiveServer, sid: str, token: str) -> int | None:
    """The close code a hello with ``token`` gets (no welcome may come first)."""
    member, _ = await connect_member(live.ws_url, sid, None, hello=False)
    await member.send({"type": "hello", "token": token})
    try:
        frame = await asyncio.wait_for(member.ws.recv(), 5)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    raise AssertionError(f"a refused hello got {frame!r}")


async def test_a_room_filling_up_reads_its_state_once(live: LiveServer) -> None:
    host, seats = await _seats(live, ["Ana", "Ben", "Cleo", "Dan", "Eve"])
    sid = host["session_id"]
    ana, first = await connect_member(live.ws_url, sid, host["token"])
    assert first is not None
    reads = _gateway(live).welcomes.reads
    members = [ana]
    for seat in seats[1:]:
        member, welcome = await connect_member(live.ws_url, sid, seat["token"])
        assert welcome is not None and welcome["member_id"] == seat["member_id"]
        assert welcome["seq"] == first["seq"]
        members.append(member)
    # Presence changed with every hello; the state did not: no new read.
    assert _gateway(live).welcomes.reads == reads
    await asyncio.gather(*(m.close() for m in members))


async def test_a_member_who_left_is_refused_at_once(live: LiveServer) -> None:
    host, (_, ben_seat, _cleo) = await _seats(live, ["Ana", "Ben", "Cleo"])
    sid = host["session_id"]
    ana, _ = await connect_member(live.ws_url, sid, host["token"])
    ben, _ = await connect_member(live.ws_url, sid, ben_seat["token"])  # the state is shared
    await http_leave(live, sid, ben_seat["token"])
    assert await ben.close_code() == 4410
    assert await _refused(live, sid, ben_seat["token"]) == 4401
    await ana.close()


async def test_a_session_that_ended_refuses_every_token_at_once(live: LiveServer) -> None:
    host, (_, ben_seat) = await _seats(live, ["Ana", "Ben"])
    sid = host["session_id"]
    ben, _ = await connect_member(live.ws_url, sid, ben_seat["token"])
    ana, _ = await connect_member(live.ws_url, sid, host["token"])
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        response = await http.delete(
            f"/api/v1/sessions/{sid}", headers={"Authorization": f"Bearer {host['token']}"}
        )
        assert response.status_code == 204, response.text
    assert await ben.close_code() == 4410
    assert await _refused(live, sid, ben_seat["token"]) == 4401
    await ana.close()


async def test_a_welcome_after_a_change_shows_it(live: LiveServer) -> None:
    host, (_, ben_seat, cleo_seat) = await _seats(live, ["Ana", "Ben", "Cleo"])
    sid = host["session_id"]
    ana, first = await connect_member(live.ws_url, sid, host["token"])
    assert first is not None
    reply = await command(ana, {"type": "chat", "text": "popcorn?"}, "c1")
    assert reply["type"] == "ack"
    # Straight after the ack: the event may not have reached the room yet, the token
    # check has seen its seq, so the state is read again.
    ben, welcome = await connect_member(live.ws_url, sid, ben_seat["token"])
    assert welcome is not None
    assert welcome["seq"] == reply["seq"] == first["seq"] + 1
    assert [line["text"] for line in welcome["session"]["chat"]] == ["popcorn?"]
    # Presence is never cached: Ana goes away, Cleo's welcome shows her offline.
    await ana.close()
    presence = await ben.recv_type("presence")
    while host["member_id"] not in presence["offline"]:
        presence = await ben.recv_type("presence")
    cleo, cleo_welcome = await connect_member(live.ws_url, sid, cleo_seat["token"])
    assert cleo_welcome is not None
    online = {m["name"]: m["online"] for m in cleo_welcome["session"]["members"]}
    assert online == {"Ana": False, "Ben": True, "Cleo": True}
    await ben.close()
    await cleo.close()


async def test_each_welcome_carries_its_members_own_ballot(live: LiveServer) -> None:
    room = await open_room(live, ["Ana", "Ben", "Cleo"])
    started = await start(room, mode="poll", method="borda", size=3)
    films, rid = film_ids(started), started["round_id"]
    rankings = {"Ana": [films[2], films[0]], "Ben": [films[1]]}
    for seat in room.seats[:2]:
        frame = {"type": "ballot", "round_id": rid, "ranking": rankings[seat.name]}
        assert (await command(seat.ws, frame, "b"))["type"] == "ack"
    await room.close()
    await asyncio.sleep(0.2)  # the departures are announced
    welcomes = {}
    sockets = []
    for seat in room.seats:
        ws, welcome = await connect_member(live.ws_url, room.session_id, seat.token)
        assert welcome is not None
        welcomes[seat.name] = welcome
        sockets.append(ws)
    for seat in room.seats:
        welcome = welcomes[seat.name]
        assert welcome["member_id"] == seat.member_id
        assert welcome["session"]["round"]["my_ballot"] == rankings.get(seat.name)
        assert welcome["session"]["round"]["voted"] == 2
        me = next(m for m in welcome["session"]["members"] if m["member_id"] == seat.member_id)
        assert me["online"] is True
    # The members' welcomes were filled in one after another on one shared state:
    # the one before leaves nothing of its own in the next (Cleo has no ballot).
    assert welcomes["Cleo"]["session"]["round"]["my_ballot"] is None
    await asyncio.gather(*(ws.close() for ws in sockets))


def _snapshot(members: int, ready: list[str]) -> Snapshot:
    infos = [
        MemberInfo(member_id=str(uuid.UUID(int=n)), name=f'm"{n}', bot=n % 2 == 0)
        for n in range(members)
    ]
    return Snapshot(
        session_id=str(uuid.UUID(int=999)),
        title='a "members":[] title',  # the marker the members are put back at, as text
        state="lobby",
        host_id=infos[0].member_id,
        seq=7,
        members=infos,
        created_at=1,
        party=PartyInfo(ready=ready),
        round=RoundInfo(
            round_id="r",
            mode="poll",
            status="open",
            films=[],
            eligible=[i.member_id for i in infos],
        ),
    )


def test_a_shared_welcome_is_the_same_text_as_the_whole_welcome_encoded() -> None:
    ids = [str(uuid.UUID(int=n)) for n in range(6)]
    ballots = {ids[1]: ["f1", "f2"], ids[4]: ["f3"]}

    def personal(snapshot: Snapshot, viewer: str | None) -> None:
        assert snapshot.round is not None
        snapshot.round.my_ballot = ballots.get(viewer) if viewer is not None else None

    shared = SharedSnapshot(SnapshotView(_snapshot(6, [ids[1], ids[2]]), (personal,)), 0)
    for online in ({ids[0]}, {ids[0], ids[1]}, {ids[1], ids[2], ids[5]}, set(), set(ids)):
        for viewer in ids:
            shown = online | {viewer}
            text = shared.welcome(viewer, set(shown), seq=7, resumed=False, server_time=42)
            expected = _snapshot(6, [ids[1], ids[2]])
            for info in expected.members:
                info.online = info.member_id in shown
            expected.party.ready = sorted({ids[1], ids[2]} & shown)
            personal(expected, viewer)
            whole = Welcome(
                member_id=viewer, seq=7, resumed=False, session=expected, server_time=42
            )
            assert text == encode(whole).decode()
            decoded = msgspec.json.decode(text)
            assert decoded["session"]["title"] == 'a "members":[] title'


class _Service:
    """Hands out snapshots at a given seq and counts the reads."""

    def __init__(self) -> None:
        self.seq = 7
        self.reads = 0

    async def snapshot_view(self, session_id: uuid.UUID) -> SnapshotView:
        self.reads += 1
        snapshot = _snapshot(3, [])
        snapshot.seq = self.seq
        return SnapshotView(snapshot, ())


async def test_a_state_newer_than_the_room_has_heard_of_is_read_again() -> None:
    """Another process committed an event the room has not been handed yet: the token
    check saw its seq, so the kept state is not used."""
    service = _Service()
    builder = WelcomeBuilder(service)  # type: ignore[arg-type]
    room = Room("s", source=None, gap_timeout_s=1)  # type: ignore[arg-type]
    sid = str(uuid.UUID(int=1))
    first = await builder.shared(room, sid, seen_seq=7)
    assert await builder.shared(room, sid, seen_seq=7) is first
    service.seq = 8
    newer = await builder.shared(room, sid, seen_seq=8)
    assert newer.seq == 8 and service.reads == 2
    # An event handed to the room (here an ephemeral one) also makes the state stale.
    room.on_payloads([pack(EPHEMERAL, b'{"type":"import.progress"}', EVENT)])
    assert await builder.shared(room, sid, seen_seq=8) is not newer
    assert service.reads == 3
    # Presence alone does not: it is applied per welcome.
    kept = room.welcome_cache
    room.on_payloads([pack(EPHEMERAL, b'{"type":"presence","online":["x"]}', EVENT)])
    assert await builder.shared(room, sid, seen_seq=8) is kept
    assert service.reads == 3
