"""A hostile site cannot take the spider down: bombs and huge pages stop at the download cap.

Each scenario runs ``python -m scraper`` as the server does, against the fake site,
inside a small wrapper process whose only child is the spider, so the wrapper's
``RUSAGE_CHILDREN`` peak RSS is the spider's own (the kernel's figure, no polling
gaps).  Without the cap a 1.5 MB gzip body inflates to 1.5 GiB in the spider and a
50 MiB page is read whole and imported as done; with it every one of them ends the
import as ``page_too_large`` with the spider well under 150 MiB.

``pytest tests/scraper/test_download_cap.py -s`` prints each scenario's peak.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scraper.runner import MESSAGES
from tests.support.letterboxd_site import (
    Encoding,
    FakeSite,
    FakeUser,
    bomb,
    letterboxd_site,
    make_films,
)

ROOT = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024
PEAK_LIMIT = 150 * MiB
FAST = ["--delay", "0", "--concurrency", "1", "--backoff", "0.05", "--timeout", "60"]
PEAK_OF_CHILD = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], stdin=sys.stdin, stdout=sys.stdout, stderr=sys.stderr)\n"
    "sys.stderr.write(f'\\npeak {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}')\n"
)
"""Runs its arguments, then prints their peak RSS in bytes last on stderr (Linux counts
``ru_maxrss`` in KiB)."""

PAGE_BOMBS: dict[str, FakeUser] = {
    "gzip_bomb": FakeUser(films=make_films(5), bomb="gzip"),
    "deflate_bomb": FakeUser(films=make_films(5), bomb="deflate"),
    "brotli_bomb": FakeUser(films=make_films(5), bomb="br"),
    "page_50mib": FakeUser(films=make_films(5), padded_to=50 * MiB),
    "page_50mib_unannounced": FakeUser(
        films=make_films(5), padded_to=50 * MiB, announce_length=False
    ),
    "page_3mib": FakeUser(films=make_films(5), padded_to=3 * MiB),
}
ROBOTS_BOMB: Encoding = "gzip"


@dataclass
class Run:
    lines: list[dict[str, Any]]
    peak: int
    stderr: str

    @property
    def last(self) -> dict[str, Any]:
        return self.lines[-1]


def scrape_measured(base_url: str, username: str) -> Run:
    spider = [sys.executable, "-m", "scraper", "--base-url", base_url, *FAST]
    done = subprocess.run(
        [sys.executable, "-c", PEAK_OF_CHILD, *spider],
        input=username + "\n", capture_output=True, text=True, timeout=90, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines and lines[-1]["event"] in ("done", "failed")
    logs, _, peak = done.stderr.rpartition("\npeak ")
    return Run(lines, int(peak), logs)


@pytest.fixture(scope="module")
def robots_bombed() -> Iterator[FakeSite]:
    with letterboxd_site({"ana": FakeUser(films=make_films(5))}, robots_bomb=ROBOTS_BOMB) as site:
        yield site


@pytest.fixture(scope="module")
def runs(robots_bombed: FakeSite) -> Iterator[dict[str, Future[Run]]]:
    for encoding in ("gzip", "deflate", "br"):
        bomb(encoding)  # built once, before the site answers with it
    with letterboxd_site(PAGE_BOMBS) as site, ThreadPoolExecutor(max_workers=2) as pool:
        started = {name: pool.submit(scrape_measured, site.base_url, name) for name in PAGE_BOMBS}
        started["robots_bomb"] = pool.submit(scrape_measured, robots_bombed.base_url, "ana")
        yield started


def outcome(runs: dict[str, Future[Run]], name: str) -> Run:
    run = runs[name].result(timeout=180)
    print(f"\n{name}: spider peak RSS {run.peak / MiB:.1f} MiB -> {run.last}")
    return run


@pytest.mark.parametrize(
    "name",
    [
        "gzip_bomb",
        "deflate_bomb",
        "brotli_bomb",
        "page_50mib",
        "page_50mib_unannounced",
        "robots_bomb",
    ],
)
def test_bombs_and_huge_pages_end_the_import_as_page_too_large_in_bounded_memory(
    runs: dict[str, Future[Run]], name: str
) -> None:
    run = outcome(runs, name)
    assert run.last["event"] == "failed" and run.last["reason"] == "page_too_large"
    if name != "robots_bomb":
        assert run.last["message"] == MESSAGES["page_too_large"]
    assert not [line for line in run.lines if line["event"] == "film"]
    assert run.peak < PEAK_LIMIT
    # Scrapy's size warnings name the request; the logs still name neither member nor URL.
    assert "DOWNLOAD_MAXSIZE" in run.stderr or "max size" in run.stderr
    user = "ana" if name == "robots_bomb" else name
    assert "http://" not in run.stderr and f"/{user}/" not in run.stderr
    assert "127.0.0.1:" not in run.stderr


def test_a_bombed_robots_txt_ends_the_import_before_the_list_is_read(
    runs: dict[str, Future[Run]], robots_bombed: FakeSite
) -> None:
    run = outcome(runs, "robots_bomb")
    assert run.last["message"] == "Letterboxd's robots.txt is larger than this server reads."
    assert robots_bombed.requests[0] == "/robots.txt"
    assert "/ana/watchlist/page/2/" not in robots_bombed.requests


def test_a_large_page_under_the_cap_is_still_read(runs: dict[str, Future[Run]]) -> None:
    run = outcome(runs, "page_3mib")
    assert run.last == {"event": "done", "films": 5, "expected": 5, "pages_skipped": 0}
