"""Titles in every client language, films seen that link, and the poster sweep."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from server.db.models import FilmRow
from server.filmdata.identity import seen_films_worth_linking
from server.filmdata.kinopoisk import KinopoiskProvider
from server.filmdata.posters import PosterStore
from server.filmdata.tmdb import TmdbProvider
from server.session_engine import utcnow
from server.settings import Settings
from tests.filmdata.conftest import AMELIE, MATRIX
from tests.filmdata.test_enrichment import (
    Client,
    film,
    imdb_csv,
    lid,
    provider_settings,
    served,
    services,
    settle,
)
from tests.server.test_sessions_http import create, join
from tests.server.test_watchlists_http import candidates, lb_csv, lb_zip, upload
from tests.support.fake_provider import JPEG, FakeMovie
from tests.support.fake_tmdb import FakeTmdb, fake_tmdb

# ------------------------------------------------------------------ titles per language


async def test_tmdb_details_carry_the_title_in_each_client_language(tmdb: TmdbProvider) -> None:
    matrix = await tmdb.details(MATRIX.tmdb_id)
    amelie = await tmdb.details(AMELIE.tmdb_id)
    # English original: TMDb's English translation has an empty title, the original is it.
    assert matrix.titles == {"en": "The Matrix", "ru": "Матрица"}
    # The overview where a translation has one: TMDb's Russian entry for it is empty here.
    assert matrix.overviews == {"en": MATRIX.overview}
    # A French film without a Russian translation: English only; German is not kept.
    assert amelie.titles == {"en": "Amélie"}


async def test_a_translation_with_an_odd_title_is_dropped_not_the_film(
    tmdb: TmdbProvider, tmdb_site: FakeTmdb
) -> None:
    odd = {"translations": {"translations": [
        {"iso_3166_1": "RU", "iso_639_1": "ru", "data": {"title": "x" * 400}},
        {"iso_3166_1": "US", "iso_639_1": "en", "data": {"title": "The Matrix"}},
    ]}}  # fmt: skip
    tmdb_site.switches.broken[MATRIX.tmdb_id] = odd
    details = await tmdb.details(MATRIX.tmdb_id)
    assert details.titles == {"en": "The Matrix"}
    assert details.runtime_minutes == MATRIX.runtime


async def test_kinopoisk_titles_are_its_russian_and_english_names(
    kinopoisk: KinopoiskProvider,
) -> None:
    assert MATRIX.kinopoisk_id is not None
    details = await kinopoisk.details(MATRIX.kinopoisk_id)
    assert details.titles == {"ru": "Матрица", "en": "The Matrix"}
    assert details.overviews == {"ru": MATRIX.overview}  # the API's description is Russian


async def test_films_carry_titles_overview_and_the_provider_is_named(
    settings: Settings, site: FakeTmdb, movies: dict[str, FakeMovie]
) -> None:
    configured = provider_settings(settings, film_data="tmdb", tmdb_url=site.base_url)
    matrix = movies["matrix"]
    async with served(configured, site.key) as client:
        host = await create(client)
        sid, token = host["session_id"], host["token"]
        await upload(client, sid, token, imdb_csv(matrix), "list.csv")
        await settle(client)
        shown = (await candidates(client, sid, token))["candidates"][0]["film"]
        snapshot = (await client.get(f"/api/v1/sessions/{sid}", headers=auth(token))).json()
    assert shown["titles"] == {"en": "The Matrix", "ru": "Матрица"}
    assert shown["overview"] == matrix.overview
    # English is `overview` itself (film_data_language is en-US): not sent twice.
    assert shown["overviews"] == {"ru": "Хакер узнаёт правду."}
    assert snapshot["film_data"] == "tmdb"


async def test_with_no_provider_the_snapshot_says_none(client: Client) -> None:
    host = await create(client)
    snapshot = await client.get(
        f"/api/v1/sessions/{host['session_id']}", headers=auth(host["token"])
    )
    assert snapshot.json()["film_data"] == "none"


async def test_a_long_overview_is_shortened_on_the_wire_not_in_the_catalogue(
    settings: Settings,
) -> None:
    words = " ".join(["A long night at the cinema"] * 60)  # 1,600 characters
    long = film("Long Night", 2004, overview=words)
    with fake_tmdb([long]) as site:
        configured = provider_settings(settings, film_data="tmdb", tmdb_url=site.base_url)
        async with served(configured, site.key) as client:
            host = await create(client)
            await upload(client, host["session_id"], host["token"], imdb_csv(long), "list.csv")
            await settle(client)
            page = await candidates(client, host["session_id"], host["token"])
            async with services(client).engine.reader() as db:
                kept = (
                    await db.execute(
                        select(FilmRow.overview).where(FilmRow.tmdb_id == long.tmdb_id)
                    )
                ).scalar_one()
    shown = page["candidates"][0]["film"]["overview"]
    assert page["candidates"][0]["film"]["overviews"] == {}  # English is `overview`
    assert len(shown) <= 400 and shown.endswith("…")
    assert words.startswith(shown[:-1])
    assert kept == words


# ------------------------------------------------------------------ films seen


def test_only_seen_films_that_may_be_another_row_of_a_listed_film_are_worth_a_look_up() -> None:
    listed: list[tuple[int, list[str | None], int | None]] = [
        (1, ["The Matrix", None, "Матрица"], 1999),
        (2, ["Heat"], 1995),
        (3, ["Undated"], None),
    ]
    seen = [
        (10, "Matrix", 1999),  # another row, same normalized title and year
        (11, "Матрица", 1999),  # a translated title counts
        (2, "Heat", 1995),  # the listed row itself: already the same film
        (12, "The Matrix", 2003),  # another year
        (13, "Solaris", 1972),  # on nobody's list
        (14, "Undated", None),
    ]
    assert seen_films_worth_linking(listed, seen) == [10, 11]


async def test_a_film_seen_in_a_letterboxd_history_leaves_an_imdb_list(
    settings: Settings, site: FakeTmdb, movies: dict[str, FakeMovie]
) -> None:
    """Ana's IMDb list has The Matrix; Ben has seen it (his export's watched.csv): it goes."""
    matrix, amelie = movies["matrix"], movies["amelie"]
    configured = provider_settings(settings, film_data="tmdb", tmdb_url=site.base_url)
    async with served(configured, site.key) as client:
        ana = await create(client)
        ben = await join(client, ana["invite_code"], "Ben")
        sid = ana["session_id"]
        await upload(client, sid, ana["token"], imdb_csv(matrix, amelie), "list.csv")
        await settle(client)
        solaris = lid()
        export = lb_zip(
            lb_csv(("Leo", 2023, lid())),
            lb_csv(("The Matrix", 1999, lid()), ("Solaris", 1972, solaris)),
        )
        assert (await upload(client, sid, ben["token"], export, "export.zip")).status_code == 201
        await settle(client)
        titles = [
            c["film"]["title"] for c in (await candidates(client, sid, ana["token"]))["candidates"]
        ]
    assert "The Matrix" not in titles
    assert {"Amélie", "Leo"} <= set(titles)
    # Solaris is on nobody's list: looking it up would only spend the provider's quota.
    searched = [call.query.get("query") for call in site.api_calls("search/movie")]
    assert "Solaris" not in searched and "The Matrix" in searched


async def test_a_history_imported_first_links_when_the_list_comes(
    settings: Settings, site: FakeTmdb, movies: dict[str, FakeMovie]
) -> None:
    matrix = movies["matrix"]
    configured = provider_settings(settings, film_data="tmdb", tmdb_url=site.base_url)
    async with served(configured, site.key) as client:
        ana = await create(client)
        ben = await join(client, ana["invite_code"], "Ben")
        sid = ana["session_id"]
        export = lb_zip(lb_csv(("Leo", 2023, lid())), lb_csv(("The Matrix", 1999, lid())))
        await upload(client, sid, ben["token"], export, "export.zip")
        await settle(client)
        await upload(client, sid, ana["token"], imdb_csv(matrix), "list.csv")
        await settle(client)
        titles = [
            c["film"]["title"] for c in (await candidates(client, sid, ana["token"]))["candidates"]
        ]
    assert titles == ["Leo"]


# ------------------------------------------------------------------ the poster sweep


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_the_sweep_deletes_only_old_files_no_row_names(tmp_path: Path) -> None:
    store = PosterStore(tmp_path, max_bytes=1024)
    kept, gone, young = ("a" * 32 + ".jpg", "b" * 32 + ".png", "c" * 32 + ".webp")
    partial, foreign = (f".{'d' * 32}.jpg.0123456789abcdef.part", "notes.txt")
    for name in (kept, gone, young, partial, foreign):
        (tmp_path / name).write_bytes(JPEG)
    for name in (kept, gone, partial, foreign):
        _age(tmp_path / name, 7200)
    assert store.sweep({kept}) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([kept, young, foreign])
    assert store.sweep({kept}, grace_s=0) == 1  # the young one, once its grace is over
    assert PosterStore(tmp_path / "never-made", max_bytes=1024).sweep(set()) == 0


async def test_a_poster_its_refreshed_film_no_longer_has_is_swept(
    settings: Settings, site: FakeTmdb, movies: dict[str, FakeMovie]
) -> None:
    matrix = movies["matrix"]
    configured = provider_settings(settings, film_data="tmdb", tmdb_url=site.base_url)
    async with served(configured, site.key) as client:
        host = await create(client)
        sid, token = host["session_id"], host["token"]
        await upload(client, sid, token, imdb_csv(matrix), "list.csv")
        await settle(client)
        shown = (await candidates(client, sid, token))["candidates"][0]["film"]
        films = services(client).films
        assert films.posters is not None
        kept = films.posters.path(shown["poster_url"].rsplit("/", 1)[1])
        assert kept is not None
        _age(kept, 7200)
        assert await films.sweep_posters() == 0  # still named by its row
        # Six months on, TMDb has no poster for it any more: the refresh drops it.
        site.switches.broken[matrix.tmdb_id] = {"poster_path": None}
        engine = services(client).engine
        async with engine.transaction() as tx:
            await tx.db.execute(
                update(FilmRow)
                .where(FilmRow.tmdb_id == matrix.tmdb_id)
                .values(details_fetched_at=utcnow() - timedelta(days=400))
            )
        ids = [int(shown["id"])]
        await films.enrich(uuid.UUID(sid), ids)
        refreshed = (await candidates(client, sid, token))["candidates"][0]["film"]
        removed = await films.sweep_posters()
        poster = await client.get(shown["poster_url"])
    assert refreshed["poster_url"] is None
    assert removed == 1 and not kept.exists()
    assert poster.status_code == 404


# ------------------------------------------------------------------ helpers and fixtures


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def movies() -> dict[str, FakeMovie]:
    return {
        "matrix": film(
            "The Matrix",
            1999,
            title_ru="Матрица",
            overview="A hacker learns.",
            overview_ru="Хакер узнаёт правду.",
        ),
        "amelie": film("Amélie", 2001, original_title="Le Fabuleux Destin d'Amélie Poulain"),
        "leo": film("Leo", 2023),
        "solaris": film("Solaris", 1972),
    }


@pytest.fixture
def site(movies: dict[str, FakeMovie]) -> Iterator[FakeTmdb]:
    with fake_tmdb(list(movies.values())) as fake:
        yield fake
