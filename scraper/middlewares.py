"""Retries with exponential back-off that honour ``Retry-After`` (Scrapy's own retry does not).

A 429 or 5xx answer, or a download error Scrapy counts as transient
(``RETRY_EXCEPTIONS``: timeouts, refused or lost connections…), is retried up to
``BACKOFF_RETRY_TIMES`` times.  The wait is ``Retry-After`` when the site sends it
(seconds or an HTTP date), else ``BACKOFF_BASE_DELAY × 2^attempt`` with ±25 % jitter,
at most ``BACKOFF_MAX_DELAY``; a ``Retry-After`` longer than that is not waited out:
the answer goes to the spider, which ends the import as ``rate_limited``.

A 403 is never retried: it is a block or a private list, and asking again would
only look more like a robot.  Neither is a site this machine cannot reach at all
(:data:`UNREACHABLE`: its name does not resolve, or the connection is refused):
backing off from those turned a failed name look-up into a minute of "Importing…";
the spider ends the import as ``unreachable`` at once.  Only a slow answer (a
timeout) is waited for and retried.  Nothing is retried once the spider has recorded a
failure (it is closing).  The wait suspends this request only; the event loop goes
on with everything else.

Downloads over ``DOWNLOAD_MAXSIZE`` (see settings.py): :func:`over_download_cap` tells
them from other failures, and :class:`CappedRobotsTxtMiddleware` ends the import when
robots.txt is over the cap instead of crawling as if it allowed everything (Scrapy's
rule for a robots.txt it could not read).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.http import Response
from scrapy.utils.misc import load_object

__all__ = [
    "UNREACHABLE",
    "BackoffRetryMiddleware",
    "CappedRobotsTxtMiddleware",
    "over_download_cap",
    "retry_after_seconds",
]

logger = logging.getLogger(__name__)

NEVER_RETRIED = frozenset({403})
UNREACHABLE: tuple[type[BaseException], ...] = (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
)
"""Download errors that say the site cannot be reached from here: never retried."""
DEFAULT_CODES = [408, 429, 500, 502, 503, 504, 522, 524]


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date), or ``None`` when absent or bad."""
    if not value:
        return None
    text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def over_download_cap(exc: BaseException) -> bool:
    """The download failed because the body is over ``DOWNLOAD_MAXSIZE``.

    Scrapy 2.19 says so in two ways: the download handler cancels a body that
    announces or reaches the cap (``DownloadCancelledError``; nothing else cancels a
    download while the crawl runs), and HttpCompressionMiddleware refuses a body
    that inflates past it (``IgnoreRequest`` raised from its decompressor's
    ``ValueError``; robots.txt refusals have no cause).  tests/scraper pins both
    against the fake site, so a Scrapy that changes them fails there.
    """
    if isinstance(exc, DownloadCancelledError):
        return True
    return isinstance(exc, IgnoreRequest) and isinstance(exc.__cause__, ValueError)


class CappedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, but a robots.txt over the cap ends the import.

    Scrapy treats a robots.txt it could not download as allowing everything; one
    too large to read is a hostile or broken site, so the spider fails with
    ``page_too_large`` rather than crawl without knowing the rules.  The hook is
    Scrapy 2.19's ``_robots_error`` (private; pyproject.toml pins Scrapy 2.19): the bombed
    robots.txt test in tests/scraper/test_download_cap.py fails if it changes.
    """

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if over_download_cap(exc):
            fail = getattr(self.crawler.spider, "fail", None)
            if callable(fail):
                fail("page_too_large", "Letterboxd's robots.txt is larger than this server reads.")
        super()._robots_error(exc, netloc)


class BackoffRetryMiddleware:
    """Downloader middleware: bounded, jittered exponential back-off; see the module doc."""

    sleep: Callable[[float], Awaitable[None]] = staticmethod(asyncio.sleep)

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.max_retries = settings.getint("BACKOFF_RETRY_TIMES", 4)
        self.base_delay = settings.getfloat("BACKOFF_BASE_DELAY", 2.0)
        self.max_delay = settings.getfloat("BACKOFF_MAX_DELAY", 60.0)
        codes = {int(code) for code in settings.getlist("BACKOFF_HTTP_CODES", DEFAULT_CODES)}
        self.codes = frozenset(codes - NEVER_RETRIED)
        loaded = [load_object(name) for name in settings.getlist("RETRY_EXCEPTIONS")]
        self.exceptions: tuple[type[BaseException], ...] = (
            DownloadTimeoutError,
            TimeoutError,
            *(cls for cls in loaded if isinstance(cls, type)),
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        return cls(crawler)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        if retry_after is not None:
            return retry_after
        backoff = self.base_delay * (2.0**attempt) * random.uniform(0.75, 1.25)
        return min(backoff, self.max_delay)

    def _closing(self) -> bool:
        spider: Any = self.crawler.spider
        return getattr(spider, "failure", None) is not None

    async def _retry(self, request: Request, why: str, retry_after: float | None) -> Request | None:
        attempt = int(request.meta.get("backoff_attempt", 0))
        if attempt >= self.max_retries or request.meta.get("dont_retry") or self._closing():
            return None
        if retry_after is not None and retry_after > self.max_delay:
            logger.warning("Not waiting %.0f s (Retry-After) for a page: giving up", retry_after)
            return None
        wait = self.delay(attempt, retry_after)
        logger.info("Retrying a page in %.2f s after %s (retry %d)", wait, why, attempt + 1)
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"backoff/retries/{why}")
        await self.sleep(wait)
        if self._closing():
            return None
        retried = request.replace(dont_filter=True)
        retried.meta["backoff_attempt"] = attempt + 1
        return retried

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status not in self.codes:
            return response
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        retried = await self._retry(request, str(response.status), retry_after)
        return retried or response

    async def process_exception(self, request: Request, exception: Exception) -> Request | None:
        if isinstance(exception, UNREACHABLE) or not isinstance(exception, self.exceptions):
            return None
        return await self._retry(request, type(exception).__name__, None)
