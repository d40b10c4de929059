"""Watch party: from the host's ``playback`` command to the last member's ``playback`` event.

    uv run python bench/bench_party.py [--seconds 5]

Parties of 10 and 1,000 members, the host seeking 10 times a second; on one server
process (embedded default) and on two processes sharing PostgreSQL and Redis with
the members spread over both (the machine's services, 127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.realtime.__main__ import (
    SERVER_ENV,
    Filmnight,
    _drain,
    _latency_figures,
    _raise_fd_limit,
    _send,
    reading,
)
from bench.realtime.members import KINDS
from server.db.migrate import upgrade
from tests.support.server_process import server_process

ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    name = f"filmnight_bench_{secrets.token_hex(4)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def party(
    target: Filmnight, size: int, seconds: float, rate: float = 10.0
) -> dict[str, float]:
    room = await target.room(size)
    room.kind = "playback"
    async with reading(room, exact=True):
        count = int(rate * seconds)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for n in range(count):
            await asyncio.sleep(max(0.0, start + n / rate - loop.time()))
            await _send(room, n)
        await _drain(room, count)
    return {**_latency_figures(room), "sent": count}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--client",
        choices=KINDS,
        default=KINDS[0],
        help="the members' websockets client build (see bench/realtime/members.py)",
    )
    args = parser.parse_args()
    _raise_fd_limit()
    rows: list[tuple[str, int, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp, server_process(Path(tmp), SERVER_ENV) as one:
        uvloop.run(
            _run(
                Filmnight(one.base_url, one.process.pid, args.client),
                args.seconds,
                rows,
                "1 process (SQLite, memory)",
            )
        )
    with tempfile.TemporaryDirectory() as tmp, postgres_database() as database:
        env = {
            **SERVER_ENV,
            "FILMNIGHT_DATABASE_URL": database,
            "FILMNIGHT_REDIS_URL": "redis://127.0.0.1:6379/0",
        }
        with server_process(Path(tmp) / "a", env) as a, server_process(Path(tmp) / "b", env) as b:
            target = Filmnight(a.base_url, a.process.pid, args.client, also=(b.base_url,))
            uvloop.run(_run(target, args.seconds, rows, "2 processes (PostgreSQL, Redis)"))
    print(
        f"{'setup':<34} {'members':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'read p50':>9} {'read p99':>9} {'events':>8}"
    )
    for label, size, r in rows:
        events = f"{int(r['events'])}/{int(r['sent'])}"
        print(
            f"{label:<34} {size:>8} {r['p50']:>8.1f} {r['p99']:>8.1f} "
            f"{r['read_p50']:>9.1f} {r['read_p99']:>9.1f} {events:>8}"
        )
    print(
        "\n(latency: the host's playback command sent -> the event arrived at the last "
        "member's socket (kernel receive stamp);\n read: -> this process had read it off "
        "every member's socket)"
    )


async def _run(
    target: Filmnight, seconds: float, rows: list[tuple[str, int, dict[str, float]]], label: str
) -> None:
    for size in (10, 1000):
        rows.append((label, size, await party(target, size, seconds)))


if __name__ == "__main__":
    main()
