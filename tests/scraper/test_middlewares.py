"""Back-off retries: 429/5xx and timeouts retried with growing, jittered waits; Retry-After
honoured; bounded; a 403 never retried."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
)
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler

from scraper.middlewares import BackoffRetryMiddleware, retry_after_seconds
from scraper.spiders.watchlist import WatchlistSpider

URL = "http://127.0.0.1:9/ana/watchlist/"


class Middleware(BackoffRetryMiddleware):
    """The real middleware with its waits recorded instead of slept."""

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(get_crawler(settings_dict={"BACKOFF_BASE_DELAY": 2.0, **(settings or {})}))
        self.waits: list[float] = []

        async def record(seconds: float) -> None:
            self.waits.append(seconds)

        self.sleep = record


def answer(status: int, headers: dict[str, str] | None = None) -> Response:
    return HtmlResponse(URL, status=status, headers=headers or {}, body=b"<html></html>")


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds(b"7") == 7.0
    assert retry_after_seconds(" 120 ") == 120.0
    assert retry_after_seconds("Fri, 01 May 2026 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Fri, 01 May 2026 11:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("-5") is None


async def test_a_403_is_never_retried() -> None:
    middleware = Middleware({"BACKOFF_HTTP_CODES": [403, 429]})
    response = answer(403, {"cf-mitigated": "challenge"})
    assert await middleware.process_response(Request(URL), response) is response
    assert middleware.waits == []


async def test_a_429_waits_what_retry_after_says_then_asks_again() -> None:
    middleware = Middleware()
    retried = await middleware.process_response(Request(URL), answer(429, {"Retry-After": "7"}))
    assert isinstance(retried, Request) and retried.url == URL
    assert retried.dont_filter and retried.meta["backoff_attempt"] == 1
    assert middleware.waits == [7.0]


async def test_without_retry_after_the_wait_doubles_with_jitter_and_the_retries_end() -> None:
    middleware = Middleware({"BACKOFF_RETRY_TIMES": 4})
    request = Request(URL)
    for _ in range(4):
        retried = await middleware.process_response(request, answer(503))
        assert isinstance(retried, Request)
        request = retried
    final = answer(503)
    assert await middleware.process_response(request, final) is final
    for attempt, wait in enumerate(middleware.waits):
        assert 2.0 * 2**attempt * 0.75 <= wait <= 2.0 * 2**attempt * 1.25
    assert len(middleware.waits) == 4


async def test_the_wait_is_capped_and_a_longer_retry_after_gives_up() -> None:
    middleware = Middleware({"BACKOFF_BASE_DELAY": 50.0, "BACKOFF_MAX_DELAY": 60.0})
    request = Request(URL, meta={"backoff_attempt": 3})
    assert isinstance(await middleware.process_response(request, answer(500)), Request)
    assert middleware.waits == [60.0]
    hour = answer(429, {"Retry-After": "3600"})
    assert await middleware.process_response(Request(URL), hour) is hour
    assert middleware.waits == [60.0]


async def test_timeouts_are_retried_other_errors_not() -> None:
    middleware = Middleware()
    timed_out = await middleware.process_exception(Request(URL), DownloadTimeoutError("slow"))
    assert isinstance(timed_out, Request) and timed_out.meta["backoff_attempt"] == 1
    assert await middleware.process_exception(Request(URL), ValueError("bug")) is None
    assert (
        await middleware.process_exception(
            Request(URL, meta={"dont_retry": True}), DownloadTimeoutError("slow")
        )
        is None
    )


async def test_a_site_that_cannot_be_reached_is_not_retried() -> None:
    """No name, or nothing listening: waiting changes nothing, so the spider fails at once."""
    middleware = Middleware()
    for error in (CannotResolveHostError("no such name"), DownloadConnectionRefusedError()):
        assert await middleware.process_exception(Request(URL), error) is None
    assert middleware.waits == []
    # a slow answer is still retried
    slow = await middleware.process_exception(Request(URL), DownloadTimeoutError("slow"))
    assert isinstance(slow, Request) and middleware.waits != []


async def test_good_answers_pass_straight_through() -> None:
    middleware = Middleware()
    for status in (200, 301, 404):
        response = answer(status)
        assert await middleware.process_response(Request(URL), response) is response
    assert middleware.waits == []


@pytest.mark.parametrize("status", [429, 503])
async def test_nothing_is_retried_once_the_spider_has_failed(status: int) -> None:
    middleware = Middleware()

    failed = WatchlistSpider(username="ana")
    failed.failure = "blocked"
    middleware.crawler.spider = failed
    response = answer(status)
    assert await middleware.process_response(Request(URL), response) is response
