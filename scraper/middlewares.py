"""Retries with exponential back-off that honour ``Retry-After`` (Scrapy's own retry does not).

A 429 or 5xx answer, or a timeout, is retried up to ``BACKOFF_RETRY_TIMES`` times,
waiting ``Retry-After`` when the site sends it (seconds or an HTTP date, capped at
``BACKOFF_MAX_DELAY``), else ``BACKOFF_BASE_DELAY × 2^attempt`` with ±25 % jitter.
A 403 is never retried: it is a block or a private list, and asking again would
only look more like a robot.  The wait happens in this request's path only; the
asyncio event loop goes on with everything else.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.internet.error import (
    ConnectionDone,
    ConnectionLost,
    ConnectionRefusedError,
    TCPTimedOutError,
)
from twisted.internet.error import (
    TimeoutError as TwistedTimeoutError,
)

__all__ = ["BackoffRetryMiddleware", "retry_after_seconds"]

RETRY_EXCEPTIONS = (
    TimeoutError,
    TwistedTimeoutError,
    TCPTimedOutError,
    ConnectionRefusedError,
    ConnectionDone,
    ConnectionLost,
)


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date), or ``None`` when absent or bad."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


class BackoffRetryMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.max_retries = int(settings.getint("BACKOFF_RETRY_TIMES", 4))
        self.base_delay = float(settings.getfloat("BACKOFF_BASE_DELAY", 2.0))
        self.max_delay = float(settings.getfloat("BACKOFF_MAX_DELAY", 60.0))
        self.codes = set(settings.getlist("BACKOFF_HTTP_CODES", [429, 500, 502, 503, 504]))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        return cls(crawler)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        backoff = self.base_delay * (2.0**attempt)
        return min(backoff * random.uniform(0.75, 1.25), self.max_delay)

    async def _retry(self, request: Request, retry_after: float | None) -> Request | None:
        attempt = int(request.meta.get("backoff_attempt", 0))
        if attempt >= self.max_retries:
            return None
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value("backoff/retries")
        await asyncio.sleep(self._delay(attempt, retry_after))
        retried = request.copy()
        retried.meta["backoff_attempt"] = attempt + 1
        retried.dont_filter = True
        return retried

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status not in self.codes or request.meta.get("dont_retry"):
            return response
        retried = await self._retry(
            request, retry_after_seconds(response.headers.get("Retry-After"))
        )
        return retried or response

    async def process_exception(self, request: Request, exception: Exception) -> Request | None:
        if not isinstance(exception, RETRY_EXCEPTIONS) or request.meta.get("dont_retry"):
            return None
        return await self._retry(request, None)
