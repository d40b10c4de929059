"""Run one import in this process and report it as JSON lines on stdout.

The server starts ``python -m scraper --base-url … --max-pages … …`` and writes the
username (or link) to its stdin, so it never appears in a process list.  Each line
on stdout is one of::

    {"event": "progress", "pages": int, "pages_total": int | null, "films": int}
    {"event": "film", "title": …, "year": …, "slug": …, "lid": …, "film_id": …, "poster_url": …}
    {"event": "done", "films": int, "expected": int | null, "pages_skipped": int}
    {"event": "failed", "reason": str, "message": str}

A progress line follows each page, after that page's film lines (its ``films`` is
the number of film lines so far).  Exactly one ``done`` or ``failed`` ends the
stream; ``done`` also says how many films page 1 announced and how many pages could
not be read (a partial import).  ``--timeout`` bounds the whole import: past it the
crawl closes as ``failed``/``timeout``.  A failure is reported as soon as it is
known, and if closing then takes more than a moment (a page still downloading) the
process exits anyway.  Film lines may precede a ``failed`` line: they are not a
partial import, and the reader drops them.

Scrapy's logs go to stderr (``--log-level``, WARNING by default), with URLs and the
username removed.  The exit code is 0 whenever a done or failed line was written.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import threading
import traceback
from collections import deque
from typing import IO, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.crawler import AsyncCrawlerProcess
from scrapy.settings import Settings

from scraper import settings as project_settings
from scraper.items import FilmItem
from scraper.logfilter import install_redaction
from scraper.parsing import DEFAULT_BASE_URL
from scraper.source import InvalidSource, parse_source
from scraper.spiders.watchlist import IMPORT_FAILED, PAGE_PARSED, WatchlistSpider

__all__ = ["MESSAGES", "ImportRun", "main"]

MESSAGES = {
    "not_found": "There is no Letterboxd member with that name.",
    "private": "That watchlist is private.",
    "empty": "That watchlist is empty.",
    "rate_limited": "Letterboxd kept asking us to slow down; try again later.",
    "blocked": "Letterboxd did not let us read the watchlist; upload your data export instead.",
    "timeout": "Letterboxd took too long to answer.",
    "unreachable": "This server cannot reach Letterboxd; upload your data export instead.",
    "too_large": "That watchlist is larger than this server imports.",
    "page_too_large": "Letterboxd sent a page larger than this server reads.",
    "invalid_source": "That is not a Letterboxd username or watchlist link.",
}
GRACE_S = 3.0
"""How long closing may take after a failure (or past ``--timeout``) before the process exits."""
MAX_SOURCE = 1024


class ImportRun:
    """Turns the crawl's signals into JSON lines.

    Its handlers are bound methods of this long-lived object: Scrapy keeps only weak
    references to signal handlers, so a lambda would be collected and never called.
    """

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.films = 0
        self.ended = False
        self._lock = threading.Lock()
        self._pending: deque[tuple[int, int | None, int]] = deque()

    def _write(self, payload: dict[str, Any]) -> None:
        self.out.write(json.dumps(payload, ensure_ascii=False) + "\n")
        self.out.flush()

    def _flush_progress(self, *, everything: bool = False) -> None:
        """Progress lines whose page's films have all been written."""
        while self._pending and (everything or self._pending[0][2] <= self.films):
            pages, pages_total, _ = self._pending.popleft()
            payload = {"pages": pages, "pages_total": pages_total, "films": self.films}
            self._write({"event": "progress", **payload})

    def page_parsed(self, spider: WatchlistSpider) -> None:
        with self._lock:
            if not self.ended:
                self._pending.append((spider.pages_done, spider.pages_total, spider.films_so_far))
                self._flush_progress()

    def item_scraped(self, item: Any) -> None:
        if not isinstance(item, FilmItem):
            return
        with self._lock:
            if not self.ended:
                self.films += 1
                self._write({"event": "film", **dataclasses.asdict(item)})
                self._flush_progress()

    def end(self, reason: str | None, message: str | None = None, **done: Any) -> None:
        """Write the one terminal line (later calls do nothing)."""
        with self._lock:
            if self.ended:
                return
            self.ended = True
            self._flush_progress(everything=True)
            if reason is None:
                self._write({"event": "done", "films": self.films, **done})
            else:
                self._write(
                    {"event": "failed", "reason": reason, "message": message or MESSAGES[reason]}
                )

    def import_failed(self, spider: WatchlistSpider) -> None:
        """Say so at once; the crawl may take a while to close, so leave soon regardless."""
        self.end(spider.failure, spider.failure_message)
        leave = threading.Timer(GRACE_S, os._exit, (0,))
        leave.daemon = True
        leave.start()

    def conclude(self, spider: WatchlistSpider) -> None:
        """The outcome of a crawl that ended by itself."""
        reason = spider.failure
        if reason is None and self.films == 0:
            reason = "empty"
        if reason is not None:
            self.end(reason, spider.failure_message)
            return
        self.end(None, expected=spider.films_expected, pages_skipped=spider.pages_skipped)

    def abandon(self) -> None:
        """Watchdog: closing did not finish in time; report and leave at once."""
        self.end("timeout")
        os._exit(0)


