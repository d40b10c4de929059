"""Film details for a 1,500-film Letterboxd export, against a fake TMDb limited to 40 requests/s.

    uv run python bench/bench_enrichment.py [--films 1500] [--quick]

One real server process (``film_data = "tmdb"``, on SQLite, its defaults otherwise)
talks to the local fake TMDb (``tests/support/fake_tmdb.py``), which answers at most
40 API requests in any second, as TMDb does, and 429 with ``Retry-After`` beyond, and
serves real PNG posters (342 × 513, ~20 KB).  The host uploads a ``watchlist.csv``
(Date, Name, Year, Letterboxd URI) of ``--films`` distinct titles, every 50th one a
title the fake does not know.  Measured as a client sees it:

- **first 20 cards**: from sending the upload until every one of the first 20
  candidates (the ``candidates`` event's order: what the client shows) arrived with
  a poster in a ``films.enriched`` event on the host's WebSocket;
- **whole list**: until the ``films.enriched`` event with ``remaining: 0``;
- **server memory**: the process's resident set, sampled with psutil every 50 ms
  (before the upload, the peak, at the end; and the kernel's high-water mark);
- **event loop's longest stall**: a second process holds a member's WebSocket and
  sends ``ping`` every 5 ms, one at a time, and records each ``pong``'s round trip;
  the worst round trip during the upload request and during the enrichment (and,
  for scale, while idle before).  A round trip is at least any stall of the server's
  loop, plus this machine's scheduling noise.  Beside it the server's own view: its
  ``filmnight_event_loop_lag_seconds`` histogram (a timer due every 50 ms, how late
  it ran), scraped from ``/metrics`` before the upload and at the end;
- **server CPU**: user + system seconds the process spent from the upload to the
  end (what the machine's other load does not change much);
- **provider**: API requests per film, 429s the fake served, the most requests it
  answered in any one second, posters fetched.

``--rate`` sets ``film_data_requests_per_second`` (default: the server's default).
``--second 400``: a second member uploads 400 films 5 s after the first upload, a
quarter of them from the older half of the first list (so not yet looked up), spread
through theirs; those are now the group's top cards: the time from that upload until
they all have posters.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import msgspec
import psutil
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.fake_provider import FakeMovie, png_image
from tests.support.fake_tmdb import FakeTmdb, fake_tmdb
from tests.support.server_process import server_process

LIMIT_PER_SECOND = 40
"""TMDb's limit, as the fake enforces it."""
FIRST_CARDS = 20
UNKNOWN_EVERY = 50
"""Every 50th row is a title the fake does not know (it stays unlinked)."""
PING_INTERVAL_S = 0.005
SECOND_AFTER_S = 5.0
"""``--second``: the second member uploads this long after the first."""
KEY = "bench-tmdb-token"

# fmt: off
_ADJECTIVES = (
    "Silent", "Crimson", "Hidden", "Last", "Broken", "Golden", "Distant", "Wild", "Quiet",
    "Burning", "Frozen", "Lonely", "Secret", "Endless", "Fallen", "Northern", "Paper",
    "Midnight", "Velvet", "Iron", "Hollow", "Bitter", "Electric", "Forgotten", "Little",
    "Savage", "Sweet", "Strange", "Wandering", "Blue", "Scarlet", "Restless",
)
_NOUNS = (
    "Harbor", "River", "Garden", "Mirror", "Station", "Winter", "Summer", "Kingdom", "Letter",
    "Island", "Highway", "Orchard", "Lantern", "Comet", "Desert", "Violin", "Forest", "Empire",
    "Shadow", "Carnival", "Lighthouse", "Bridge", "Tide", "Mountain", "Passenger", "Archive",
    "Canyon", "Meadow", "Frontier", "Circus", "Monsoon", "Signal", "Parade", "Voyage",
    "Cathedral", "Orbit", "Harvest", "Compass", "Reef", "Tunnel", "Ember", "Glacier",
    "Pilgrim", "Sparrow", "Verdict", "Aurora", "Labyrinth", "Requiem", "Odyssey",
)
_PLACES = (
    "Paris", "Lisbon", "Tokyo", "Oslo", "Havana", "Kyiv", "Montréal", "Zürich", "Tbilisi",
    "Dakar",
)
# fmt: on


