"""Limits for tonight: what they add to a page of candidates.

    uv run python bench/bench_limits.py [--repeat 10]

50 members with 5,000 films each (20,000 distinct films, each with a runtime, two
genres and a year) on the embedded SQLite: the server's own path (rows read,
decrypted, ranked, the top 100 looked up), first without limits, then with a
runtime bound, two genres left out and a year range, which reads every distinct
film's runtime, genres and year (400 ids a query) and checks each against the
limits.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_voting import UNIVERSE, _lists
from bench.realtime.__main__ import _pct

GENRES = ["Drama", "Comedy", "Horror", "Action", "Romance", "Thriller", "Documentary", "Crime"]


async def measure(repeat: int) -> dict[str, tuple[float, float, int]]:
    from realtime.protocol import Limits
    from server.app import build_services
    from server.db.migrate import upgrade
    from server.db.models import FilmRow, MemberRow, SessionRow
    from server.session_engine import utcnow
    from server.settings import load_settings
    from server.watchlists.session_limits import save_limits

    directory = Path(tempfile.mkdtemp())
    url = f"sqlite+aiosqlite:///{directory}/bench.db"
    await asyncio.to_thread(upgrade, url)
    base = msgspec.structs.asdict(load_settings(environ={}))
    base.update(database_url=url, master_key_file=str(directory / "master.key"))
    services, engines = build_services(msgspec.convert(base, type(load_settings(environ={}))))
    engine, watchlists = services.engine, services.watchlists
    rng = random.Random(5)
    async with engine.transaction() as tx:
        now = utcnow()
        session = SessionRow(title="bench", created_at=now, last_activity_at=now)
        tx.db.add(session)
        await tx.db.flush()
        tx.db.add_all(
            FilmRow(
                id=i + 1,
                title=f"Film {i}",
                title_key=f"film {i}",
                runtime_minutes=rng.randint(70, 200),
                genres=rng.sample(GENRES, 2),
                year=rng.randint(1950, 2025),
            )
            for i in range(UNIVERSE)
        )
        for n, films in enumerate(_lists(50, 5000, rng)):
            member = MemberRow(
                session_id=session.id, name=f"m{n}", token_hash=uuid.uuid4().hex, joined_at=now
            )
            tx.db.add(member)
            await tx.db.flush()
            await watchlists.store.save(tx.db, session.id, member.id, [f + 1 for f in films], [])
    results: dict[str, tuple[float, float, int]] = {}
    for label, limits in (
        ("page of 100, no limits", Limits()),
        (
            "page of 100, limits set",
            Limits(
                max_runtime_minutes=120,
                exclude_genres=["Horror", "Documentary"],
                year_from=1980,
                year_to=2020,
            ),
        ),
    ):
        async with engine.transaction() as tx:
            await save_limits(tx.db, session.id, limits)
        times = []
        left_out = 0
        for _ in range(repeat):
            start = time.perf_counter()
            async with engine.reader() as db:
                page, _stored = await watchlists.page(db, session.id, limit=100)
            times.append((time.perf_counter() - start) * 1000)
            left_out = page.left_out
        results[label] = (statistics.median(times), _pct(times, 99), left_out)
    for item in engines:
        await item.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    results = asyncio.run(measure(args.repeat))
    width = max(len(k) for k in results)
    print(f"{'measure'.ljust(width)} | p50 ms | p99 ms | left out")
    for label, (p50, p99, left_out) in results.items():
        print(f"{label.ljust(width)} | {p50:6.1f} | {p99:6.1f} | {left_out:,}")


if __name__ == "__main__":
    main()
