"""A provider answering HTML, nothing, a missing field or an absurd value costs that film its
details (a ``malformed`` failure), and never anything else: no other exception leaves the layer."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from server.filmdata import FilmDataError, FilmDetails
from server.filmdata.details import checked
from server.filmdata.kinopoisk import KinopoiskProvider
from server.filmdata.tmdb import TmdbProvider
from tests.support.fake_kinopoisk import FakeKinopoisk
from tests.support.fake_provider import DROP
from tests.support.fake_tmdb import FakeTmdb


@pytest.mark.parametrize("switch", ["html", "empty", "huge"])
async def test_an_html_empty_or_huge_body_is_malformed(
    switch: str,
    tmdb: TmdbProvider,
    tmdb_site: FakeTmdb,
    kinopoisk: KinopoiskProvider,
    kinopoisk_site: FakeKinopoisk,
) -> None:
    setattr(tmdb_site.switches, switch, True)
    setattr(kinopoisk_site.switches, switch, True)
    for call in (tmdb.details(603), kinopoisk.details(301), kinopoisk.search("Leo", 2023)):
        with pytest.raises(FilmDataError) as caught:
            await call
        assert caught.value.kind == "malformed"


@pytest.mark.parametrize(
    "broken",
    [
        {"runtime": -5},
        {"runtime": "two hours"},
        {"release_date": "30000-01-01"},
        {"title": DROP, "original_title": DROP},
        {"id": DROP},
        {"genres": "Drama"},
        {"title": "x" * 5000},
        {"credits": {"crew": [{"job": "Director", "name": 7}]}},
    ],
)
async def test_tmdb_details_with_a_bad_field_are_malformed(
    broken: dict[str, Any], tmdb: TmdbProvider, tmdb_site: FakeTmdb
) -> None:
    tmdb_site.switches.broken[603] = broken
    with pytest.raises(FilmDataError) as caught:
        await tmdb.details(603)
    assert caught.value.kind == "malformed"
    assert (await tmdb.details(194)).runtime_minutes == 122  # other films are unaffected


@pytest.mark.parametrize(
    "broken",
    [
        {"filmLength": -5},
        {"year": 30000},
        {"kinopoiskId": DROP},
        {"nameRu": None, "nameEn": None, "nameOriginal": None},
        {"genres": [{"name": "drama"}]},
    ],
)
async def test_kinopoisk_details_with_a_bad_field_are_malformed(
    broken: dict[str, Any], kinopoisk: KinopoiskProvider, kinopoisk_site: FakeKinopoisk
) -> None:
    kinopoisk_site.switches.broken[603] = broken
    with pytest.raises(FilmDataError) as caught:
        await kinopoisk.details(301)
    assert caught.value.kind == "malformed"


async def test_a_broken_search_hit_is_left_out_and_the_rest_kept(
    tmdb: TmdbProvider, tmdb_site: FakeTmdb, kinopoisk: KinopoiskProvider,
    kinopoisk_site: FakeKinopoisk,
) -> None:  # fmt: skip
    tmdb_site.switches.broken[1_075_794] = {"release_date": "30000-01-01"}
    kinopoisk_site.switches.broken[1_075_794] = {"filmId": "many"}
    assert [f.tmdb_id for f in await tmdb.search("Leo", None)] == [1_103_333]
    with pytest.raises(FilmDataError):  # a wrong type fails the whole JSON decode
        await kinopoisk.search("Leo", 2023)
    kinopoisk_site.switches.broken[1_075_794] = {"year": "3000", "nameRu": "Лео"}
    assert [f.kinopoisk_id for f in await kinopoisk.search("Leo", 2023)] == [4_800_001]


async def test_unknown_or_empty_values_are_not_errors(
    tmdb: TmdbProvider, tmdb_site: FakeTmdb
) -> None:
    tmdb_site.switches.broken[603] = {
        "runtime": 0,
        "imdb_id": "",
        "poster_path": None,
        "external_ids": {"imdb_id": None},
        "release_date": "",
    }
    film = await tmdb.details(603)
    assert (film.runtime_minutes, film.imdb_id, film.poster_url, film.year) == (
        None,
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"year": 1869},
        {"year": 2101},
        {"runtime_minutes": 1501},
        {"tmdb_id": -1},
        {"title": "   "},
        {"title": "bell\x07"},
        {"genres": tuple(f"g{i}" for i in range(21))},
    ],
)
def test_the_checks_refuse_absurd_values(fields: dict[str, Any]) -> None:
    details = FilmDetails(source="tmdb", title="Heat", year=1995, tmdb_id=949)
    with pytest.raises(FilmDataError) as caught:
        checked(msgspec.structs.replace(details, **fields))
    assert caught.value.kind == "malformed"


def test_the_checks_tidy_what_they_keep() -> None:
    details = FilmDetails(source="tmdb", title="  Heat \n", year=1995, overview="x" * 9000,
                          imdb_id="nm0000001", poster_url="ftp://x/p.jpg")  # fmt: skip
    tidy = checked(details)
    assert tidy.title == "Heat"
    assert tidy.overview is not None and len(tidy.overview) == 4000
    assert tidy.imdb_id is None  # not a title id: unknown, not an error
    assert tidy.poster_url is None
