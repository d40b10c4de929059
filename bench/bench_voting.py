"""Voting: candidate ranking, each method on 1,000 ballots, and a 1,000-member live poll.

    uv run python bench/bench_voting.py [--members 1000] [--repeat 20]

1. Candidates for 50 members with 5,000 films each, decryption included: open and
   decode every sealed list, then rank (pure, in memory).  Also the same through
   the server's store on SQLite (rows read, decrypted, ranked, top 100 looked up).
2. The winner on 1,000 random ballots over 20 films, for each method.
3. A live poll on one server process (embedded default): 1,000 members, each a
   ``websockets`` client in this process, send their ballot at once.  Ballots
   accepted per second (first send to last ack), and ballot → coalesced tally
   latency (the first ``round.tally`` at an observer that counts the ballot).
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

import httpx
import msgspec
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.realtime.__main__ import _pct, _raise_fd_limit
from server.voting.methods import METHODS, tally
from server.watchlists.candidates import MemberList, rank_candidates
from server.watchlists.crypto import MasterKeys, decode_list, encode_list, open_sealed, seal
from tests.support.server_process import server_process

UNIVERSE = 20_000


def _lists(members: int, films: int, rng: random.Random) -> list[list[int]]:
    popular = list(range(2000))  # every list shares some of the popular films
    return [
        rng.sample(popular, films // 5) + rng.sample(range(2000, UNIVERSE), films - films // 5)
        for _ in range(members)
    ]


def candidates_pure(repeat: int) -> tuple[float, float]:
    rng = random.Random(1)
    keys = MasterKeys.generate()
    session = str(uuid.uuid4())
    sealed = []
    for films in _lists(50, 5000, rng):
        member = str(uuid.uuid4())
        plain = encode_list(films)
        sealed.append((member, seal(keys, plain, session_id=session, member_id=member)))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        lists = {}
        for member, envelope in sealed:
            body = decode_list(open_sealed(keys, envelope, session_id=session, member_id=member))
            lists[member] = MemberList(films=body.films)
        ranking = rank_candidates(lists, limit=100)
        times.append((time.perf_counter() - start) * 1000)
        assert ranking.films[0].wanted_by >= ranking.films[-1].wanted_by
    return statistics.median(times), _pct(times, 99)


async def candidates_store(repeat: int) -> tuple[float, float]:
    """The server's own path: rows → decrypt → rank → the top 100 from the catalogue."""
    from server.app import build_services
    from server.db.migrate import upgrade
    from server.db.models import FilmRow, MemberRow, SessionRow
    from server.session_engine import utcnow
    from server.settings import load_settings

    directory = Path(tempfile.mkdtemp())
    url = f"sqlite+aiosqlite:///{directory}/bench.db"
    await asyncio.to_thread(upgrade, url)
    base = msgspec.structs.asdict(load_settings(environ={}))
    base.update(database_url=url, master_key_file=str(directory / "master.key"))
    services, engines = build_services(msgspec.convert(base, type(load_settings(environ={}))))
    engine, watchlists = services.engine, services.watchlists
    rng = random.Random(2)
    async with engine.transaction() as tx:
        now = utcnow()
        session = SessionRow(title="bench", created_at=now, last_activity_at=now)
        tx.db.add(session)
        await tx.db.flush()
        tx.db.add_all(
            FilmRow(id=i + 1, title=f"Film {i}", title_key=f"film {i}") for i in range(UNIVERSE)
        )
        for n, films in enumerate(_lists(50, 5000, rng)):
            member = MemberRow(
                session_id=session.id, name=f"m{n}", token_hash=uuid.uuid4().hex, joined_at=now
            )
            tx.db.add(member)
            await tx.db.flush()
            await watchlists.store.save(tx.db, session.id, member.id, [f + 1 for f in films], [])
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        async with engine.reader() as db:
            page, _stored = await watchlists.page(db, session.id, limit=100)
        times.append((time.perf_counter() - start) * 1000)
        assert page.member_count == 50
    for item in engines:
        await item.dispose()
    return statistics.median(times), _pct(times, 99)


def methods(repeat: int) -> dict[str, tuple[float, float]]:
    rng = random.Random(3)
    films = [f"f{i}" for i in range(20)]
    ballots = []
    for _ in range(1000):
        ranking = films[:]
        rng.shuffle(ranking)
        ballots.append(ranking[: rng.randint(1, 20)])
    out: dict[str, tuple[float, float]] = {}
    for method in METHODS:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            tally(method, films, ballots)
            times.append((time.perf_counter() - start) * 1000)
        out[method] = (statistics.median(times), _pct(times, 99))
    return out


