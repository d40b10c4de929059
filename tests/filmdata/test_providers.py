"""The TMDb and Kinopoisk clients against local fakes answering the real JSON shapes."""

from __future__ import annotations

import asyncio
import logging
import struct
import time
import traceback
import zlib

import httpx
import pytest
import structlog
import structlog.testing
from prometheus_client import REGISTRY, generate_latest

from server.filmdata import FilmDataError, NoFilmData
from server.filmdata.kinopoisk import KinopoiskProvider
from server.filmdata.posters import image_kind
from server.filmdata.tmdb import TmdbProvider
from server.filmdata.transport import TransportSettings, retry_after_seconds
from tests.filmdata.conftest import FAST
from tests.support.fake_kinopoisk import FakeKinopoisk
from tests.support.fake_provider import png_image
from tests.support.fake_tmdb import FakeTmdb

# ------------------------------------------------------------------ TMDb


async def test_tmdb_details_carry_every_field(tmdb: TmdbProvider, tmdb_site: FakeTmdb) -> None:
    film = await tmdb.details(603)
    assert film.source == "tmdb"
    assert (film.title, film.original_title, film.localized_title) == (
        "The Matrix",
        "The Matrix",
        "The Matrix",
    )
    assert (film.year, film.runtime_minutes) == (1999, 136)
    assert film.genres == ("Action", "Science Fiction")
    assert film.directors == ("Lana Wachowski", "Lilly Wachowski")
    assert film.overview == "A hacker learns the truth."
    assert (film.tmdb_id, film.imdb_id, film.kinopoisk_id) == (603, "tt0133093", None)
    assert film.poster_url == f"{tmdb_site.base_url}/t/p/w342/poster603.jpg"
    call = tmdb_site.api_calls("movie/603")[0]
    assert call.headers["authorization"] == f"Bearer {tmdb_site.key}"
    assert call.query == {
        "append_to_response": "external_ids,credits,watch/providers,translations",
        "language": "en-US",
    }
    assert film.streaming == {}  # known: streamed nowhere
    assert tmdb.image_origin == tmdb_site.base_url


async def test_tmdb_titles_come_in_the_configured_language(tmdb_site: FakeTmdb) -> None:
    provider = TmdbProvider(tmdb_site.base_url, tmdb_site.key, FAST, language="ru-RU")
    try:
        film = await provider.details(603)
    finally:
        await provider.aclose()
    assert (film.title, film.localized_title, film.original_title) == (
        "Матрица",
        "Матрица",
        "The Matrix",
    )


async def test_tmdb_search_sends_title_year_and_region(tmdb_site: FakeTmdb) -> None:
    provider = TmdbProvider(tmdb_site.base_url, tmdb_site.key, FAST, region="DE")
    try:
        found = await provider.search("Leo", 2023)
    finally:
        await provider.aclose()
    assert sorted(f.tmdb_id or 0 for f in found) == [1_075_794, 1_103_333]
    query = tmdb_site.api_calls("search/movie")[0].query
    assert query["query"] == "Leo"
    assert query["primary_release_year"] == "2023"
    assert query["region"] == "DE"


async def test_tmdb_finds_a_film_by_its_imdb_id(tmdb: TmdbProvider) -> None:
    film = await tmdb.find_by_imdb("tt0211915")
    assert film is not None and film.tmdb_id == 194
    assert film.original_title == "Le Fabuleux Destin d'Amélie Poulain"
    assert await tmdb.find_by_imdb("tt9999999") is None


async def test_tmdb_reads_its_image_configuration_once(
    tmdb: TmdbProvider, tmdb_site: FakeTmdb
) -> None:
    await tmdb.details(603)
    await tmdb.search("Amelie", 2001)
    await tmdb.find_by_imdb("tt0133093")
    assert len(tmdb_site.api_calls("configuration")) == 1


async def test_an_unknown_tmdb_film_is_not_found(tmdb: TmdbProvider) -> None:
    with pytest.raises(FilmDataError) as caught:
        await tmdb.details(42)
    assert caught.value.kind == "not_found"


# ------------------------------------------------------------------ Kinopoisk


