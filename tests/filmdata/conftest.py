"""Films the fake providers know, and clients pointed at them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from server.filmdata.kinopoisk import KinopoiskProvider
from server.filmdata.tmdb import TmdbProvider
from server.filmdata.transport import TransportSettings
from tests.support.fake_kinopoisk import FakeKinopoisk, fake_kinopoisk
from tests.support.fake_provider import PNG, FakeMovie
from tests.support.fake_tmdb import FakeTmdb, fake_tmdb

MATRIX = FakeMovie(
    tmdb_id=603,
    title="The Matrix",
    year=1999,
    title_ru="Матрица",
    runtime=136,
    genres=("Action", "Science Fiction"),
    overview="A hacker learns the truth.",
    directors=("Lana Wachowski", "Lilly Wachowski"),
    imdb_id="tt0133093",
    kinopoisk_id=301,
)
AMELIE = FakeMovie(
    tmdb_id=194,
    title="Amélie",
    original_title="Le Fabuleux Destin d'Amélie Poulain",
    year=2001,
    runtime=122,
    genres=("Comedy",),
    imdb_id="tt0211915",
    kinopoisk_id=505,
    poster=PNG,
)
LEO_ANIMATED = FakeMovie(tmdb_id=1_075_794, title="Leo", year=2023, imdb_id="tt14083216",
                         kinopoisk_id=4_800_000, genres=("Animation",))  # fmt: skip
LEO_TAMIL = FakeMovie(tmdb_id=1_103_333, title="Leo", year=2023, imdb_id="tt15654328",
                      kinopoisk_id=4_800_001, genres=("Action",))  # fmt: skip
FILMS = [MATRIX, AMELIE, LEO_ANIMATED, LEO_TAMIL]

FAST = TransportSettings(timeout_s=0.5, concurrency=4, attempts=3, max_retry_after_s=5.0,
                         backoff_s=0.01, requests_per_second=1000)  # fmt: skip


@pytest.fixture
def tmdb_site() -> Iterator[FakeTmdb]:
    with fake_tmdb(FILMS) as fake:
        yield fake


@pytest.fixture
def kinopoisk_site() -> Iterator[FakeKinopoisk]:
    with fake_kinopoisk(FILMS) as fake:
        yield fake


@pytest.fixture
async def tmdb(tmdb_site: FakeTmdb) -> AsyncIterator[TmdbProvider]:
    provider = TmdbProvider(tmdb_site.base_url, tmdb_site.key, FAST, language="en-US")
    yield provider
    await provider.aclose()


@pytest.fixture
async def kinopoisk(kinopoisk_site: FakeKinopoisk) -> AsyncIterator[KinopoiskProvider]:
    provider = KinopoiskProvider(kinopoisk_site.base_url, kinopoisk_site.key, FAST)
    yield provider
    await provider.aclose()
