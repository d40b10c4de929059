"""Snapshots of many sessions read together: the same state as each read alone.

A reconnect storm after a restart brings back the members of rooms whose state no
process keeps; their snapshots are read together (``SessionService.snapshot_view``),
one statement per part whatever the number of sessions. These tests pin that a
session read with others is exactly the session read alone (its members, recent
chat, latest round, party, limits, imports), and that one session's trouble (it does
not exist) is its own.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from realtime.protocol import encode
from server.app import create_app
from server.errors import ApiError
from server.sessions.service import SessionService, SnapshotView
from tests.conftest import LiveServer, make_settings, run_live
from tests.live.test_party import command
from tests.live.test_rounds import film_ids, open_room, start
from tests.live.test_socket import http_create, http_join, http_leave
from tests.support.wsclient import connect_member


@pytest.fixture
async def live(tmp_path: Path, database_url: str) -> AsyncIterator[LiveServer]:
    """A server that keeps the last 3 chat lines, and lets a member say many at once."""
    settings = make_settings(tmp_path, database_url, chat_history=3, chat_burst=100)
    async with run_live(create_app(settings), settings) as server:
        yield server


def _service(live: LiveServer) -> SessionService:
    service: SessionService = live.app.state.services.service
    return service


@contextmanager
def _statements() -> Iterator[list[str]]:
    """The SQL statements run meanwhile (by any engine of this process)."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA", "SELECT 1")):
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", count)


def _text(view: SnapshotView, viewer: str | None = None) -> bytes:
    for fill in view.personal:
        fill(view.snapshot, viewer)
    try:
        return encode(view.snapshot)
    finally:
        for fill in view.personal:
            fill(view.snapshot, None)


async def _sessions(live: LiveServer) -> tuple[list[str], str]:
    """Four sessions that differ in every part; returns their ids and a voter of the first.

    The first: a closed poll and an open one (the open one is the latest), a ballot,
    more chat than the history keeps, a film set for the party, a member who left.
    The second: bare. The third: a chat line and a party film. The fourth: a match round.
    """
    room = await open_room(live, ["Ana", "Ben"])
    first = await start(room, mode="poll", size=3, cid="p1")
    await command(room.host.ws, {"type": "round.close", "round_id": first["round_id"]}, "c1")
    latest = await start(room, mode="poll", size=3, cid="p2")
    ballot = {"type": "ballot", "round_id": latest["round_id"], "ranking": film_ids(latest)[:2]}
    assert (await command(room.seats[1].ws, ballot, "b1"))["type"] == "ack"
    for n in range(5):  # more than the history keeps (3)
        reply = await command(room.host.ws, {"type": "chat", "text": f"line {n}"}, f"t{n}")
        assert reply["type"] == "ack", reply
    setup = {"type": "party.setup", "film_title": "Alien"}
    assert (await command(room.host.ws, setup, "s1"))["type"] == "ack"
    cleo = await http_join(live, room.invite_code, "Cleo")
    await http_leave(live, room.session_id, cleo["token"])
    await room.close()

    bare = await http_create(live, "Dan")

    chatty = await http_create(live, "Eve")
    eve, _ = await connect_member(live.ws_url, chatty["session_id"], chatty["token"])
    assert (await command(eve, {"type": "chat", "text": "hi"}, "h1"))["type"] == "ack"
    assert (await command(eve, {"type": "party.setup", "film_title": "Heat"}, "s2"))[
        "type"
    ] == "ack"
    await eve.close()

    matching = await open_room(live, ["Fay", "Gus"])
    await start(matching, mode="match", size=2)
    await matching.close()
    sids = [room.session_id, bare["session_id"], chatty["session_id"], matching.session_id]
    return sids, room.seats[1].member_id