async def test_kinopoisk_details_carry_every_field(
    kinopoisk: KinopoiskProvider, kinopoisk_site: FakeKinopoisk
) -> None:
    film = await kinopoisk.details(301)
    assert film.source == "kinopoisk"
    assert (film.title, film.localized_title, film.original_title) == (
        "Матрица",
        "Матрица",
        "The Matrix",
    )
    assert (film.year, film.runtime_minutes) == (1999, 136)
    assert film.genres == ("боевик", "фантастика")
    assert (film.kinopoisk_id, film.imdb_id, film.tmdb_id) == (301, "tt0133093", None)
    assert film.poster_url == f"{kinopoisk_site.base_url}/images/posters/kp/301.jpg"
    assert film.directors == ()  # not in Kinopoisk's film answer
    call = kinopoisk_site.api_calls("v2.2/films/301")[0]
    assert call.headers["x-api-key"] == kinopoisk_site.key
    assert kinopoisk.image_origin == kinopoisk_site.base_url


async def test_kinopoisk_search_reads_string_years_and_lengths(
    kinopoisk: KinopoiskProvider, kinopoisk_site: FakeKinopoisk
) -> None:
    found = await kinopoisk.search("Матрица", 1999)
    assert [(f.kinopoisk_id, f.year, f.runtime_minutes) for f in found] == [(301, 1999, 136)]
    assert found[0].original_title == "The Matrix"
    assert kinopoisk_site.api_calls("v2.1/films/search-by-keyword")[0].query == {
        "keyword": "Матрица",
        "page": "1",
    }


async def test_kinopoisk_search_reads_a_numeric_year_too(
    kinopoisk: KinopoiskProvider, kinopoisk_site: FakeKinopoisk
) -> None:
    kinopoisk_site.switches.broken[603] = {"year": 1999, "filmLength": None}
    found = await kinopoisk.search("Матрица", 1999)
    assert [(f.kinopoisk_id, f.year, f.runtime_minutes) for f in found] == [(301, 1999, None)]


async def test_kinopoisk_finds_a_film_by_its_imdb_id(
    kinopoisk: KinopoiskProvider, kinopoisk_site: FakeKinopoisk
) -> None:
    film = await kinopoisk.find_by_imdb("tt0211915")
    assert film is not None and film.kinopoisk_id == 505
    assert kinopoisk_site.api_calls("v2.2/films")[0].query == {"imdbId": "tt0211915"}
    assert await kinopoisk.find_by_imdb("tt9999999") is None


# ------------------------------------------------------------------ refusals


async def test_a_bad_key_is_bad_key_and_not_retried(tmdb_site: FakeTmdb) -> None:
    provider = TmdbProvider(tmdb_site.base_url, "wrong-token", FAST)
    try:
        with pytest.raises(FilmDataError) as caught:
            await provider.details(603)
    finally:
        await provider.aclose()
    assert caught.value.kind == "bad_key"
    assert len(tmdb_site.api_calls()) == 1


async def test_kinopoisk_bad_key_and_daily_quota(kinopoisk_site: FakeKinopoisk) -> None:
    provider = KinopoiskProvider(kinopoisk_site.base_url, "wrong", FAST)
    try:
        with pytest.raises(FilmDataError) as caught:
            await provider.details(301)
        assert caught.value.kind == "bad_key"
    finally:
        await provider.aclose()
    kinopoisk_site.switches.quota = True
    provider = KinopoiskProvider(kinopoisk_site.base_url, kinopoisk_site.key, FAST)
    try:
        with pytest.raises(FilmDataError) as caught:
            await provider.details(301)
        assert caught.value.kind == "quota"
    finally:
        await provider.aclose()


async def test_a_429_is_retried_after_its_retry_after(
    kinopoisk: KinopoiskProvider, kinopoisk_site: FakeKinopoisk
) -> None:
    kinopoisk_site.switches.rate_limit = 1
    kinopoisk_site.switches.retry_after = "1"
    started = time.monotonic()
    film = await kinopoisk.details(301)
    assert film.kinopoisk_id == 301
    assert time.monotonic() - started >= 0.95
    assert len(kinopoisk_site.api_calls()) == 2


