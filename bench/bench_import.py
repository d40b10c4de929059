"""Watchlist import: a 1,500-film watchlist from the local fake site, parsing alone, crypto.

    uv run python bench/bench_import.py [--repeat 3]

1. ``python -m scraper`` (what the server runs) importing 1,500 films (54 pages)
   from the local fake Letterboxd site, at concurrency 1 (the polite default, no
   delay) and 8: wall time including the process start, pages/s and films/s.
2. The spider's page parser alone over those 54 pages: pages/s.
3. Seal + open of 10 lists of 5,000 films (AES-256-GCM envelope, msgpack body).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scraper.parsing import parse_watchlist_page
from server.watchlists.crypto import MasterKeys, decode_list, encode_list, open_sealed, seal
from tests.support.letterboxd_site import FakeUser, letterboxd_site, make_films, render_page

REPO = Path(__file__).resolve().parents[1]
FILMS = 1500


def scrape(base_url: str, concurrency: int) -> tuple[float, int, int]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "scraper", "--base-url", base_url, "--delay", "0",
         "--concurrency", str(concurrency), "--timeout", "60"],
        input="bench\n", capture_output=True, text=True, cwd=REPO, check=True,
    )  # fmt: skip
    wall = time.perf_counter() - start
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    last = lines[-1]
    assert last["event"] == "done", last
    pages = max(line["pages"] for line in lines if line["event"] == "progress")
    return wall, pages, last["films"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    user = FakeUser(films=make_films(FILMS))
    rows: list[tuple[str, str, str]] = []
    with letterboxd_site({"bench": user}) as site:
        for concurrency in (1, 8):
            runs = [scrape(site.base_url, concurrency) for _ in range(args.repeat)]
            wall = statistics.median(r[0] for r in runs)
            pages, films = runs[0][1], runs[0][2]
            rows.append(
                (
                    f"import 1,500 films ({pages} pages), concurrency {concurrency}",
                    f"{wall:.2f} s",
                    f"{pages / wall:.1f} pages/s, {films / wall:.0f} films/s",
                )
            )
    pages_html = [render_page(user, "bench", n) or "" for n in range(1, 55)]
    loops = 5
    start = time.perf_counter()
    for _ in range(loops):
        for html in pages_html:
            parse_watchlist_page(html)
    parse_s = (time.perf_counter() - start) / loops
    rows.append(
        ("parse 54 pages (no network)", f"{parse_s * 1000:.0f} ms", f"{54 / parse_s:.0f} pages/s")
    )

    keys = MasterKeys.generate()
    lists = [[i * 7919 % 200_000 + n for n in range(5000)] for i in range(10)]
    ids = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in lists]
    timings = []
    for _ in range(args.repeat * 3):
        start = time.perf_counter()
        sealed = [
            seal(keys, encode_list(films), session_id=s, member_id=m)
            for films, (s, m) in zip(lists, ids, strict=True)
        ]
        for envelope, (s, m) in zip(sealed, ids, strict=True):
            decode_list(open_sealed(keys, envelope, session_id=s, member_id=m))
        timings.append(time.perf_counter() - start)
    total = statistics.median(timings)
    rows.append(
        (
            "seal + open 10 lists of 5,000 films",
            f"{total * 1000:.1f} ms",
            f"{total * 100:.2f} ms per list",
        )
    )

    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)} | {'time':>9} | rate")
    print(f"{'-' * width}-|-{'-' * 9}-|-----")
    for name, value, rate in rows:
        print(f"{name.ljust(width)} | {value:>9} | {rate}")


if __name__ == "__main__":
    main()
