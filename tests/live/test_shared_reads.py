"""Shared reads: members of one room coming back together share one read of the log
(their replays) or of the party record, and each gets exactly what its own read
would have given."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest

from server.app import create_app
from server.live.gateway import LiveGateway
from server.live.replay import ReplayReads
from server.sessions.service import SessionService
from server.shared_reads import SharedReads
from tests.conftest import LiveServer, make_settings, run_live
from tests.live.test_lingering_rooms import ben_away
from tests.live.test_party import command
from tests.live.test_socket import http_create, http_join, http_leave
from tests.support.wsclient import connect_member


class FakeLog:
    """An event log per session holding ``seq`` first..last (older ones trimmed),
    answering as ``SessionEngine.events_after`` does, and counting its reads."""

    def __init__(self, first: int, last: int) -> None:
        self.first, self.last = first, last
        self.reads: list[tuple[str, int, int]] = []

    async def events_after(
        self, session_id: str, seq: int, limit: int
    ) -> list[tuple[int, bytes]] | None:
        self.reads.append((session_id, seq, limit))
        await asyncio.sleep(0)
        rows = [
            (s, f"{session_id}:{s}".encode())
            for s in range(max(seq + 1, self.first), self.last + 1)
        ]
        rows = rows[:limit]
        if rows and rows[0][0] != seq + 1:
            return None
        return rows

    def own(self, session_id: str, seq: int, limit: int) -> list[tuple[int, str]] | None:
        """What one member's own read gives (the reference answer)."""
        rows = [(s, f"{session_id}:{s}") for s in range(max(seq + 1, self.first), self.last + 1)]
        rows = rows[:limit]
        if rows and rows[0][0] != seq + 1:
            return None
        return rows


async def test_asks_of_one_key_made_together_share_one_read() -> None:
    calls: list[tuple[str, list[int]]] = []

    async def read(key: str, asks: Sequence[int]) -> list[int]:
        calls.append((key, list(asks)))
        await asyncio.sleep(0)
        return [ask * 10 for ask in asks]

    shared: SharedReads[str, int, int] = SharedReads(read)
    answers = await asyncio.gather(*(shared.ask("a", n) for n in range(5)), shared.ask("b", 7))
    assert answers == [0, 10, 20, 30, 40, 70]
    assert sorted(calls) == [("a", [0, 1, 2, 3, 4]), ("b", [7])]
    assert shared.reads == 2


async def test_asks_made_while_a_read_runs_get_the_next_read_not_the_running_one() -> None:
    started = asyncio.Event()
    release = asyncio.Event()
    calls: list[list[int]] = []

    async def read(key: str, asks: Sequence[int]) -> list[int]:
        calls.append(list(asks))
        started.set()
        await release.wait()
        return [len(calls)] * len(asks)

    shared: SharedReads[str, int, int] = SharedReads(read)
    first = asyncio.ensure_future(shared.ask("a", 1))
    await started.wait()
    later = [asyncio.ensure_future(shared.ask("a", n)) for n in (2, 3)]
    await asyncio.sleep(0)
    release.set()
    # the late asks are answered by a second read, made after they asked
    assert await first == 1
    assert await asyncio.gather(*later) == [2, 2]
    assert calls == [[1], [2, 3]]


@pytest.mark.parametrize("spacing_s", [0.0, 0.5])
async def test_with_spacing_a_lone_ask_is_read_at_once_and_a_burst_shares_few_reads(
    spacing_s: float,
) -> None:
    """Reads that are over at once (SQLite's reads in place) would each answer one ask
    of a burst; spaced, the asks of the burst that come meanwhile share the next read."""
    calls: list[list[int]] = []

    async def read(key: str, asks: Sequence[int]) -> list[int]:
        calls.append(list(asks))  # no suspension: over before anyone else asks
        return [ask * 10 for ask in asks]

    shared: SharedReads[str, int, int] = SharedReads(read, spacing_s=spacing_s)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await shared.ask("a", 1) == 10
    assert loop.time() - started < 0.25  # a lone ask waits for no spacing
    await asyncio.sleep(spacing_s + 0.05)  # the key is idle again
    calls.clear()
    burst = []
    for n in range(20):  # one ask per pass of the loop, over a few milliseconds
        burst.append(asyncio.ensure_future(shared.ask("a", n)))
        await asyncio.sleep(0.0005)
    assert await asyncio.gather(*burst) == [n * 10 for n in range(20)]
    assert sorted(ask for batch in calls for ask in batch) == list(range(20))
    if spacing_s:
        assert calls[0] == [0]  # the first ask of the burst was read at once
        assert len(calls) == 2  # the rest shared the next read, spacing_s later
    else:
        assert len(calls) == 20


