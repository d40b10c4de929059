"""Two server processes on one PostgreSQL and one Redis: one sequence, no loss, no duplicates."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from realtime.client import FilmnightClient, Seat
from realtime.protocol import Chat, ChatEvent, MemberJoined, ServerMessage, Welcome
from tests.support.redis_server import private_redis
from tests.support.server_process import ServerProcess, server_process

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


@contextlib.contextmanager
def two_servers(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    env = {
        "FILMNIGHT_DATABASE_URL": postgres_url,
        "FILMNIGHT_REDIS_URL": redis_url,
        "FILMNIGHT_PRESENCE_TTL_S": "3",
        "FILMNIGHT_CHAT_BURST": "1000",
    }
    with server_process(tmp_path / "a", env) as a, server_process(tmp_path / "b", env) as b:
        yield a, b


async def create_session(server: ServerProcess) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post("/api/v1/sessions", json={"host_name": "Host"})
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


async def join(server: ServerProcess, code: str, name: str) -> Seat:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post(f"/api/v1/invites/{code}/join", json={"name": name, "bot": True})
        response.raise_for_status()
        data = response.json()
    return Seat(server.base_url, data["session_id"], data["member_id"], data["token"])


@contextlib.asynccontextmanager
async def connected(seats: list[Seat]) -> AsyncIterator[list[FilmnightClient]]:
    clients = [FilmnightClient(seat, max_backoff_s=0.5) for seat in seats]
    await asyncio.gather(*(c.connect() for c in clients))
    try:
        yield clients
    finally:
        await asyncio.gather(*(c.close() for c in clients))


async def collect(
    client: FilmnightClient, count: int, timeout: float = 20.0
) -> list[ServerMessage]:
    """The next ``count`` durable events (those with a ``seq``)."""
    got: list[ServerMessage] = []
    while len(got) < count:
        event = await client.next_event(timeout=timeout)
        if getattr(event, "seq", None) is not None and not isinstance(event, Welcome):
            got.append(event)
    return got


def _ids(events: list[ServerMessage]) -> list[tuple[int, str]]:
    return [(getattr(e, "seq", -1), type(e).__name__) for e in events]


async def test_members_split_across_processes_see_the_identical_sequence(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    with two_servers(tmp_path, postgres_url, redis_url) as (a, b):
        host = await create_session(a)
        seats = [await join(a if i % 2 else b, host["invite_code"], f"bot{i}") for i in range(6)]
        async with connected(seats) as clients:
            # Joins land on both processes at once: seq is assigned in PostgreSQL.
            await asyncio.gather(
                *(join(a if i % 2 else b, host["invite_code"], f"late{i}") for i in range(10))
            )
            sequences = await asyncio.gather(*(collect(c, 10) for c in clients))
        first = _ids(sequences[0])
        assert [seq for seq, _ in first] == list(range(first[0][0], first[0][0] + 10))
        assert all(_ids(s) == first for s in sequences)


async def test_a_killed_process_loses_no_acknowledged_command(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    with two_servers(tmp_path, postgres_url, redis_url) as (a, b):
        host = await create_session(a)
        on_a = [await join(a, host["invite_code"], f"a{i}") for i in range(2)]
        on_b = [await join(b, host["invite_code"], f"b{i}") for i in range(2)]
        async with connected(on_a + on_b) as clients:
            watcher = clients[0]
            acked: list[int] = []

            async def chatter(client: FilmnightClient, label: str) -> None:
                for i in range(15):
                    with contextlib.suppress(TimeoutError, ConnectionError):
                        ack = await client.send(Chat(text=f"{label}-{i}"))
                        assert ack.seq is not None
                        acked.append(ack.seq)
                    await asyncio.sleep(0.02)

            tasks = [asyncio.create_task(chatter(c, f"m{n}")) for n, c in enumerate(clients)]
            await asyncio.sleep(0.3)
            b.kill()
            # The members of B reconnect to A (same session, same database).
            for client in clients[2:]:
                client.seat = Seat(
                    a.base_url,
                    *(getattr(client.seat, f) for f in ("session_id", "member_id", "token")),
                )
            await asyncio.gather(*tasks)
            assert acked, "commands were acknowledged"
            seen: list[int] = []
            deadline = asyncio.get_running_loop().time() + 20
            while not set(acked) <= set(seen) and asyncio.get_running_loop().time() < deadline:
                event = await watcher.next_event(ChatEvent, MemberJoined, timeout=10)
                seen.append(event.seq)
            assert set(acked) <= set(seen)
            assert len(seen) == len(set(seen)), "no duplicates"
            assert seen == sorted(seen), "in order"


async def test_a_redis_restart_heals_by_itself_and_nothing_is_missed(
    tmp_path: Path, postgres_url: str
) -> None:
    with (
        private_redis() as redis_server,
        two_servers(tmp_path, postgres_url, redis_server.url) as (a, b),
    ):
        host = await create_session(a)
        seats = [await join(b, host["invite_code"], f"b{i}") for i in range(3)]
        async with connected(seats) as clients:
            redis_server.stop()
            # Changes keep being committed on A while Redis is down; B's members miss them live.
            for i in range(3):
                await join(a, host["invite_code"], f"during-{i}")
            redis_server.start()
            # B's hub reconnects and its rooms re-read the log; nothing is lost or duplicated.
            sequences = await asyncio.gather(*(collect(c, 3, timeout=30) for c in clients))
            for events in sequences:
                assert [e.member.name for e in events if isinstance(e, MemberJoined)] == [
                    "during-0",
                    "during-1",
                    "during-2",
                ]
            # And live fan-out works again.
            await join(a, host["invite_code"], "after")
            after = await asyncio.gather(*(collect(c, 1, timeout=30) for c in clients))
            assert all(
                isinstance(e[0], MemberJoined) and e[0].member.name == "after" for e in after
            )
