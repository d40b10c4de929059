"""The watchlist spider: every page of one public Letterboxd watchlist, one item per film.

``scrapy crawl watchlist -a username=NAME -O out.jsonl`` (from the repository root)
reads ``{base}/{name}/watchlist/`` and its ``page/N/`` pages, base being the
``base_url`` argument, else ``FILMNIGHT_LETTERBOXD_URL``, else https://letterboxd.com.
Optional arguments: ``max_pages``, ``max_films``, ``timeout`` (seconds, whole crawl).

Page 1 tells how many films there are, so a list over the page or film limit is
refused before any other page is read, and no page past the last is ever asked for
(the live site answers those with 404 or 403).  Without a count the pagination is
followed one page at a time.  Films are deduplicated across pages (the list can
shift while it is read).

How it ends is ``spider.failure``: ``None`` for success, else one of
:data:`FAILURE_REASONS`, with an optional ``failure_message`` for people.

Broken pages (the decision): a page whose HTML is cut short, or that has the
watchlist's frame but no films although the count says it should, is asked for once
more; if it is still broken, whatever films it held are kept, ``pages_skipped``
counts it and the crawl goes on, so the import ends ``done`` with fewer films than
``films_expected`` (a partial import that says so).  A first page that is not a
watchlist at all, even the second time, ends the crawl as ``blocked``: the site
answered, but not with something we can read.

Progress: ``pages_done``, ``pages_total`` (once known) and ``films_so_far``, and
the :data:`PAGE_PARSED` signal after each page; :data:`IMPORT_FAILED` as soon as a
failure is known (closing can take a while if a page is still downloading).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any, Final, Literal, get_args
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.exceptions import CannotResolveHostError, IgnoreRequest
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from scraper.items import FilmItem
from scraper.logfilter import install_redaction
from scraper.middlewares import UNREACHABLE, over_download_cap
from scraper.parsing import (
    DEFAULT_BASE_URL,
    WatchlistPage,
    classify_forbidden,
    lacks_films,
    parse_watchlist_page,
)
from scraper.source import InvalidSource, parse_source

__all__ = ["FAILURE_REASONS", "IMPORT_FAILED", "PAGE_PARSED", "FailureReason", "WatchlistSpider"]

logger = logging.getLogger(__name__)

FailureReason = Literal[
    "not_found",
    "private",
    "blocked",
    "rate_limited",
    "timeout",
    "unreachable",
    "too_large",
    "page_too_large",
    "empty",
    "invalid_source",
]
FAILURE_REASONS: Final[frozenset[str]] = frozenset(get_args(FailureReason))

PAGE_PARSED: Final = object()
"""Signal sent (with ``spider=``) after each page, once its films have been yielded."""
IMPORT_FAILED: Final = object()
"""Signal sent (with ``spider=``) when ``failure`` is first set, before the crawl closes."""

REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 2
WATCHLIST_PATH = re.compile(r"/([A-Za-z0-9_]{1,40})/watchlist/")
UNAVAILABLE = frozenset({408, 500, 502, 503, 504, 520, 521, 522, 523, 524})


def _limit(value: int | str | None) -> int | None:
    if value is None or value == "":
        return None
    number = int(value)
    if number < 1:
        raise ValueError("limits must be positive")
    return number


def _over(count: int | None, limit: int | None) -> bool:
    """``count`` is known and above ``limit`` (``None``: no limit)."""
    return count is not None and limit is not None and count > limit


class WatchlistSpider(scrapy.Spider):
    """Reads one member's watchlist; see the module docstring for outcomes."""

    name = "watchlist"

    def __init__(
        self,
        username: str | None = None,
        base_url: str | None = None,
        max_pages: int | str | None = None,
        max_films: int | str | None = None,
        timeout: float | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        base = (base_url or os.environ.get("FILMNIGHT_LETTERBOXD_URL") or DEFAULT_BASE_URL).strip()
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
            raise ValueError("base_url must be an http(s) site address")
        self.base_url = f"{parts.scheme}://{parts.netloc}"
        self._origin = (parts.scheme, parts.netloc.lower())
        self.max_pages = _limit(max_pages)
        self.max_films = _limit(max_films)
        self.timeout = float(timeout) if timeout not in (None, "") else None
        self.failure: FailureReason | None = None
        self.failure_message: str | None = None
        self.pages_done = 0
        self.pages_total: int | None = None
        self.pages_skipped = 0
        self.films_expected: int | None = None
        self._seen: set[str] = set()
        self._tasks: set[asyncio.Future[None]] = set()
        self._deadline: asyncio.TimerHandle | None = None
        self._source = username or ""
        try:
            self.username: str | None = parse_source(self._source, self.base_url)
        except InvalidSource:
            self.username = None
            self.failure = "invalid_source"

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> WatchlistSpider:
        spider: WatchlistSpider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.max_pages = spider.max_pages or settings.getint("FILMNIGHT_MAX_PAGES", 100)
        spider.max_films = spider.max_films or settings.getint("FILMNIGHT_MAX_FILMS", 5000)
        if spider.timeout is None:
            spider.timeout = settings.getfloat("FILMNIGHT_TIMEOUT", 0.0) or None
        # From here on no log line names the member, whoever started the crawl.
        install_redaction([spider._source, spider.username or ""])
        return spider

    @property
    def films_so_far(self) -> int:
        """Distinct films yielded so far."""
        return len(self._seen)

    # ------------------------------------------------------------ requests

    def page_url(self, page: int) -> str:
        base = f"{self.base_url}/{self.username}/watchlist/"
        return base if page == 1 else f"{base}page/{page}/"

    def _request(
        self, url: str, page: int, *, redirects: int = 0, reread: bool = False
    ) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_page,
            errback=self.page_failed,
            priority=-page,
            dont_filter=redirects > 0 or reread,
            meta={
                "page": page,
                "redirects": redirects,
                "reread": reread,
                "handle_httpstatus_all": True,
            },
        )

    async def start(self) -> AsyncIterator[scrapy.Request]:
        # Crawler.crawl() replaces Scrapy's root log handler after from_crawler ran:
        # the new one needs the redacting filter too (the download cap's warnings, for
        # one, name the request's URL).
        install_redaction([])
        if self.username is None:
            return
        if self.timeout:
            loop = asyncio.get_running_loop()
            self._deadline = loop.call_later(self.timeout, self.fail, "timeout")
        yield self._request(self.page_url(1), 1)

    # ------------------------------------------------------------ outcome

    def fail(self, reason: FailureReason, message: str | None = None) -> None:
        """Record the first failure and stop the crawl (later ones are consequences)."""
        if self.failure is not None:
            return
        self.failure, self.failure_message = reason, message
        logger.info("Stopping the import: %s", reason)
        crawler = getattr(self, "crawler", None)
        if crawler is not None:
            crawler.signals.send_catch_log(signal=IMPORT_FAILED, spider=self)
        engine = getattr(crawler, "engine", None)
        if engine is not None and engine.spider is self:
            task = asyncio.ensure_future(engine.close_spider_async(reason=reason))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def closed(self, reason: str) -> None:
        """Scrapy's close hook: a crawl stopped from outside did not finish the list."""
        if self._deadline is not None:
            self._deadline.cancel()
        if reason != "finished" and self.failure is None:
            self.failure = "timeout"
        if self.failure is not None:  # `scrapy crawl` users see why there are no items
            logger.warning("The import failed: %s", self.failure)

    def _page_finished(self, *, broken: bool) -> None:
        self.pages_done += 1
        self.pages_skipped += broken
        crawler = getattr(self, "crawler", None)
        if crawler is not None:
            crawler.signals.send_catch_log(signal=PAGE_PARSED, spider=self)

    # ------------------------------------------------------------ responses

    def parse_page(self, response: Response) -> Iterator[scrapy.Request | FilmItem]:
        if self.failure is not None:
            return
        page = int(response.meta["page"])
        status = response.status
        if status in REDIRECTS:
            yield from self._follow_redirect(response, page)
            return
        if status != 200:
            self._refused(response, page)
            return
        if page == 1 and response.meta.get("redirects") and not self._moved(response.url):
            return
        html = response.text if isinstance(response, TextResponse) else ""
        parsed = parse_watchlist_page(html, self.base_url)
        broken = lacks_films(parsed, page, self.films_expected)
        if broken and not response.meta.get("reread"):
            logger.info("Page %d looks broken: asking once more", page)
            yield self._request(response.url, page, reread=True)
            return
        if page == 1:
            if not parsed.looks_like_watchlist and not parsed.films:
                self.fail("blocked", "Letterboxd answered with a page that is not a watchlist.")
                return
            if not self._first_page(parsed):
                return
            for number in range(2, (self.pages_total or 1) + 1):
                yield self._request(self.page_url(number), number)
        yield from self._new_films(parsed.films)
        if self.pages_total is None:
            if parsed.has_next and not _over(page + 1, self.max_pages):
                yield self._request(self.page_url(page + 1), page + 1)
            elif parsed.has_next:
                self.fail("too_large")
                return
            else:
                self.pages_total = page  # walked to the end
        self._page_finished(broken=broken)

    def _moved(self, url: str) -> bool:
        """Page 1 was redirected on the site: read the rest from where it now lives.

        Letterboxd redirects a renamed member's old address to the new one; a first
        page that ends anywhere but a watchlist means there is no such list.
        """
        found = WATCHLIST_PATH.fullmatch(urlsplit(url).path)
        if found is None:
            self.fail("not_found")
            return False
        self.username = found.group(1).lower()
        install_redaction([self.username])
        return True

    def _first_page(self, parsed: WatchlistPage) -> bool:
        """Judge the list from page 1; False when the crawl stops here."""
        self.films_expected = parsed.total
        self.pages_total = parsed.pages_total
        unknown_total_and_alone = parsed.total is None and not parsed.has_next
        if not parsed.films and (parsed.total == 0 or unknown_total_and_alone):
            self.fail("empty")
            return False
        if _over(self.pages_total, self.max_pages) or _over(parsed.total, self.max_films):
            self.fail("too_large")
            return False
        return True

    def _new_films(self, films: list[FilmItem]) -> Iterator[FilmItem]:
        for film in films:
            if film.key not in self._seen:
                self._seen.add(film.key)
                yield film

    def _refused(self, response: Response, page: int) -> None:
        status = response.status
        if status == 403:
            body = response.text if isinstance(response, TextResponse) else ""
            self.fail(classify_forbidden(response.headers, body))
        elif status in (404, 410):
            if page == 1:
                self.fail("not_found")
            else:  # the list shrank while we read it: nothing is missing
                self._page_finished(broken=False)
        elif status == 429:
            self.fail("rate_limited")
        elif status in UNAVAILABLE:
            self.fail("timeout", "Letterboxd is not answering at the moment.")
        else:
            self.fail("blocked")

    def _follow_redirect(self, response: Response, page: int) -> Iterator[scrapy.Request]:
        location = (response.headers.get("Location") or b"").decode("latin-1")
        target = urljoin(response.url, location)
        parts = urlsplit(target)
        hops = int(response.meta.get("redirects", 0))
        if not location or (parts.scheme, parts.netloc.lower()) != self._origin:
            self.fail("invalid_source", "Letterboxd sent us to another site.")
            return
        if hops >= MAX_REDIRECTS:
            self.fail("blocked", "Letterboxd kept redirecting.")
            return
        yield self._request(target, page, redirects=hops + 1)

    def page_failed(self, failure: Failure) -> None:
        """Errback: the page is over the download cap, robots.txt forbids it, or it never came."""
        if self.failure is not None:
            return
        if failure.value is not None and over_download_cap(failure.value):
            self.fail("page_too_large")
        elif isinstance(failure.value, UNREACHABLE):
            self.fail("unreachable", _unreachable_message(failure.value))
        elif isinstance(failure.value, IgnoreRequest):
            self.fail("blocked", "Letterboxd's robots.txt does not allow reading that page.")
        else:
            self.fail("timeout")


def _unreachable_message(error: BaseException) -> str:
    """Why this server cannot reach the site, and what the member can do instead."""
    export = "upload your export instead (letterboxd.com → Settings → Data → Export your data)."
    if isinstance(error, CannotResolveHostError):
        return f"This server cannot find Letterboxd (its address does not resolve); {export}"
    return f"This server cannot connect to Letterboxd (the connection was refused); {export}"