def build_settings(args: argparse.Namespace) -> Settings:
    """The project's settings with this run's limits on top."""
    settings = Settings()
    settings.setmodule(project_settings, priority="project")
    overrides: dict[str, Any] = {
        "DOWNLOAD_DELAY": args.delay,
        "AUTOTHROTTLE_ENABLED": args.delay > 0,
        "AUTOTHROTTLE_START_DELAY": max(args.delay, 0.01),
        "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
        "CONCURRENT_REQUESTS": args.concurrency,
        "DOWNLOAD_TIMEOUT": min(args.page_timeout, args.timeout),
        "BACKOFF_BASE_DELAY": args.backoff,
        "BACKOFF_RETRY_TIMES": args.retries,
        "FILMNIGHT_TIMEOUT": args.timeout,
        "FILMNIGHT_MAX_PAGES": args.max_pages,
        "FILMNIGHT_MAX_FILMS": args.max_films,
        "LOG_LEVEL": args.log_level,
    }
    for name, value in overrides.items():
        settings.set(name, value, priority="cmdline")
    return settings


def _positive(kind: type[int] | type[float]) -> Any:
    def convert(text: str) -> int | float:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError("must be positive")
        return value

    return convert


def _site(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        raise argparse.ArgumentTypeError("must be an http(s) site address")
    return text


def _not_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="python -m scraper",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cli.add_argument("--base-url", type=_site, default=DEFAULT_BASE_URL, help="the site")
    cli.add_argument("--max-pages", type=_positive(int), default=100)
    cli.add_argument("--max-films", type=_positive(int), default=5000)
    cli.add_argument("--delay", type=_not_negative, default=1.0, help="seconds between requests")
    cli.add_argument("--concurrency", type=_positive(int), default=1, help="requests at once")
    cli.add_argument("--timeout", type=_positive(float), default=300.0, help="the whole import")
    cli.add_argument("--page-timeout", type=_positive(float), default=20.0, help="one page")
    cli.add_argument("--backoff", type=_not_negative, default=2.0, help="first retry's wait")
    cli.add_argument("--retries", type=int, default=4, help="retries of one page")
    cli.add_argument("--log-level", default="WARNING", help="of Scrapy's logs on stderr")
    return cli


def main(argv: list[str] | None = None, stdin: IO[str] | None = None) -> int:
    args = parser().parse_args(argv)
    source = (stdin or sys.stdin).readline(MAX_SOURCE).strip()
    run = ImportRun(sys.stdout)
    try:
        username = parse_source(source, args.base_url)
    except InvalidSource:
        run.end("invalid_source")
        return 0
    redaction = install_redaction([source, username])
    try:
        return _crawl(args, username, run)
    except Exception:  # a crash: say what broke on stderr, never whose list it was
        sys.stderr.write(redaction.redact(traceback.format_exc()))
        return 2


def _crawl(args: argparse.Namespace, username: str, run: ImportRun) -> int:
    process = AsyncCrawlerProcess(build_settings(args))
    install_redaction([])  # onto the log handler Scrapy has just installed
    crawler = process.create_crawler(WatchlistSpider)
    crawler.signals.connect(run.item_scraped, signal=signals.item_scraped)
    crawler.signals.connect(run.page_parsed, signal=PAGE_PARSED)
    crawler.signals.connect(run.import_failed, signal=IMPORT_FAILED)
    watchdog = threading.Timer(args.timeout + GRACE_S, run.abandon)
    watchdog.daemon = True
    watchdog.start()
    try:
        process.crawl(crawler, username=username, base_url=args.base_url)
        process.start()
    finally:
        watchdog.cancel()
    if not isinstance(crawler.spider, WatchlistSpider):  # it never started: a crash
        return 1
    run.conclude(crawler.spider)
    return 0