async def live_poll(base_url: str, members: int) -> dict[str, float]:
    ws_base = base_url.replace("http", "ws", 1)
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as http:
        host = (await http.post("/api/v1/sessions", json={"host_name": "host"})).json()
        sid, auth = host["session_id"], {"Authorization": f"Bearer {host['token']}"}
        csv = "Date,Name,Year,Letterboxd URI\n" + "".join(
            f"2026-01-01,Film {i},2000,https://boxd.it/b{i}\n" for i in range(20)
        )
        await http.post(
            f"/api/v1/sessions/{sid}/imports/csv",
            files={"file": ("watchlist.csv", csv.encode(), "text/csv")},
            headers=auth,
        )
        gate = asyncio.Semaphore(32)

        async def seat(i: int) -> str:
            async with gate:
                joined = await http.post(
                    f"/api/v1/invites/{host['invite_code']}/join",
                    json={"name": f"m{i}", "bot": True},
                )
                return str(joined.json()["token"])

        voters = members - 1  # the host starts the poll and watches the tallies
        tokens = await asyncio.gather(*(seat(i) for i in range(voters)))

    async def connect(token: str) -> websockets.ClientConnection:
        async with gate:
            ws = await websockets.connect(
                f"{ws_base}/ws/v1/sessions/{sid}", max_queue=None, compression=None, open_timeout=60
            )
            await ws.send(msgspec.json.encode({"type": "hello", "token": token}).decode())
            while msgspec.json.decode(await ws.recv())["type"] != "welcome":
                pass
            return ws

    observer = await connect(host["token"])
    clients = list(await asyncio.gather(*(connect(t) for t in tokens)))
    await asyncio.sleep(1.0 + members / 1000)
    await observer.send(
        msgspec.json.encode(
            {"type": "round.start", "mode": "poll", "method": "schulze", "size": 20, "id": "go"}
        ).decode()
    )
    round_id, films = "", []
    while not round_id:
        frame = msgspec.json.decode(await observer.recv())
        if frame["type"] == "round.started":
            round_id, films = frame["round_id"], [f["id"] for f in frame["films"]]
    tallies: list[tuple[float, int]] = []
    acks: list[float] = []
    sent: list[float] = []

    async def watch() -> None:
        async for raw in observer:
            frame = msgspec.json.decode(raw)
            if frame["type"] == "round.tally":
                tallies.append((time.perf_counter(), frame["voted"]))
                if frame["voted"] >= voters:
                    return

    async def vote(ws: websockets.ClientConnection, n: int) -> None:
        ranking = films[:]
        random.Random(n).shuffle(ranking)
        sent.append(time.perf_counter())
        await ws.send(
            msgspec.json.encode(
                {"type": "ballot", "round_id": round_id, "ranking": ranking, "id": f"b{n}"}
            ).decode()
        )
        async for raw in ws:
            frame = msgspec.json.decode(raw)
            if frame["type"] in ("ack", "error") and frame.get("id") == f"b{n}":
                assert frame["type"] == "ack", frame
                acks.append(time.perf_counter())
                return

    watcher = asyncio.create_task(watch())
    start = time.perf_counter()
    await asyncio.gather(*(vote(ws, n) for n, ws in enumerate(clients)))
    accepted_s = time.perf_counter() - start
    await asyncio.wait_for(watcher, 30)
    # The k-th accepted ballot is counted by the first tally whose ``voted`` reaches k.
    acks.sort()
    latencies = []
    for k, acked in enumerate(acks, start=1):
        seen = next(t for t, voted in tallies if voted >= k and t >= acked - 1)
        latencies.append((seen - sent[k - 1]) * 1000 if k <= len(sent) else 0.0)
    for ws in [observer, *clients]:
        await ws.close()
    return {
        "ballots_per_s": voters / accepted_s,
        "tallies": len(tallies),
        "p50": _pct(latencies, 50),
        "p99": _pct(latencies, 99),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    _raise_fd_limit()
    rows = []
    p50, p99 = candidates_pure(args.repeat)
    rows.append(("candidates: 50 lists × 5,000 films, decrypt + rank", f"{p50:.1f}", f"{p99:.1f}"))
    p50, p99 = asyncio.run(candidates_store(args.repeat))
    rows.append(
        ("candidates: the same through the store (SQLite), top 100", f"{p50:.1f}", f"{p99:.1f}")
    )
    for method, (p50, p99) in methods(args.repeat).items():
        rows.append(
            (f"{method}: winner of 1,000 ballots over 20 films", f"{p50:.2f}", f"{p99:.2f}")
        )
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)} | p50 ms | p99 ms")
    print(f"{'-' * width}-|--------|-------")
    for name, a, b in rows:
        print(f"{name.ljust(width)} | {a:>6} | {b:>6}")
    with (
        tempfile.TemporaryDirectory() as tmp,
        server_process(
            Path(tmp),
            env={"FILMNIGHT_IMPORTS_PER_MINUTE": "1000", "FILMNIGHT_JOINS_PER_MINUTE": "100000"},
        ) as server,
    ):
        poll = asyncio.run(live_poll(server.base_url, args.members))
    print()
    print(f"live poll, {args.members:,} members on one process (SQLite, memory channels)")
    print(f"  ballots accepted: {poll['ballots_per_s']:.0f}/s")
    print(f"  ballot → coalesced tally: p50 {poll['p50']:.0f} ms, p99 {poll['p99']:.0f} ms")
    ballots = args.members - 1
    print(f"  round.tally frames to each member: {poll['tallies']:.0f} (for {ballots:,} ballots)")


if __name__ == "__main__":
    main()
