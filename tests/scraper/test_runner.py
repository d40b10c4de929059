"""Imports end to end, as the server runs them (``python -m scraper``), against the fake site.

Each scenario is one child process reading one member of a shared fake site; they
start together (a few at a time) when the module starts and each test checks its
own, so the module stays fast.  Members are distinct per scenario, so the paths the
site saw for a member belong to that scenario alone.

Broken pages (the decision, see ``scraper/spiders/watchlist.py``): a truncated page
or one with no films is asked for once more, then kept for what it holds; the
import ends ``done`` with ``expected`` (page 1's count) and ``pages_skipped``, so
the reader knows how many films are missing.  A first page that is no watchlist at
all ends ``failed``/``blocked``.  Film lines streamed before a ``failed`` line are
not a partial import: the reader drops them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.letterboxd_site import FakeSite, FakeUser, letterboxd_site, make_films

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--delay", "0", "--concurrency", "4", "--backoff", "0.05", "--timeout", "30"]
EVENTS = {"progress", "film", "done", "failed"}
FILM_KEYS = {"event", "title", "year", "slug", "lid", "film_id", "poster_url"}

USERS = {
    "ana": FakeUser(films=make_films(60)),
    "ana_twin": FakeUser(films=make_films(60)),
    "new_name": FakeUser(films=make_films(30)),
    "renamed": FakeUser(redirect_to="/new_name/watchlist/"),
    "old_2023": FakeUser(films=make_films(40), markup="2023"),
    "old_2022": FakeUser(films=make_films(40), markup="2022"),
    "mid_2025": FakeUser(films=make_films(40), markup="2025"),
    "uncounted": FakeUser(films=make_films(60), show_count=False),
    "hidden": FakeUser(films=make_films(5), private=True),
    "walled": FakeUser(films=make_films(5), blocked=True),
    "nobody_watches": FakeUser(),
    "busy": FakeUser(films=make_films(60), rate_limit_every=2, retry_after="1"),
    "busy_quiet": FakeUser(films=make_films(60), rate_limit_every=2),
    "always_busy": FakeUser(films=make_films(30), rate_limit_every=1),
    "slow": FakeUser(films=make_films(60), hang_page=2),
    "stuck": FakeUser(films=make_films(60), hang_page=1),
    "huge": FakeUser(films=make_films(300 * 28)),
    "broken": FakeUser(films=make_films(84), truncate_page=2, empty_page=3),
    "moved": FakeUser(redirect_to="https://evil.example/ana/watchlist/"),
    "secretive_member": FakeUser(films=make_films(60), rate_limit_every=3),
}

SCENARIOS: dict[str, tuple[str, list[str]]] = {
    # name: (what the member typed; "{base}" is the site's address), extra flags
    "ana": ("{base}/ana/watchlist/", ["--concurrency", "1"]),
    "ana_twin": ("ana_twin", ["--max-films", "50"]),
    "renamed": ("renamed", []),
    "old_2023": ("old_2023", []),
    "old_2022": ("old_2022", []),
    "mid_2025": ("mid_2025", []),
    "uncounted": ("uncounted", []),
    "nobody_here": ("nobody_here", []),
    "hidden": ("hidden", []),
    "walled": ("walled", []),
    "nobody_watches": ("nobody_watches", []),
    # A back-off of 30 s would outlast the 20 s timeout: only honouring Retry-After: 1 finishes.
    "busy": ("busy", ["--backoff", "30", "--timeout", "20"]),
    "busy_quiet": ("busy_quiet", []),
    "always_busy": ("always_busy", ["--retries", "2"]),
    "slow": ("slow", ["--page-timeout", "0.5", "--retries", "1"]),
    "stuck": ("stuck", ["--page-timeout", "60", "--timeout", "2"]),
    "huge": ("huge", ["--max-pages", "100"]),
    "broken": ("broken", []),
    "moved": ("moved", []),
    "path_trick": ("../etc/passwd", []),
    "other_host": ("https://letterboxd.com.evil.com/ana/", []),
    "secretive_member": ("{base}/Secretive_Member/watchlist/", ["--log-level", "DEBUG"]),
}


@dataclass
class Run:
    lines: list[dict[str, Any]]
    stdout: str
    stderr: str
    seconds: float

    @property
    def last(self) -> dict[str, Any]:
        return self.lines[-1]

    @property
    def films(self) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["event"] == "film"]

    @property
    def progress(self) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["event"] == "progress"]


def scrape(base_url: str, source: str, extra: list[str]) -> Run:
    """One import in a child process; checks the stdout contract every time."""
    args = [sys.executable, "-m", "scraper", "--base-url", base_url, *FAST, *extra]
    start = time.monotonic()
    done = subprocess.run(
        args, input=source + "\n", capture_output=True, text=True, timeout=90, cwd=ROOT
    )
    seconds = time.monotonic() - start
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines and all(line["event"] in EVENTS for line in lines)
    assert [line["event"] in ("done", "failed") for line in lines].count(True) == 1
    assert lines[-1]["event"] in ("done", "failed")
    for line in lines:
        if line["event"] == "film":
            assert set(line) == FILM_KEYS
        elif line["event"] == "failed":
            assert set(line) == {"event", "reason", "message"} and line["message"]
    return Run(lines, done.stdout, done.stderr, seconds)


@pytest.fixture(scope="module")
def site() -> Iterator[FakeSite]:
    with letterboxd_site(USERS) as running:
        yield running


@pytest.fixture(scope="module")
def runs(site: FakeSite) -> Iterator[dict[str, Future[Run]]]:
    with ThreadPoolExecutor(max_workers=6) as pool:
        started = {
            name: pool.submit(scrape, site.base_url, source.format(base=site.base_url), extra)
            for name, (source, extra) in SCENARIOS.items()
        }
        yield started


def outcome(runs: dict[str, Future[Run]], name: str) -> Run:
    return runs[name].result(timeout=120)


def test_a_multi_page_list_gives_every_film_once_with_progress_after_each_page(
    runs: dict[str, Future[Run]], site: FakeSite
) -> None:
    run = outcome(runs, "ana")
    assert run.last == {"event": "done", "films": 60, "expected": 60, "pages_skipped": 0}
    expected = make_films(60)
    assert [f["lid"] for f in run.films] == [f.lid for f in expected]
    assert [(f["title"], f["year"]) for f in run.films] == [(f.title, f.year) for f in expected]
    assert run.films[0]["poster_url"].startswith("https://a.ltrbxd.com/resized/film-poster/")
    assert run.progress == [
        {"event": "progress", "pages": 1, "pages_total": 3, "films": 28},
        {"event": "progress", "pages": 2, "pages_total": 3, "films": 56},
        {"event": "progress", "pages": 3, "pages_total": 3, "films": 60},
    ]
    # Each progress line comes after its page's films.
    events = [line["event"] for line in run.lines]
    assert events.index("progress") == 28 and events[-2] == "progress"
    # One request per page, in order, trailing slashes; robots.txt read first.
    assert site.watchlist_requests("ana") == [
        "/ana/watchlist/",
        "/ana/watchlist/page/2/",
        "/ana/watchlist/page/3/",
    ]
    assert site.requests.index("/robots.txt") < site.requests.index("/ana/watchlist/")
    assert all(agent.startswith("filmnight/") for agent in site.user_agents)


@pytest.mark.parametrize("name", ["old_2023", "old_2022", "mid_2025"])
def test_older_markup_is_read_too(runs: dict[str, Future[Run]], name: str) -> None:
    run = outcome(runs, name)
    assert run.last["event"] == "done" and run.last["films"] == 40
    assert [f["slug"] for f in run.films] == [f.slug for f in make_films(40)]
    if name == "mid_2025":
        assert [f["lid"] for f in run.films] == [f.lid for f in make_films(40)]
    else:
        assert all(f["lid"] is None for f in run.films)


def test_without_a_count_the_pagination_is_followed_to_its_end(
    runs: dict[str, Future[Run]], site: FakeSite
) -> None:
    run = outcome(runs, "uncounted")
    assert run.last["event"] == "done" and run.last["films"] == 60
    assert run.last["expected"] is None
    assert sorted(site.watchlist_requests("uncounted")) == [
        "/uncounted/watchlist/",
        "/uncounted/watchlist/page/2/",
        "/uncounted/watchlist/page/3/",
    ]


def test_a_redirect_on_the_site_is_followed_and_the_new_address_kept(
    runs: dict[str, Future[Run]], site: FakeSite
) -> None:
    run = outcome(runs, "renamed")
    assert run.last["event"] == "done" and run.last["films"] == 30
    assert site.watchlist_requests("renamed") == ["/renamed/watchlist/"]
    assert "/new_name/watchlist/page/2/" in site.watchlist_requests("new_name")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("nobody_here", "not_found"),
        ("hidden", "private"),
        ("walled", "blocked"),
        ("nobody_watches", "empty"),
        ("moved", "invalid_source"),
        ("path_trick", "invalid_source"),
        ("other_host", "invalid_source"),
        ("always_busy", "rate_limited"),
        ("slow", "timeout"),
        ("stuck", "timeout"),
        ("huge", "too_large"),
        ("ana_twin", "too_large"),
    ],
)
def test_failures_are_typed_and_say_why_without_the_name(
    runs: dict[str, Future[Run]], name: str, reason: str
) -> None:
    run = outcome(runs, name)
    assert (run.last["event"], run.last["reason"]) == ("failed", reason)
    assert name not in run.last["message"].lower() and "http" not in run.last["message"]


def test_a_block_is_never_retried(runs: dict[str, Future[Run]], site: FakeSite) -> None:
    outcome(runs, "walled")
    assert site.watchlist_requests("walled") == ["/walled/watchlist/"]


def test_an_off_site_redirect_is_not_followed(runs: dict[str, Future[Run]], site: FakeSite) -> None:
    outcome(runs, "moved")
    assert site.watchlist_requests("moved") == ["/moved/watchlist/"]


def test_a_bad_source_never_reaches_the_site(runs: dict[str, Future[Run]], site: FakeSite) -> None:
    outcome(runs, "path_trick")
    outcome(runs, "other_host")
    assert not any("etc" in path or "evil" in path for path in site.requests)


def test_429_on_every_other_request_still_imports_everything_honouring_retry_after(
    runs: dict[str, Future[Run]], site: FakeSite
) -> None:
    run = outcome(runs, "busy")
    assert run.last["event"] == "done" and run.last["films"] == 60
    assert len(site.watchlist_requests("busy")) > 3  # some answers were 429s
    assert run.seconds >= 1.0  # it did wait what Retry-After said


def test_429_without_retry_after_backs_off_on_its_own(
    runs: dict[str, Future[Run]], site: FakeSite
) -> None:
    run = outcome(runs, "busy_quiet")
    assert run.last["event"] == "done" and run.last["films"] == 60
    assert len(site.watchlist_requests("busy_quiet")) > 3


def test_a_list_that_stays_rate_limited_gives_up_after_bounded_retries(
    runs: dict[str, Future[Run]], site: FakeSite
) -> None:
    outcome(runs, "always_busy")
    assert site.watchlist_requests("always_busy") == ["/always_busy/watchlist/"] * 3


def test_a_page_that_never_answers_is_retried_then_times_out(
    runs: dict[str, Future[Run]], site: FakeSite
) -> None:
    run = outcome(runs, "slow")
    assert site.watchlist_requests("slow").count("/slow/watchlist/page/2/") == 2
    # Page 1's films were streamed before the failure; the reader drops them on "failed".
    assert run.progress and run.progress[0]["pages"] == 1 and len(run.films) >= 28


def test_the_whole_import_is_bounded_even_while_a_page_hangs(
    runs: dict[str, Future[Run]],
) -> None:
    run = outcome(runs, "stuck")
    # --timeout 2 with a 60 s page timeout: the process still ends within seconds.
    assert run.seconds < 30


def test_a_list_over_the_page_limit_is_refused_before_it_is_read(
    runs: dict[str, Future[Run]], site: FakeSite
) -> None:
    outcome(runs, "huge")
    assert site.watchlist_requests("huge") == ["/huge/watchlist/"]
    outcome(runs, "ana_twin")
    assert site.watchlist_requests("ana_twin") == ["/ana_twin/watchlist/"]


def test_truncated_and_filmless_pages_give_a_partial_import_that_says_so(
    runs: dict[str, Future[Run]], site: FakeSite
) -> None:
    run = outcome(runs, "broken")
    # Page 2 is cut in the middle (its first films are kept), page 3 has no films:
    # each is asked for twice, then the import is done with what could be read.
    assert run.last["event"] == "done" and run.last["expected"] == 84
    assert run.last["pages_skipped"] == 2
    assert 28 + 1 <= run.last["films"] < 56
    requested = site.watchlist_requests("broken")
    assert requested.count("/broken/watchlist/page/2/") == 2
    assert requested.count("/broken/watchlist/page/3/") == 2


def test_logs_never_name_the_member_nor_a_url(runs: dict[str, Future[Run]], site: FakeSite) -> None:
    run = outcome(runs, "secretive_member")
    assert run.last["event"] == "done" and run.last["films"] == 60
    assert "Crawled (200)" in run.stderr and "Retrying a page" in run.stderr  # DEBUG was on
    port = site.base_url.rsplit(":", 1)[1]
    for text in (run.stderr, *(json.dumps(line) for line in run.lines if line["event"] != "film")):
        assert "secretive" not in text.lower()
        assert "http://" not in text and "https://" not in text and f":{port}" not in text
    # Nothing but JSON lines on stdout.
    assert run.stdout.count("\n") == len(run.lines)


def test_robots_txt_is_obeyed() -> None:
    users = {"ana": FakeUser(films=make_films(3))}
    with letterboxd_site(users, robots="User-agent: *\nDisallow: /*/watchlist/\n") as site:
        run = scrape(site.base_url, "ana", [])
        assert site.requests == ["/robots.txt"]
    assert (run.last["event"], run.last["reason"]) == ("failed", "blocked")


def test_scrapy_crawl_works_from_the_repository_root(site: FakeSite, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "FILMNIGHT_LETTERBOXD_URL": site.base_url}
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "watchlist", "-a", "username=new_name",
         "-O", str(out), "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
         "-s", "LOG_LEVEL=DEBUG"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    items = [json.loads(line) for line in out.read_text().splitlines()]
    assert [item["lid"] for item in items] == [f.lid for f in make_films(30)]
    assert set(items[0]) == FILM_KEYS - {"event"}
    # The spider hides the member in every log line, however the crawl was started.
    assert "Crawled (200)" in done.stderr
    assert "new_name" not in done.stderr and site.base_url not in done.stderr
