"""TMDb's country and service lists: asked once a day, an old copy outlives an outage."""

from __future__ import annotations

import pytest

from server.errors import ApiError
from server.filmdata.tmdb import TmdbProvider
from server.filmdata.transport import TransportSettings
from server.streaming.directory import REFRESH_S, RETRY_S, ServiceDirectory
from tests.support.fake_tmdb import fake_tmdb

FAST = TransportSettings(timeout_s=0.5, attempts=1, backoff_s=0.01, requests_per_second=1000)


async def test_lists_are_kept_a_day_and_outlive_an_outage() -> None:
    now = [1000.0]
    with fake_tmdb([]) as site:
        provider = TmdbProvider(site.base_url, site.key, FAST, language="en-US")
        directory = ServiceDirectory(provider, clock=lambda: now[0])
        try:
            regions = await directory.regions()
            assert ("RU", "Russia") in regions and ("US", "United States of America") in regions
            russian = [s.name for s in await directory.services("RU")]
            assert russian == ["Kion", "Apple TV", "Google Play Movies"]  # RU's display order
            await directory.regions()
            await directory.services("RU")
            assert len(site.api_calls("watch/providers/regions")) == 1
            assert len(site.api_calls("watch/providers/movie")) == 1

            now[0] += REFRESH_S + 1
            site.switches.html = True  # TMDb answers nonsense: the old copies serve
            assert await directory.regions() == regions
            assert [s.name for s in await directory.services("RU")] == russian
            assert len(site.api_calls("watch/providers/regions")) == 2  # it did ask again, once
            now[0] += RETRY_S + 1
            assert await directory.regions() == regions
            assert len(site.api_calls("watch/providers/regions")) == 3  # and again a minute on
            with pytest.raises(ApiError) as caught:
                await directory.services("GB")  # never kept: nothing to fall back on
            assert (caught.value.status, caught.value.code) == (503, "streaming_unavailable")

            site.switches.html = False
            now[0] += REFRESH_S + 1
            assert next(s.name for s in await directory.services("GB")) == "Netflix"
        finally:
            await provider.aclose()


async def test_without_tmdb_the_directory_refuses() -> None:
    directory = ServiceDirectory(None)
    assert not directory.enabled
    for call in (directory.regions(), directory.services("US")):
        with pytest.raises(ApiError) as caught:
            await call
        assert (caught.value.status, caught.value.code) == (409, "streaming_needs_tmdb")