async def test_a_429_past_the_last_try_is_quota(tmdb: TmdbProvider, tmdb_site: FakeTmdb) -> None:
    await tmdb.prepare()
    tmdb_site.switches.rate_limit = 10
    with pytest.raises(FilmDataError) as caught:
        await tmdb.details(603)
    assert caught.value.kind == "quota"
    assert len(tmdb_site.api_calls("movie/")) == FAST.attempts


async def test_a_429_asking_for_a_long_wait_is_not_waited_for(
    tmdb: TmdbProvider, tmdb_site: FakeTmdb
) -> None:
    await tmdb.prepare()
    tmdb_site.switches.rate_limit = 1
    tmdb_site.switches.retry_after = "3600"
    started = time.monotonic()
    with pytest.raises(FilmDataError) as caught:
        await tmdb.details(603)
    assert caught.value.kind == "quota"
    assert caught.value.retry_after_s == 3600
    assert time.monotonic() - started < 1
    assert len(tmdb_site.api_calls("movie/")) == 1


async def test_requests_are_spaced_to_the_configured_rate(tmdb_site: FakeTmdb) -> None:
    settings = TransportSettings(timeout_s=2, concurrency=8, requests_per_second=20)
    provider = TmdbProvider(tmdb_site.base_url, tmdb_site.key, settings)
    started = time.monotonic()
    try:
        await asyncio.gather(*(provider.find_by_imdb(f"tt{n:07d}") for n in range(10)))
    finally:
        await provider.aclose()
    # 11 requests (the configuration first) at 20 a second: the last starts 0.5 s in.
    assert time.monotonic() - started >= 0.45
    assert len(tmdb_site.api_calls()) == 11


async def test_outcomes_are_counted_without_the_key(tmdb_site: FakeTmdb) -> None:
    secret = "metric-secret-token-42"
    tmdb_site.key = secret

    def count(outcome: str) -> float:
        value = REGISTRY.get_sample_value(
            "filmnight_film_data_requests_total", {"provider": "tmdb", "outcome": outcome}
        )
        return value or 0.0

    before = {o: count(o) for o in ("ok", "retry", "not_found")}
    tmdb_site.switches.rate_limit = 1
    provider = TmdbProvider(tmdb_site.base_url, secret, FAST)
    try:
        await provider.details(603)
        with pytest.raises(FilmDataError):
            await provider.details(42)
    finally:
        await provider.aclose()
    assert count("retry") - before["retry"] == 1  # the 429 on /configuration
    assert count("ok") - before["ok"] == 2  # /configuration, then the film
    assert count("not_found") - before["not_found"] == 1
    assert secret not in generate_latest(REGISTRY).decode()


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


async def test_a_provider_that_hangs_times_out_as_down(tmdb_site: FakeTmdb) -> None:
    tmdb_site.switches.hang = True
    settings = TransportSettings(timeout_s=0.3, attempts=2, backoff_s=0.01)
    provider = TmdbProvider(tmdb_site.base_url, tmdb_site.key, settings)
    started = time.monotonic()
    try:
        with pytest.raises(FilmDataError) as caught:
            await provider.details(603)
    finally:
        await provider.aclose()
    assert caught.value.kind == "down"
    assert time.monotonic() - started < 3
    assert len(tmdb_site.api_calls()) == 2


async def test_a_provider_that_is_not_there_is_down() -> None:
    provider = TmdbProvider("http://127.0.0.1:9", "token", FAST)
    try:
        with pytest.raises(FilmDataError) as caught:
            await provider.details(603)
    finally:
        await provider.aclose()
    assert caught.value.kind == "down"


