"""Run one import in this process and report it as JSON lines on stdout.

The server starts ``python -m scraper --base-url … --max-pages … …`` and writes the
username (or link) to its stdin, so it never appears in a process list.  Each line
on stdout is one of::

    {"event": "progress", "pages": int, "pages_total": int | null, "films": int}
    {"event": "film", "title": …, "year": …, "slug": …, "lid": …, "film_id": …, "poster_url": …}
    {"event": "done", "films": int, "expected": int | null, "pages_skipped": int}
    {"event": "failed", "reason": str, "message": str}

Exactly one ``done`` or ``failed`` ends the stream.  Scrapy's own logs go to
stderr at WARNING, with URLs and the username removed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import IO, Any

from scrapy import signals
from scrapy.crawler import AsyncCrawlerProcess
from scrapy.settings import Settings

from scraper import settings as project_settings
from scraper.items import FilmItem
from scraper.logfilter import install_redaction
from scraper.spiders.watchlist import WatchlistSpider

__all__ = ["ImportRun", "main"]

MESSAGES = {
    "not_found": "There is no Letterboxd member with that name.",
    "private": "That watchlist is private.",
    "empty": "That watchlist is empty.",
    "rate_limited": "Letterboxd kept asking us to slow down.",
    "blocked": "Letterboxd did not let us read the watchlist.",
    "timeout": "Letterboxd took too long to answer.",
    "too_large": "That watchlist is larger than this server imports.",
    "invalid_source": "That is not a Letterboxd watchlist.",
}


class ImportRun:
    """Collects the spider's signals into JSON lines (bound methods: Scrapy keeps weak refs)."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.films = 0
        self.spider: WatchlistSpider | None = None
        self.closed_reason: str | None = None

    def emit(self, payload: dict[str, Any]) -> None:
        self.out.write(json.dumps(payload, ensure_ascii=False) + "\n")
        self.out.flush()

    def progress(self, pages: int, pages_total: int | None, films: int) -> None:
        self.emit({"event": "progress", "pages": pages, "pages_total": pages_total, "films": films})

    def spider_opened(self, spider: WatchlistSpider) -> None:
        self.spider = spider
        spider.on_progress = self.progress

    def spider_closed(self, spider: Any, reason: str) -> None:
        self.closed_reason = reason

    def item_scraped(self, item: Any) -> None:
        if isinstance(item, FilmItem):
            self.films += 1
            self.emit({"event": "film", **dataclasses.asdict(item)})

    def finish(self, timed_out: bool) -> None:
        spider = self.spider
        reason = "timeout" if timed_out else (spider.failure if spider else "invalid_source")
        if reason is None and self.films == 0:
            reason = "empty"
        if reason is not None:
            self.emit({"event": "failed", "reason": reason, "message": MESSAGES[reason]})
            return
        assert spider is not None
        self.emit(
            {
                "event": "done",
                "films": self.films,
                "expected": spider.films_expected,
                "pages_skipped": spider.pages_skipped,
            }
        )


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings()
    settings.setmodule(project_settings, priority="project")
    settings.set("DOWNLOAD_DELAY", args.delay, priority="cmdline")
    settings.set("AUTOTHROTTLE_START_DELAY", max(args.delay, 0.01), priority="cmdline")
    settings.set("AUTOTHROTTLE_ENABLED", args.delay > 0, priority="cmdline")
    settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", args.concurrency, priority="cmdline")
    settings.set("CONCURRENT_REQUESTS", max(args.concurrency, 1), priority="cmdline")
    settings.set("CLOSESPIDER_TIMEOUT", args.timeout, priority="cmdline")
    settings.set("DOWNLOAD_TIMEOUT", min(args.page_timeout, args.timeout), priority="cmdline")
    settings.set("BACKOFF_BASE_DELAY", args.backoff, priority="cmdline")
    settings.set("BACKOFF_MAX_DELAY", max(args.backoff * 30, 1.0), priority="cmdline")
    settings.set("FILMNIGHT_MAX_PAGES", args.max_pages, priority="cmdline")
    settings.set("FILMNIGHT_MAX_FILMS", args.max_films, priority="cmdline")
    settings.set("LOG_LEVEL", "WARNING", priority="cmdline")
    return settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scraper", description=__doc__)
    parser.add_argument("--base-url", default="https://letterboxd.com")
    parser.add_argument("--max-pages", type=int, default=100)
    parser.add_argument("--max-films", type=int, default=5000)
    parser.add_argument("--delay", type=float, default=1.0, help="seconds between requests")
    parser.add_argument("--concurrency", type=int, default=1, help="requests at once")
    parser.add_argument("--timeout", type=float, default=120.0, help="the whole import")
    parser.add_argument("--page-timeout", type=float, default=20.0, help="one page")
    parser.add_argument("--backoff", type=float, default=2.0, help="first retry wait")
    return parser


def main(argv: list[str] | None = None, stdin: IO[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    source = (stdin or sys.stdin).readline().strip()
    run = ImportRun(sys.stdout)
    process = AsyncCrawlerProcess(_settings(args))
    install_redaction([source])
    crawler = process.create_crawler(WatchlistSpider)
    crawler.signals.connect(run.spider_opened, signal=signals.spider_opened)
    crawler.signals.connect(run.item_scraped, signal=signals.item_scraped)
    crawler.signals.connect(run.spider_closed, signal=signals.spider_closed)
    process.crawl(crawler, username=source, base_url=args.base_url)
    process.start()
    run.finish(timed_out=run.closed_reason == "closespider_timeout")
    return 0