async def test_sessions_read_together_are_each_as_read_alone(live: LiveServer) -> None:
    sids, voter = await _sessions(live)
    service = _service(live)
    ids = [uuid.UUID(sid) for sid in sids]
    alone = [await service.snapshot_view(session_id) for session_id in ids]
    assert [len(view.snapshot.chat or []) for view in alone] == [3, 0, 1, 0]
    assert alone[0].snapshot.round is not None and alone[0].snapshot.round.status == "open"
    assert alone[3].snapshot.round is not None and alone[3].snapshot.round.mode == "match"

    reads = service.snapshot_reads
    together = await asyncio.gather(*(service.snapshot_view(session_id) for session_id in ids))
    # Asked at the same moment: read together, in one read.
    assert service.snapshot_reads - reads == 1
    assert [_text(view) for view in together] == [_text(view) for view in alone]
    # Each viewer's own fields still come from their session's own round.
    assert _text(together[0], voter) == _text(alone[0], voter) != _text(together[0])

    # And exactly as the member's own snapshot over HTTP has it (presence aside).
    for session_id, view in zip(ids, together, strict=True):
        own = await service.snapshot(session_id, set(), None)
        own.party.ready = view.snapshot.party.ready
        assert encode(own) == _text(view)


async def test_a_read_of_many_sessions_runs_the_statements_of_one(live: LiveServer) -> None:
    sids, _ = await _sessions(live)
    await asyncio.sleep(1.0)  # the departures' own writes (presence, the party) are done
    service = _service(live)
    ids = [uuid.UUID(sid) for sid in sids]
    with _statements() as one:
        await service._snapshot_views("sessions", ids[:1])  # the richest: every part reads
    with _statements() as four:
        views = await service._snapshot_views("sessions", ids)
    assert len(one) == len(four) >= 8
    assert all(view is not None for view in views)


async def test_an_unknown_session_fails_its_own_ask_only(live: LiveServer) -> None:
    sids, _ = await _sessions(live)
    service = _service(live)
    known = uuid.UUID(sids[2])
    results = await asyncio.gather(
        service.snapshot_view(known),
        service.snapshot_view(uuid.uuid4()),
        service.snapshot_view(known),
        return_exceptions=True,
    )
    first, missing, again = results
    assert isinstance(missing, ApiError) and missing.code == "session_not_found"
    assert isinstance(first, SnapshotView) and isinstance(again, SnapshotView)
    # Asked twice: a view of its own each time (whoever holds one fills it in).
    assert first is not again and first.snapshot is not again.snapshot
    assert _text(first) == _text(again)


@pytest.mark.parametrize("sessions", [1, 3, 5])
async def test_recent_chat_of_several_sessions_keeps_each_ones_own_lines(
    live: LiveServer, sessions: int
) -> None:
    """Any number of sessions (the statement's shape is rounded up to a power of two,
    the last session repeated): each gets its own newest lines, oldest first, once,
    whether it said fewer than the history keeps or more."""
    sids = []
    for n in range(sessions):
        host = await http_create(live, f"Host {n}")
        member, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
        for line in range(n + 1):
            reply = await command(member, {"type": "chat", "text": f"{n}:{line}"}, f"c{line}")
            assert reply["type"] == "ack"
        await member.close()
        sids.append(host["session_id"])
    views = await _service(live)._snapshot_views("sessions", [uuid.UUID(s) for s in sids])
    for n, view in enumerate(views):
        assert view is not None
        lines = view.snapshot.chat or []
        newest = [f"{n}:{line}" for line in range(n + 1)][-3:]  # chat_history is 3
        assert [line.text for line in lines] == newest
        assert [line.name for line in lines] == [f"Host {n}"] * len(newest)


async def test_more_sessions_than_one_read_takes_are_read_in_turn(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    sids, _ = await _sessions(live)
    service = _service(live)
    ids = [uuid.UUID(sid) for sid in sids]
    alone = [_text(await service.snapshot_view(session_id)) for session_id in ids]
    monkeypatch.setattr("server.sessions.service.SNAPSHOT_BATCH", 3)
    with _statements() as statements:
        views = await service._snapshot_views("sessions", [*ids, ids[0]])
    assert [_text(view) for view in views if view is not None] == [*alone, alone[0]]
    # Three sessions, then the fourth with the repeated first: two rounds of statements.
    assert sum(1 for statement in statements if "fn_session.title" in statement) == 2
