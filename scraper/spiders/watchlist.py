"""The watchlist spider: every page of one public Letterboxd watchlist, one item per film.

``scrapy crawl watchlist -a username=NAME -O out.jsonl`` (from the repository root)
reads ``{base}/{name}/watchlist/`` and its ``page/N/`` pages, base being
``FILMNIGHT_LETTERBOXD_URL`` or https://letterboxd.com.

Page 1 tells how many films there are, so the crawl refuses a list over the page
or film limit before reading it, and never asks for a page past the last (the
live site answers those with 404 or 403).  Films are deduplicated across pages
(the list can shift while it is read).  How it ends is ``spider.failure``:
``None`` for success, else one of ``not_found``, ``private``, ``blocked``,
``rate_limited``, ``timeout``, ``too_large``, ``empty``, ``invalid_source``.
A page after the first that cannot be read (truncated, or without films) is
skipped; the films of the other pages are still imported, and ``films_expected``
against the films read says how many were missed.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from scraper.items import FilmItem
from scraper.parsing import classify_forbidden, parse_watchlist_page
from scraper.source import InvalidSource, parse_source

__all__ = ["DEFAULT_BASE_URL", "WatchlistSpider"]

DEFAULT_BASE_URL = "https://letterboxd.com"
HANDLED = [301, 302, 303, 307, 308, 403, 404, 408, 429, 500, 502, 503, 504, 522, 524]

ProgressHook = Callable[[int, int | None, int], None]


class WatchlistSpider(scrapy.Spider):
    name = "watchlist"

    def __init__(
        self,
        username: str | None = None,
        base_url: str | None = None,
        max_pages: int | str | None = None,
        max_films: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.base_url = (
            base_url or os.environ.get("FILMNIGHT_LETTERBOXD_URL") or DEFAULT_BASE_URL
        ).rstrip("/")
        self.max_pages = int(max_pages) if max_pages else None
        self.max_films = int(max_films) if max_films else None
        self.failure: str | None = None
        self.pages_done = 0
        self.pages_total: int | None = None
        self.films_expected: int | None = None
        self.pages_skipped = 0
        self.on_progress: ProgressHook | None = None
        self._seen: set[str] = set()
        self._closing: asyncio.Task[None] | None = None
        try:
            self.username: str | None = parse_source(username or "", self.base_url)
        except InvalidSource:
            self.username = None
            self.failure = "invalid_source"
        self._host = urlsplit(self.base_url).netloc.lower()

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> WatchlistSpider:
        spider: WatchlistSpider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.max_pages = spider.max_pages or settings.getint("FILMNIGHT_MAX_PAGES", 100)
        spider.max_films = spider.max_films or settings.getint("FILMNIGHT_MAX_FILMS", 5000)
        return spider

    # ------------------------------------------------------------ requests

    def page_url(self, page: int) -> str:
        base = f"{self.base_url}/{self.username}/watchlist/"
        return base if page == 1 else f"{base}page/{page}/"

    def _request(self, url: str, page: int, redirects: int = 0) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_page,
            errback=self.errored,
            priority=-page,
            meta={"page": page, "redirects": redirects, "handle_httpstatus_list": HANDLED},
        )

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.username is not None:
            yield self._request(self.page_url(1), 1)

    # ------------------------------------------------------------ outcome

    def fail(self, reason: str) -> None:
        """Record the first failure and stop the crawl."""
        if self.failure is not None:
            return
        self.failure = reason
        engine = getattr(getattr(self, "crawler", None), "engine", None)
        if engine is not None:
            self._closing = asyncio.get_running_loop().create_task(
                engine.close_spider_async(reason=reason)
            )

    def _report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.pages_done, self.pages_total, len(self._seen))

    # ------------------------------------------------------------ parsing

    def parse_page(self, response: Response) -> Iterator[Any]:
        page = int(response.meta["page"])
        status = response.status
        if status in (301, 302, 303, 307, 308):
            yield from self._redirect(response, page)
            return
        if status == 403:
            self.fail(classify_forbidden(dict(response.headers), response.text))
            return
        if status == 404:
            if page == 1:
                self.fail("not_found")
            else:  # the list shrank while we read it
                self._page_done(skipped=False)
            return
        if status == 429:
            self.fail("rate_limited")
            return
        if status >= 400:
            self.fail("timeout" if status in (408, 504, 522, 524) else "blocked")
            return
        parsed = parse_watchlist_page(response.text)
        if page == 1:
            if not parsed.looks_like_watchlist and not parsed.films:
                self.fail("invalid_source")
                return
            self.films_expected = parsed.total
            self.pages_total = parsed.pages_total
            if parsed.total == 0 or (
                parsed.total is None and not parsed.films and not parsed.has_next
            ):
                self.fail("empty")
                return
            over_pages = self.pages_total is not None and self.pages_total > (self.max_pages or 0)
            over_films = parsed.total is not None and parsed.total > (self.max_films or 0)
            if over_pages or over_films:
                self.fail("too_large")
                return
            for number in range(2, (self.pages_total or 1) + 1):
                yield self._request(self.page_url(number), number)
        yield from self._films(parsed.films)
        if page == 1 and self.pages_total is None and parsed.has_next:
            # No count on the page: walk the pagination one page at a time.
            yield self._request(self.page_url(2), 2)
        elif (
            page > 1
            and self.pages_total is None
            and parsed.has_next
            and page < (self.max_pages or 0)
        ):
            yield self._request(self.page_url(page + 1), page + 1)
        elif page > 1 and self.pages_total is None and parsed.has_next:
            self.fail("too_large")
        self._page_done(skipped=not parsed.films)

    def _films(self, films: list[FilmItem]) -> Iterator[FilmItem]:
        for film in films:
            if film.key not in self._seen:
                self._seen.add(film.key)
                yield film

    def _page_done(self, *, skipped: bool) -> None:
        self.pages_done += 1
        if skipped:
            self.pages_skipped += 1
        self._report()

    def _redirect(self, response: Response, page: int) -> Iterator[scrapy.Request]:
        location = (response.headers.get("Location") or b"").decode("latin-1")
        target = urljoin(response.url, location)
        parts = urlsplit(target)
        if (
            parts.netloc.lower() != self._host
            or parts.scheme not in ("http", "https")
            or response.meta.get("redirects", 0) >= 2
        ):
            self.fail("invalid_source")
            return
        yield self._request(target, page, response.meta.get("redirects", 0) + 1)

    def errored(self, failure: Failure) -> None:
        name = failure.type.__name__ if failure.type else ""
        # robots.txt forbids it: blocked; anything else means the site did not answer.
        self.fail("blocked" if name == "IgnoreRequest" else "timeout")