async def test_a_failed_read_fails_every_ask_of_it_and_the_next_read_still_runs() -> None:
    fail = True

    async def read(key: str, asks: Sequence[int]) -> list[int]:
        await asyncio.sleep(0)
        if fail:
            raise RuntimeError("database down")
        return list(asks)

    shared: SharedReads[str, int, int] = SharedReads(read)
    results = await asyncio.gather(shared.ask("a", 1), shared.ask("a", 2), return_exceptions=True)
    assert [type(r) for r in results] == [RuntimeError, RuntimeError]
    fail = False
    assert await shared.ask("a", 3) == 3


async def test_resuming_members_of_a_room_share_one_read_of_the_log() -> None:
    log = FakeLog(first=1, last=50)
    replays = ReplayReads(log.events_after)
    asks = [40, 42, 40, 49, 50]
    answers = await asyncio.gather(*(replays.after("s1", seq) for seq in asks))
    assert len(log.reads) == 1 and log.reads[0][1] == 40
    assert answers == [log.own("s1", seq, 10_000) for seq in asks]
    assert answers[3] == [(50, "s1:50")] and answers[4] == []


@pytest.mark.parametrize("limit", [3, 10, 100])
async def test_a_shared_read_never_answers_for_a_range_it_does_not_hold(limit: int) -> None:
    """Every answer equals the member's own read: when the shared read starts below a
    trimmed log (``None`` for the lowest ask) or hit the limit, the others read their own."""
    for first, asks in itertools.product(
        (1, 20, 30), ([5, 25, 35], [19, 19, 40], [29, 30, 31], [10, 48, 50], [0, 60])
    ):
        log = FakeLog(first=first, last=50)
        replays = ReplayReads(log.events_after, limit=limit)
        answers = await asyncio.gather(*(replays.after("s", seq) for seq in asks))
        expected = [log.own("s", seq, limit) for seq in asks]
        assert answers == expected, (first, asks, limit)


async def test_tokens_checked_together_share_one_query_and_each_gets_its_own_answer(
    live: LiveServer,
) -> None:
    """A storm's hellos: one query checks every token, and a member who left, a session
    that ended and an unknown token are refused as they are one by one."""
    service: SessionService = live.app.state.services.gateway.service
    kept = await http_create(live, "Ana")
    ben = await http_join(live, kept["invite_code"], "Ben")
    cy = await http_join(live, kept["invite_code"], "Cy")
    await http_leave(live, kept["session_id"], cy["token"])
    ended = await http_create(live, "Dee")
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        response = await http.delete(
            f"/api/v1/sessions/{ended['session_id']}",
            headers={"Authorization": f"Bearer {ended['token']}"},
        )
        assert response.status_code == 204, response.text
    tokens = [kept["token"], ben["token"], cy["token"], ended["token"], "nobody", ben["token"]]
    one_by_one = [await service.authenticate(token) for token in tokens]
    reads = service.identity_reads
    together = await asyncio.gather(*(service.authenticate(token) for token in tokens))
    assert service.identity_reads == reads + 1
    assert together == one_by_one
    assert [None if i is None else str(i.member_id) for i in together] == [
        kept["member_id"],
        ben["member_id"],
        None,
        None,
        None,
        ben["member_id"],
    ]


async def test_a_member_who_holds_the_rooms_latest_seq_resumes_without_reading_the_log(
    tmp_path: Path, database_url: str
) -> None:
    """Back with the ``seq`` the room is at: resumed with nothing to replay and no read
    of the log; back after an event it missed, with a room that keeps no events
    (``room_recent_events`` 0): the replay is read and holds it."""
    settings = make_settings(tmp_path, database_url, room_recent_events=0)
    async with run_live(create_app(settings), settings) as live:
        gateway: LiveGateway = live.app.state.services.gateway
        host, ben_seat, ana, held = await ben_away(live)
        sid = host["session_id"]
        reads = gateway.replays.reads
        ben, welcome = await connect_member(live.ws_url, sid, ben_seat["token"], held)
        assert welcome is not None and welcome["resumed"] is True and welcome["seq"] == held
        assert gateway.replays.reads == reads
        await ben.close()
        reply = await command(ana, {"type": "chat", "text": "popcorn?"}, "c1")
        assert reply["type"] == "ack"
        ben, welcome = await connect_member(live.ws_url, sid, ben_seat["token"], held)
        assert welcome is not None and welcome["resumed"] is True and welcome["seq"] == held
        replayed = await ben.recv_type("chat")
        assert (replayed["seq"], replayed["text"]) == (reply["seq"], "popcorn?")
        assert gateway.replays.reads == reads + 1
        await ben.close()
        await ana.close()