async def test_the_key_appears_in_no_error_and_no_log(
    tmdb_site: FakeTmdb, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "s3cret-read-access-token-0123456789"
    caplog.set_level(logging.DEBUG)
    failures: list[FilmDataError] = []
    with structlog.testing.capture_logs() as logged:
        await _fail_three_ways(tmdb_site, secret, failures)
    assert [f.kind for f in failures] == ["bad_key", "down", "malformed"]
    for failure in failures:
        text = "".join(traceback.format_exception(failure)) + repr(failure) + str(failure)
        assert secret not in text
        # No httpx exception (it holds the request, and so the header) rides along.
        assert failure.__cause__ is None
        assert failure.__context__ is None or failure.__suppress_context__
    # structlog goes to capture_logs, or to the standard logging once configure_logging
    # cached its loggers (another test built an app): read both.
    written = repr(logged) + "".join(repr(r.__dict__) for r in caplog.records)
    assert "filmdata.refused" in written and "filmdata.gave_up" in written
    assert "httpcore" in written  # httpx and httpcore log every request at DEBUG
    assert secret not in written


async def _fail_three_ways(tmdb_site: FakeTmdb, secret: str, failures: list[FilmDataError]) -> None:
    for switch in ("bad_key", "hang", "html"):
        tmdb_site.switches = type(tmdb_site.switches)()
        if switch == "hang":
            tmdb_site.switches.hang = True
        if switch == "html":
            tmdb_site.key = secret
            tmdb_site.switches.html = True
        provider = TmdbProvider(tmdb_site.base_url, secret, FAST)
        try:
            with pytest.raises(FilmDataError) as caught:
                await provider.details(603)
        finally:
            await provider.aclose()
        failures.append(caught.value)


# ------------------------------------------------------------------ none


async def test_the_none_provider_makes_no_call() -> None:
    provider = NoFilmData()
    assert await provider.search("The Matrix", 1999) == []
    assert await provider.find_by_imdb("tt0133093") is None
    with pytest.raises(FilmDataError):
        await provider.details(603)
    assert provider.image_origin is None


async def test_a_429_holds_back_every_request_for_its_retry_after(tmdb_site: FakeTmdb) -> None:
    """Retry-After is the provider's word to the client, not to one request: nothing is
    sent until it passes, and then the requests go at the configured spacing again."""
    settings = TransportSettings(timeout_s=10, concurrency=8, requests_per_second=10,
                                 max_retry_after_s=5)  # fmt: skip
    provider = TmdbProvider(tmdb_site.base_url, tmdb_site.key, settings)
    try:
        await provider.prepare()
        tmdb_site.switches.rate_limit = 1
        tmdb_site.switches.retry_after = "1"
        await asyncio.gather(*(provider.find_by_imdb(f"tt{n:07d}") for n in range(6)))
    finally:
        await provider.aclose()
    calls = tmdb_site.api_calls("find/")
    assert len(calls) == 7  # six, and the refused one again
    refused_at = calls[0].at
    later = [c.at for c in calls[1:]]
    assert min(later) - refused_at >= 0.95, [round(t - refused_at, 3) for t in later]
    # Then 10 a second again, not a burst of the requests that waited: the six are
    # 100 ms apart, 500 ms from first to last (a busy machine may delay one a little).
    assert later[-1] - later[0] >= 0.3, [round(t - refused_at, 3) for t in later]


def test_the_fake_tmdb_answers_429_past_its_limit_per_second(tmdb_site: FakeTmdb) -> None:
    """The benchmark's provider: TMDb's ~40 a second, here 5, then 429 with Retry-After."""
    tmdb_site.switches.per_second = 5
    auth = {"Authorization": f"Bearer {tmdb_site.key}"}
    with httpx.Client(base_url=tmdb_site.base_url, headers=auth) as client:
        answers = [client.get("/3/configuration") for _ in range(8)]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 3
    assert answers[-1].headers["retry-after"] == "1"
    assert answers[-1].json()["status_code"] == 25
    assert tmdb_site.limited == 3
    assert tmdb_site.busiest_second() == 8


def test_the_fakes_posters_are_real_png_images() -> None:
    poster = png_image(34, 51, seed=3)
    assert image_kind(poster) == "png"
    width, height = struct.unpack(">II", poster[16:24])
    assert (width, height) == (34, 51)
    start = poster.index(b"IDAT") + 4
    length = struct.unpack(">I", poster[start - 8 : start - 4])[0]
    assert len(zlib.decompress(poster[start : start + length])) == (1 + 34 * 3) * 51
