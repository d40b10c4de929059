"""The spider end to end, as the server runs it (``python -m scraper``), against the fake site."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.letterboxd_site import FakeSite, FakeUser, letterboxd_site, make_films

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    lines: list[dict[str, Any]]
    stderr: str

    @property
    def last(self) -> dict[str, Any]:
        return self.lines[-1]

    @property
    def films(self) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["event"] == "film"]

    @property
    def progress(self) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["event"] == "progress"]


def scrape(site: FakeSite, source: str, *extra: str, timeout: float = 20) -> Run:
    args = [
        sys.executable, "-m", "scraper", "--base-url", site.base_url,
        "--delay", "0", "--concurrency", "4", "--backoff", "0.05", "--timeout", str(timeout),
        *extra,
    ]  # fmt: skip
    done = subprocess.run(
        args, input=source + "\n", capture_output=True, text=True, timeout=60, cwd=ROOT, check=True
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert sum(line["event"] in ("done", "failed") for line in lines) == 1
    return Run(lines, done.stderr)


@pytest.fixture(scope="module")
def site() -> Iterator[FakeSite]:
    users = {
        "ana": FakeUser(films=make_films(60)),
        "old": FakeUser(films=make_films(40), markup="2023"),
        "hidden": FakeUser(private=True),
        "walled": FakeUser(blocked=True),
        "nobody_watches": FakeUser(),
        "busy": FakeUser(films=make_films(60), rate_limit_every=2, retry_after="0"),
        "always_busy": FakeUser(films=make_films(30), rate_limit_every=1, retry_after=None),
        "slow": FakeUser(films=make_films(60), hang_page=2),
        "huge": FakeUser(films=make_films(300 * 28)),
        "broken": FakeUser(films=make_films(84), truncate_page=2, empty_page=3),
        "moved": FakeUser(redirect_to="https://evil.example/ana/watchlist/"),
    }
    with letterboxd_site(users) as running:
        yield running


def test_every_page_is_read_once_and_each_film_yielded_once(site: FakeSite) -> None:
    run = scrape(
        site,
        "https://letterboxd.com/ana/watchlist/".replace("https://letterboxd.com", site.base_url),
    )
    assert run.last == {"event": "done", "films": 60, "expected": 60, "pages_skipped": 0}
    expected = make_films(60)
    assert sorted(f["lid"] for f in run.films) == sorted(f.lid for f in expected)
    assert {f["title"] for f in run.films} >= {"(500) Days of Summer", "1917", "1984"}
    assert [p["pages_total"] for p in run.progress] == [3, 3, 3]
    assert run.progress[-1] == {"event": "progress", "pages": 3, "pages_total": 3, "films": 60}
    pages = [p for p in site.requests if p.startswith("/ana/")]
    assert sorted(pages) == ["/ana/watchlist/", "/ana/watchlist/page/2/", "/ana/watchlist/page/3/"]
    assert "/robots.txt" in site.requests


def test_the_older_markup_is_read_too(site: FakeSite) -> None:
    run = scrape(site, "old")
    assert run.last["event"] == "done" and run.last["films"] == 40
    assert all(f["slug"] and f["lid"] is None for f in run.films)


@pytest.mark.parametrize(
    ("user", "reason"),
    [
        ("nobody_here", "not_found"),
        ("hidden", "private"),
        ("walled", "blocked"),
        ("nobody_watches", "empty"),
        ("moved", "invalid_source"),
        ("../etc", "invalid_source"),
    ],
)
def test_failures_are_typed(site: FakeSite, user: str, reason: str) -> None:
    run = scrape(site, user)
    assert (run.last["event"], run.last["reason"]) == ("failed", reason)
    assert run.last["message"] and user not in run.last["message"]


def test_a_block_is_never_retried(site: FakeSite) -> None:
    before = site.requests.count("/walled/watchlist/")
    scrape(site, "walled")
    assert site.requests.count("/walled/watchlist/") == before + 1


def test_429_on_every_other_request_still_imports_everything(site: FakeSite) -> None:
    run = scrape(site, "busy")
    assert run.last["event"] == "done" and run.last["films"] == 60


def test_429_on_every_request_ends_rate_limited_after_backing_off(site: FakeSite) -> None:
    before = site.requests.count("/always_busy/watchlist/")
    run = scrape(site, "always_busy")
    assert run.last["reason"] == "rate_limited"
    assert site.requests.count("/always_busy/watchlist/") - before == 5  # 1 + 4 retries


def test_a_page_that_never_answers_ends_in_timeout(site: FakeSite) -> None:
    run = scrape(site, "slow", "--page-timeout", "1", "--timeout", "4", timeout=4)
    assert run.last["reason"] == "timeout"


def test_a_list_over_the_page_limit_is_refused_before_it_is_read(site: FakeSite) -> None:
    run = scrape(site, "huge", "--max-pages", "100")
    assert run.last["reason"] == "too_large"
    assert not any(p.startswith("/huge/watchlist/page/") for p in site.requests)
    films = scrape(site, "ana", "--max-films", "50")
    assert films.last["reason"] == "too_large"


def test_truncated_and_filmless_pages_give_a_partial_import_that_says_so(site: FakeSite) -> None:
    run = scrape(site, "broken")
    assert run.last["event"] == "done"
    assert 28 < run.last["films"] < 84 and run.last["expected"] == 84
    assert run.last["pages_skipped"] == 1  # page 3 had no films; page 2 gave what it held


def test_logs_never_name_the_member_or_a_url(site: FakeSite) -> None:
    run = scrape(site, "busy")
    assert "busy" not in run.stderr.lower()
    assert "http://" not in run.stderr and "https://" not in run.stderr
    for line in run.lines:
        if line["event"] != "film":
            assert "busy" not in json.dumps(line)


def test_scrapy_crawl_works_from_the_repository_root(site: FakeSite, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "FILMNIGHT_LETTERBOXD_URL": site.base_url}
    subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "watchlist", "-a", "username=ana", "-O", str(out),
         "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    items = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(items) == 60 and {"title", "year", "slug", "lid", "film_id", "poster_url"} <= set(
        items[0]
    )
