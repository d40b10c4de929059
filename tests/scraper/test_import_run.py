"""The runner's JSON lines: progress after its page's films, one terminal line, no name."""

from __future__ import annotations

import io
import json
from typing import Any

from scraper.items import FilmItem
from scraper.runner import MESSAGES, ImportRun, main
from scraper.spiders.watchlist import FAILURE_REASONS, WatchlistSpider


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def crawl_at(pages: int, total: int | None, films: int) -> WatchlistSpider:
    spider = WatchlistSpider(username="ana", base_url="https://letterboxd.com")
    spider.pages_done, spider.pages_total = pages, total
    spider._seen = {f"film-{n}" for n in range(films)}
    return spider


def test_a_progress_line_waits_for_its_pages_films() -> None:
    out = io.StringIO()
    run = ImportRun(out)
    run.page_parsed(crawl_at(1, 2, 2))  # the page is parsed; its films are still in flight
    assert out.getvalue() == ""
    run.item_scraped(FilmItem(title="Alien", year=1979, slug="alien", lid="2b4Y"))
    run.item_scraped(FilmItem(title="Heat", year=1995, slug="heat"))
    run.item_scraped("not a film")
    assert [line["event"] for line in lines(out)] == ["film", "film", "progress"]
    assert lines(out)[0] == {
        "event": "film",
        "title": "Alien",
        "year": 1979,
        "slug": "alien",
        "lid": "2b4Y",
        "film_id": None,
        "poster_url": None,
    }
    assert lines(out)[-1] == {"event": "progress", "pages": 1, "pages_total": 2, "films": 2}


def test_exactly_one_terminal_line_and_pending_progress_before_it() -> None:
    out = io.StringIO()
    run = ImportRun(out)
    run.page_parsed(crawl_at(1, None, 5))
    run.end("timeout")
    run.end(None, expected=3, pages_skipped=0)
    run.item_scraped(FilmItem(title="Late"))
    assert lines(out) == [
        {"event": "progress", "pages": 1, "pages_total": None, "films": 0},
        {"event": "failed", "reason": "timeout", "message": MESSAGES["timeout"]},
    ]


def test_a_finished_crawl_without_films_is_empty_and_every_reason_has_a_message() -> None:
    out = io.StringIO()
    ImportRun(out).conclude(crawl_at(1, 1, 0))
    assert lines(out) == [{"event": "failed", "reason": "empty", "message": MESSAGES["empty"]}]
    assert set(MESSAGES) == FAILURE_REASONS


def test_a_bad_source_fails_before_scrapy_starts(capsys: Any) -> None:
    assert main(["--base-url", "https://letterboxd.com"], io.StringIO("ana@evil.com\n")) == 0
    printed = capsys.readouterr()
    assert json.loads(printed.out) == {
        "event": "failed",
        "reason": "invalid_source",
        "message": MESSAGES["invalid_source"],
    }
    assert "evil" not in printed.out + printed.err