def make_titles(count: int, seed: int = 19) -> list[str]:
    """``count`` distinct titles: up to 1,568 none holds all the words of another.

    Past that a place is added ("Silent Harbor in Oslo"): a search for the shorter
    title then finds both, and the title rule still links the right one.
    """
    rng = random.Random(seed)
    pairs = [f"{a} {n}" for a in _ADJECTIVES for n in _NOUNS]
    rng.shuffle(pairs)
    titles = [f"The {p}" if i % 3 == 0 else p for i, p in enumerate(pairs)]
    if count > len(titles):  # a third word from another slot keeps them apart
        titles += [f"{p} in {place}" for place in _PLACES for p in pairs]
    if count > len(titles):
        raise SystemExit(f"at most {len(titles)} films")
    return titles[:count]


@dataclass
class Catalogue:
    movies: list[FakeMovie]
    csv: bytes
    second_csv: bytes = b""


def build(count: int, second: int = 0) -> Catalogue:
    """The films the fake knows, and the export listing them (film 0 added last); with
    ``second``, a second member's export of that many films, a quarter of them from the
    older half of the first list, spread through it."""
    posters = [png_image(342, 513, seed) for seed in range(16)]
    rng = random.Random(7)
    movies: list[FakeMovie] = []
    rows: list[str] = []
    newest = date(2026, 12, 1).toordinal()
    titles = make_titles(count + second - second // 4)
    for n, title in enumerate(titles):
        year = rng.randint(1950, 2025)
        added = date.fromordinal(newest - n).isoformat()  # film n was added n days ago
        rows.append(f'{added},"{title}",{year},https://boxd.it/b{n:05d}')
        if n % UNKNOWN_EVERY == UNKNOWN_EVERY - 1:
            continue  # a title only this list has: the fake finds nothing
        movies.append(
            FakeMovie(
                tmdb_id=100_000 + n,
                title=title,
                year=year,
                runtime=80 + n % 90,
                genres=("Drama", "Comedy") if n % 2 else ("Science Fiction",),
                imdb_id=f"tt{9_000_000 + n}",
                poster=posters[n % len(posters)],
            )
        )
    # Letterboxd writes the oldest first; the server shows the newest first.
    lines = ["Date,Name,Year,Letterboxd URI", *reversed(rows[:count])]
    catalogue = Catalogue(movies, ("\n".join(lines) + "\n").encode())
    if second:
        known = [n for n in range(count // 2, count) if n % UNKNOWN_EVERY != UNKNOWN_EVERY - 1]
        shared = rng.sample(known, second // 4)
        own = list(range(count, len(titles)))
        picked = shared + own
        rng.shuffle(picked)
        listed = [
            f"{date.fromordinal(newest - i).isoformat()},{rows[n].split(',', 1)[1]}"
            for i, n in enumerate(picked)
        ]
        lines = ["Date,Name,Year,Letterboxd URI", *reversed(listed)]
        catalogue.second_csv = ("\n".join(lines) + "\n").encode()
    return catalogue


# ------------------------------------------------------------------ the ping process


async def _ping(ws_url: str, token: str, out: list[tuple[float, float]]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with websockets.connect(ws_url, max_size=2**24, compression=None) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        while msgspec.json.decode(await ws.recv())["type"] != "welcome":
            pass
        print("ready", flush=True)
        n = 0
        while not stop.is_set():
            n += 1
            sent = time.monotonic()
            await ws.send(f'{{"type":"ping","t":{n}}}')
            while True:
                raw = await ws.recv()
                # Other frames (the enrichment's events) are skipped without decoding.
                if b'"pong"' in (raw if isinstance(raw, bytes) else raw.encode()):
                    break
            out.append((sent, time.monotonic() - sent))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), PING_INTERVAL_S)


def pinger_main(ws_url: str, token: str) -> None:
    """The second process: ping until SIGTERM, then print the samples as JSON."""
    samples: list[tuple[float, float]] = []
    asyncio.run(_ping(ws_url, token, samples))
    print(json.dumps(samples), flush=True)


# ------------------------------------------------------------------ the measuring side


@dataclass
class Memory:
    pid: int
    samples: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        process = psutil.Process(self.pid)
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self.samples.append(process.memory_info().rss)
            self._stop.wait(0.05)

    def high_water_mark(self) -> int | None:
        """``VmHWM`` (Linux): the peak resident set the kernel saw, between samples too."""
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return None


@dataclass
class Timeline:
    upload_sent: float = 0.0
    upload_done: float = 0.0
    first_cards: float | None = None
    whole_list: float | None = None
    second_sent: float = 0.0
    group_cards: float | None = None
    """When the top cards after the second list (films on both) all had posters."""
    imports: int = 1
    events: int = 0
    enriched: int = 0
    unlinked: int = 0
    failed: int = 0
    with_poster: set[str] = field(default_factory=set)


async def watch(ws: Any, first: asyncio.Future[list[str]], timeline: Timeline) -> None:
    """The host's socket: the first cards (and the group's after a second list), then
    ``films.enriched`` until every import sent ``remaining: 0``."""
    wanted: set[str] | None = None
    group: set[str] | None = None
    finished = 0
    async for raw in ws:
        frame = msgspec.json.decode(raw)
        kind = frame["type"]
        now = time.monotonic()
        if kind == "candidates":
            ids = [c["film"]["id"] for c in frame["candidates"][:FIRST_CARDS]]
            if not first.done() and len(ids) == FIRST_CARDS:
                first.set_result(ids)
                wanted = set(ids)
            elif timeline.second_sent and group is None:
                group = set(ids)
        elif kind == "films.enriched":
            timeline.events += 1
            for film in frame["films"]:
                if film.get("poster_url"):
                    timeline.with_poster.add(film["id"])
            if timeline.first_cards is None and wanted and wanted <= timeline.with_poster:
                timeline.first_cards = now
            if frame["remaining"] == 0:
                finished += 1
                if finished == timeline.imports:
                    timeline.whole_list = now
            if timeline.imports == 1:
                timeline.enriched, timeline.unlinked = frame["enriched"], frame["unlinked"]
                timeline.failed = frame["failed"] + frame["skipped"]
        if timeline.group_cards is None and group and group <= timeline.with_poster:
            timeline.group_cards = now
        if timeline.whole_list is not None:
            return
    raise RuntimeError("the host's socket closed before the last films.enriched event")


async def keep_alive(ws: Any) -> None:
    """A ``ping`` every 10 s, as the web client sends (the server closes an idle socket)."""
    while True:
        await asyncio.sleep(10)
        await ws.send(json.dumps({"type": "ping", "t": int(time.time() * 1000)}))


LAG_METRIC = "filmnight_event_loop_lag_seconds_bucket"


async def loop_lag(http: httpx.AsyncClient) -> dict[float, float]:
    """The server's own ``filmnight_event_loop_lag_seconds`` buckets (cumulative) by bound."""
    text = (await http.get("/metrics")).text
    buckets: dict[float, float] = {}
    for line in text.splitlines():
        if line.startswith(LAG_METRIC + "{"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets[float(bound)] = float(line.rsplit(" ", 1)[1])
    return buckets


def lag_summary(before: dict[float, float], after: dict[float, float]) -> tuple[str, str]:
    """The worst tick's bucket between two scrapes, and how many ticks were over 50/100 ms."""
    delta = {bound: after[bound] - before.get(bound, 0.0) for bound in sorted(after)}
    ticks = delta.get(float("inf"), 0.0)
    if not ticks:
        return "n/a", "the server has no loop-lag metric"
    bounds = sorted(delta)
    worst = next(b for b in bounds if delta[b] == ticks)
    lower = max((b for b in bounds if b < worst), default=0.0)
    over = {limit: ticks - delta[limit] for limit in (0.05, 0.1) if limit in delta}
    value = f"≤ {worst * 1000:.0f} ms" if worst != float("inf") else f"> {lower * 1000:.0f} ms"
    detail = (
        f"worst tick in ({lower * 1000:.0f}, {worst * 1000:.0f}] ms; {ticks:.0f} ticks, "
        + ", ".join(f"{count:.0f} over {limit * 1000:.0f} ms" for limit, count in over.items())
    )
    return value, detail


def worst(samples: list[tuple[float, float]], start: float, end: float) -> tuple[float, int]:
    """The longest round trip of the pings sent in [start, end), and how many there were."""
    times = [s[0] for s in samples]
    window = samples[bisect.bisect_left(times, start) : bisect.bisect_left(times, end)]
    return (max((s[1] for s in window), default=0.0), len(window))


async def run(args: argparse.Namespace, catalogue: Catalogue, fake: FakeTmdb) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    env = {
        "FILMNIGHT_FILM_DATA": "tmdb",
        "FILMNIGHT_TMDB_URL": fake.base_url,
        "FILMNIGHT_FILM_DATA_KEY": KEY,
        # The pinger sends 200 commands a second: far past a member's flood limit.
        "FILMNIGHT_WS_COMMANDS_PER_SECOND": "1000",
        "FILMNIGHT_WS_COMMAND_BURST": "2000",
        "FILMNIGHT_LOG_LEVEL": "warning",
    }
    if args.rate:
        env["FILMNIGHT_FILM_DATA_REQUESTS_PER_SECOND"] = str(args.rate)
    with (
        tempfile.TemporaryDirectory() as directory,
        server_process(Path(directory), env=env, ready_timeout=120) as server,
    ):
        async with httpx.AsyncClient(base_url=server.base_url, timeout=120) as http:
            host = (await http.post("/api/v1/sessions", json={"host_name": "host"})).json()
            sid = host["session_id"]
            auth = {"Authorization": f"Bearer {host['token']}"}
            pinger_member = (
                await http.post(
                    f"/api/v1/invites/{host['invite_code']}/join", json={"name": "pinger"}
                )
            ).json()
            second_member = (
                await http.post(f"/api/v1/invites/{host['invite_code']}/join", json={"name": "Ben"})
            ).json()
            ws_url = f"{server.ws_url}/ws/v1/sessions/{sid}"
            pinger = subprocess.Popen(
                [sys.executable, __file__, "--pinger", ws_url, pinger_member["token"]],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert pinger.stdout is not None
            assert pinger.stdout.readline().strip() == "ready"
            memory = Memory(server.process.pid)
            sampler = threading.Thread(target=memory.run, daemon=True)
            sampler.start()
            async with websockets.connect(ws_url, max_size=2**24, compression=None) as ws:
                await ws.send(json.dumps({"type": "hello", "token": host["token"]}))
                while msgspec.json.decode(await ws.recv())["type"] != "welcome":
                    pass
                await asyncio.sleep(1.0)  # an idle second: the pings' floor
                lag_before = await loop_lag(http)
                cpu_before = sum(psutil.Process(server.process.pid).cpu_times()[:2])
                rss_before = memory.samples[-1]
                timeline = Timeline()
                first: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
                watcher = asyncio.create_task(watch(ws, first, timeline))
                alive = asyncio.create_task(keep_alive(ws))
                timeline.upload_sent = time.monotonic()
                response = await http.post(
                    f"/api/v1/sessions/{sid}/imports/csv",
                    files={"file": ("watchlist.csv", catalogue.csv, "text/csv")},
                    headers=auth,
                )
                timeline.upload_done = time.monotonic()
                response.raise_for_status()
                if catalogue.second_csv:
                    timeline.imports = 2
                    await asyncio.sleep(SECOND_AFTER_S)
                    timeline.second_sent = time.monotonic()
                    second = await http.post(
                        f"/api/v1/sessions/{sid}/imports/csv",
                        files={"file": ("watchlist.csv", catalogue.second_csv, "text/csv")},
                        headers={"Authorization": f"Bearer {second_member['token']}"},
                    )
                    second.raise_for_status()
                try:
                    await asyncio.wait_for(watcher, timeout=args.timeout)
                finally:
                    alive.cancel()
                await asyncio.sleep(0.5)  # the pings just after the last event
                ended = time.monotonic()
                lag_after = await loop_lag(http)
                cpu = sum(psutil.Process(server.process.pid).cpu_times()[:2]) - cpu_before
                page = (
                    await http.get(
                        f"/api/v1/sessions/{sid}/candidates",
                        params={"limit": FIRST_CARDS},
                        headers=auth,
                    )
                ).json()
            pinger.send_signal(signal.SIGTERM)
            out, _ = pinger.communicate(timeout=30)
            memory._stop.set()
            sampler.join()
            rss_end = memory.samples[-1]
            high_water = memory.high_water_mark()
            if args.server_log:
                Path(args.server_log).write_text(server.log())
    samples = [(float(a), float(b)) for a, b in json.loads(out.strip().splitlines()[-1])]
    first_ids = first.result()
    shown = [c["film"] for c in page["candidates"]]
    return {
        "timeline": timeline,
        "samples": samples,
        "idle": worst(samples, timeline.upload_sent - 1.0, timeline.upload_sent),
        "upload": worst(samples, timeline.upload_sent, timeline.upload_done),
        "enrichment": worst(samples, timeline.upload_done, ended),
        "rss": (rss_before, max(memory.samples), rss_end, high_water),
        "first_ok": all(f["poster_url"] for f in shown)
        and (bool(catalogue.second_csv) or [f["id"] for f in shown] == first_ids),
        "load": (load_before, os.getloadavg()[0]),
        "lag": lag_summary(lag_before, lag_after),
        "cpu": cpu,
    }


def report(args: argparse.Namespace, result: dict[str, Any], fake: FakeTmdb) -> None:
    timeline: Timeline = result["timeline"]
    films = args.films + args.second - args.second // 4  # distinct films
    api = fake.api_calls()
    posters = [r for r in fake.requests if r.path.startswith("/t/p/")]
    mib = 1024 * 1024
    before, peak, end, high_water = result["rss"]
    rows = [
        (
            "films in the export(s)",
            f"{films:,}",
            f"{films - films // UNKNOWN_EVERY:,} known to TMDb",
        ),
        (
            "upload request (stored + announced)",
            f"{timeline.upload_done - timeline.upload_sent:.2f} s",
            "",
        ),
        (
            "first 20 cards with posters",
            f"{(timeline.first_cards or float('nan')) - timeline.upload_sent:.2f} s",
            "checked again on GET candidates: "
            + ("all 20 have posters" if result["first_ok"] else "NOT all"),
        ),
    ]
    if timeline.second_sent:
        rows.append(
            (
                "2nd list: its top 20 cards with posters",
                f"{(timeline.group_cards or float('nan')) - timeline.second_sent:.2f} s",
                f"{args.second:,} films ({args.second // 4} also on the 1st list, the top cards), "
                f"uploaded {SECOND_AFTER_S:.0f} s after it; from its upload",
            )
        )
    rows += [
        (
            "whole list enriched" if timeline.imports == 1 else "both lists enriched",
            f"{(timeline.whole_list or float('nan')) - timeline.upload_sent:.1f} s",
            f"{timeline.enriched:,} enriched, {timeline.unlinked} unlinked, "
            f"{timeline.failed} failed; {timeline.events} events"
            if timeline.imports == 1
            else f"{timeline.events} events, from the first upload",
        ),
        (
            "server RSS: before, peak, end",
            f"{peak / mib:.0f} MiB",
            f"{before / mib:.0f} → {peak / mib:.0f} → {end / mib:.0f} MiB"
            + (f" (kernel high-water {high_water / mib:.0f} MiB)" if high_water else ""),
        ),
    ]
    for label, key in (
        ("idle", "idle"),
        ("during the upload", "upload"),
        ("during enrichment", "enrichment"),
    ):
        stall, count = result[key]
        rows.append(
            (f"longest ping round trip, {label}", f"{stall * 1000:.0f} ms", f"{count:,} pings")
        )
    rows.append(("server's own loop lag, upload + enrichment", *result["lag"]))
    rows.append(
        (
            "server CPU time, upload + enrichment",
            f"{result['cpu']:.1f} s",
            f"{result['cpu'] / films * 1000:.1f} ms per film (user + system)",
        )
    )
    rows += [
        (
            "provider API requests",
            f"{len(api):,}",
            f"{len(api) / films:.2f} per film, {fake.limited} answered 429, "
            f"busiest second {fake.busiest_second()}",
        ),
        ("posters fetched", f"{len(posters):,}", ""),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)} | {'value':>10} | detail")
    print(f"{'-' * width}-|-{'-' * 10}-|-------")
    for name, value, detail in rows:
        print(f"{name.ljust(width)} | {value:>10} | {detail}")
    start, end = result["load"]
    print(
        f"pace {args.rate or 'the server default'} requests/s; machine load (1-minute average) "
        f"{start:.1f} before, {end:.1f} after, on {os.cpu_count()} cores: a busy machine "
        "lengthens round trips and the upload"
    )


def main() -> None:
    if sys.argv[1:2] == ["--pinger"]:
        pinger_main(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--films", type=int, default=1500)
    parser.add_argument("--quick", action="store_true", help="200 films (a smoke run)")
    parser.add_argument("--rate", type=float, default=0.0, help="film_data_requests_per_second")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--server-log", help="copy the server's log to this file")
    parser.add_argument(
        "--second",
        type=int,
        default=0,
        help="a second member uploads a list of this many films 5 s later (a quarter shared)",
    )
    args = parser.parse_args()
    if args.quick:
        args.films = 200
    catalogue = build(args.films, args.second)
    with fake_tmdb(catalogue.movies, key=KEY) as fake:
        fake.switches.per_second = LIMIT_PER_SECOND
        result = asyncio.run(run(args, catalogue, fake))
        report(args, result, fake)


if __name__ == "__main__":
    main()
