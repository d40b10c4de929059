"""The provider's regions and each region's streaming services, cached in the process.

Both lists change a few times a year, and every member who opens the picker needs
them: they are asked once per process and kept for :data:`REFRESH_S`.  A provider that
fails while an older copy is kept answers with the older copy; without one, the call
is refused with ``streaming_unavailable`` (the picker says to try later); after a
failure the old copy serves :data:`RETRY_S` before TMDb is asked again.  Only TMDb
has this data (JustWatch's, through its watch providers): with ``film_data`` ``none``
or ``kinopoisk`` every call is refused with ``streaming_needs_tmdb``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import structlog

from server.errors import ApiError
from server.filmdata.details import FilmDataError
from server.filmdata.tmdb import TmdbProvider
from server.streaming.offers import Offer, is_region

__all__ = ["REFRESH_S", "RETRY_S", "ServiceDirectory", "needs_tmdb"]

log = structlog.get_logger(__name__)

REFRESH_S = 24 * 3600.0
RETRY_S = 60.0
"""After a failed refresh, the old copy serves this long before TMDb is asked again
(a picker opened by every member during an outage must not ask TMDb every time)."""
T = TypeVar("T")


def needs_tmdb() -> ApiError:
    return ApiError(
        409,
        "streaming_needs_tmdb",
        "Where to stream needs TMDb film data; this server is not set up with TMDb.",
    )


def _unavailable() -> ApiError:
    return ApiError(
        503,
        "streaming_unavailable",
        "The streaming services can't be listed right now; try again later.",
    )


class _Cached(Generic[T]):
    """One list: fetched once, kept ``REFRESH_S``, refreshed by one caller at a time."""

    def __init__(self, fetch: Callable[[], Awaitable[T]], clock: Callable[[], float]) -> None:
        self._fetch = fetch
        self._clock = clock
        self._value: T | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> T:
        async with self._lock:
            if self._value is not None and self._clock() - self._at < REFRESH_S:
                return self._value
            try:
                self._value = await self._fetch()
                self._at = self._clock()
            except FilmDataError as failure:
                log.warning("streaming.list_failed", failure=failure.kind)
                if self._value is None:
                    raise _unavailable() from None
                self._at = self._clock() - REFRESH_S + RETRY_S
            return self._value


class ServiceDirectory:
    """Regions and services from TMDb (None: the server has no TMDb, the feature is off)."""

    def __init__(
        self, provider: TmdbProvider | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.provider = provider
        self._clock = clock
        self._regions: _Cached[list[tuple[str, str]]] | None = None
        self._services: dict[str, _Cached[list[Offer]]] = {}

    @property
    def enabled(self) -> bool:
        return self.provider is not None

    def _tmdb(self) -> TmdbProvider:
        if self.provider is None:
            raise needs_tmdb()
        return self.provider

    async def regions(self) -> list[tuple[str, str]]:
        """``(code, English name)`` of every region TMDb has streaming data for."""
        tmdb = self._tmdb()
        if self._regions is None:
            self._regions = _Cached(tmdb.watch_regions, self._clock)
        return await self._regions.get()

    async def services(self, region: str) -> list[Offer]:
        """The services of ``region``; ``unknown_region`` for a code TMDb does not list."""
        tmdb = self._tmdb()
        if not is_region(region) or region not in dict(await self.regions()):
            raise ApiError(400, "unknown_region", "No streaming data for that region.")
        cached = self._services.get(region)
        if cached is None:
            cached = self._services[region] = _Cached(
                lambda: tmdb.watch_services(region), self._clock
            )
        return await cached.get()
