"""Enrichment after an import, against the fake providers, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import itertools
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import select

from server.app import Services, create_app
from server.db.models import FilmRow
from server.filmdata import KEY_VARIABLE
from server.filmdata.enrichment import BATCH, shown_first
from server.settings import Settings, SettingsError
from tests.conftest import make_settings, run_live
from tests.server.test_sessions_http import create, join
from tests.server.test_watchlists_http import candidates, lb_csv, upload
from tests.support.fake_kinopoisk import FakeKinopoisk, fake_kinopoisk
from tests.support.fake_provider import JPEG, FakeMovie
from tests.support.fake_tmdb import FakeTmdb, fake_tmdb
from tests.support.letterboxd_site import FakeFilm, FakeUser, letterboxd_site
from tests.support.wsclient import connect_member
from tests.watchlists.test_uploads import IMDB_NEW, imdb_row

Client = Any
"""An ``httpx.AsyncClient`` on a live server (the enrichment runs in the test's event loop)."""

# The catalogue is shared by every test of a run: each test gets films of its own.
_numbers = itertools.count(secrets.randbelow(10_000_000) * 100 + 10_000_000)


def film(title: str, year: int, **more: Any) -> FakeMovie:
    number = next(_numbers)
    fields: dict[str, Any] = {"imdb_id": f"tt{number}", "kinopoisk_id": number}
    fields.update(more)
    return FakeMovie(tmdb_id=number, title=title, year=year, **fields)


def lid() -> str:
    return secrets.token_hex(5)


def imdb_csv(*films: FakeMovie) -> bytes:
    rows = [IMDB_NEW] + [
        imdb_row(n, f.imdb_id or "", f.title, "Movie", str(f.year), new=True)
        for n, f in enumerate(films, 1)
    ]
    return "".join(rows).encode()


def provider_settings(settings: Settings, **overrides: Any) -> Settings:
    return msgspec.structs.replace(settings, **overrides)


@pytest.fixture
def movies() -> dict[str, FakeMovie]:
    return {
        "matrix": film(
            "The Matrix",
            1999,
            title_ru="Матрица",
            runtime=136,
            genres=("Action", "Science Fiction"),
            directors=("Lana Wachowski", "Lilly Wachowski"),
        ),
        "amelie": film("Amélie", 2001, original_title="Le Fabuleux Destin d'Amélie Poulain"),
        "leo_1": film("Leo", 2023, genres=("Animation",)),
        "leo_2": film("Leo", 2023, genres=("Action",)),
        "broken": film("Heat", 1995),
    }


@pytest.fixture
def tmdb_site(movies: dict[str, FakeMovie]) -> Iterator[FakeTmdb]:
    with fake_tmdb(list(movies.values())) as fake:
        yield fake


@contextlib.asynccontextmanager
async def served(settings: Settings, key: str) -> AsyncIterator[Client]:
    """The app on a live server in this event loop, and a client for it."""
    app = create_app(settings, environ={KEY_VARIABLE: key})
    async with run_live(app, settings) as live, httpx.AsyncClient(base_url=live.base_url) as client:
        client.app = app  # type: ignore[attr-defined]
        client.live = live  # type: ignore[attr-defined]
        yield client


@pytest.fixture
async def tmdb_app(settings: Settings, tmdb_site: FakeTmdb) -> AsyncIterator[Client]:
    configured = provider_settings(settings, film_data="tmdb", tmdb_url=tmdb_site.base_url,
                                   poster_max_bytes=64 * 1024)  # fmt: skip
    async with served(configured, tmdb_site.key) as client:
        yield client


def services(client: Client) -> Services:
    found: Services = client.app.state.services
    return found


async def settle(client: Client) -> None:
    await services(client).films.wait()


def by_title(page: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    films: dict[str, list[dict[str, Any]]] = {}
    for candidate in page["candidates"]:
        films.setdefault(candidate["film"]["title"], []).append(candidate)
    return films


async def test_an_upload_is_enriched_in_the_background(
    tmdb_app: Client, tmdb_site: FakeTmdb, movies: dict[str, FakeMovie]
) -> None:
    host = await create(tmdb_app)
    sid, token = host["session_id"], host["token"]
    matrix = movies["matrix"]
    csv = lb_csv(("The Matrix", 1999, lid()), ("Amelie", 2001, lid()), ("Leo", 2023, lid()),
                 ("A Film Nobody Knows", 2011, lid()), ("Undated", None, lid()))  # fmt: skip
    response = await upload(tmdb_app, sid, token, csv)
    assert response.status_code == 201, response.text
    before = by_title(await candidates(tmdb_app, sid, token))
    await settle(tmdb_app)
    after = by_title(await candidates(tmdb_app, sid, token))
    assert len(after) == len(before) == 5

    shown = after["The Matrix"][0]["film"]
    assert shown["runtime_minutes"] == 136
    assert shown["genres"] == ["Action", "Science Fiction"]
    assert shown["directors"] == ["Lana Wachowski", "Lilly Wachowski"]
    assert (shown["tmdb_id"], shown["imdb_id"]) == (matrix.tmdb_id, matrix.imdb_id)
    assert shown["original_title"] == "The Matrix"
    assert shown["poster_url"].startswith("/posters/") and shown["poster_url"].endswith(".jpg")
    poster = await tmdb_app.get(shown["poster_url"])
    assert poster.status_code == 200
    assert poster.headers["content-type"] == "image/jpeg"
    assert poster.content == JPEG
    assert "immutable" in poster.headers["cache-control"]

    amelie = after["Amelie"][0]["film"]
    assert amelie["tmdb_id"] == movies["amelie"].tmdb_id  # accents and case ignored
    for bare in ("Leo", "A Film Nobody Knows", "Undated"):
        film = after[bare][0]["film"]
        assert film["tmdb_id"] is None and film["runtime_minutes"] is None, bare
    # The same-title trap: both Leos were found, neither was asked about in detail.
    leo_ids = {movies["leo_1"].tmdb_id, movies["leo_2"].tmdb_id}
    asked = {int(r.path.rsplit("/", 1)[1]) for r in tmdb_site.api_calls("movie/")}
    assert asked == {matrix.tmdb_id, movies["amelie"].tmdb_id}
    assert not leo_ids & asked
    # Nothing is searched for a row without a year.
    assert all(r.query["query"] != "Undated" for r in tmdb_site.api_calls("search/movie"))


async def test_details_are_fetched_again_only_after_the_max_age(
    tmdb_app: Client, tmdb_site: FakeTmdb
) -> None:
    host = await create(tmdb_app)
    ben = await join(tmdb_app, host["invite_code"], "Ben")
    first_lid = lid()
    csv = lb_csv(("The Matrix", 1999, first_lid), ("Leo", 2023, lid()))
    await upload(tmdb_app, host["session_id"], host["token"], csv)
    await settle(tmdb_app)
    calls = len(tmdb_site.api_calls())
    await upload(tmdb_app, host["session_id"], ben["token"], csv)  # the same films again
    await settle(tmdb_app)
    assert len(tmdb_site.api_calls()) == calls  # linked or not, they were asked recently

    engine = services(tmdb_app).engine
    async with engine.transaction() as tx:
        row = (await tx.db.execute(select(FilmRow).where(FilmRow.lid == first_lid))).scalar_one()
        assert row.details_fetched_at is not None
        row.details_fetched_at = row.details_fetched_at.replace(year=2025)  # older than 90 days
    await upload(tmdb_app, host["session_id"], ben["token"], csv)
    await settle(tmdb_app)
    assert len(tmdb_site.api_calls("movie/")) == 2  # only the stale film, by its stored id
    assert (
        len(tmdb_site.api_calls("search/")) == 2
    )  # the first import's: a linked film is not searched again


async def test_an_imdb_list_and_a_letterboxd_list_intersect_once_linked(
    tmdb_app: Client, movies: dict[str, FakeMovie]
) -> None:
    host = await create(tmdb_app)
    ben = await join(tmdb_app, host["invite_code"], "Ben")
    sid = host["session_id"]
    matrix, amelie = movies["matrix"], movies["amelie"]
    imdb = imdb_csv(matrix, amelie)
    letterboxd = lb_csv(("The Matrix", 1999, lid()), ("Leo", 2023, lid()))
    assert (await upload(tmdb_app, sid, host["token"], imdb, "list.csv")).status_code == 201
    assert (await upload(tmdb_app, sid, ben["token"], letterboxd)).status_code == 201
    await settle(tmdb_app)
    page = await candidates(tmdb_app, sid, host["token"])
    films = by_title(page)
    assert page["member_count"] == 2
    assert len(films["The Matrix"]) == 1  # one film, wanted by both lists
    assert films["The Matrix"][0]["wanted_by"] == 2
    assert page["candidates"][0]["film"]["tmdb_id"] == matrix.tmdb_id  # the intersection first
    assert page["total"] == 3  # The Matrix, Amélie, Leo
    # A round's films come from the same ranking: the film is offered once.
    ranking, _, _ = await _ranked(tmdb_app, sid)
    assert len(ranking) == 3


async def _ranked(client: Client, sid: str) -> tuple[list[int], Any, Any]:
    watchlists = services(client).watchlists
    async with services(client).engine.reader() as db:
        ranking, stored, waiting = await watchlists.ranked(db, uuid.UUID(sid))
    return [r.film_id for r in ranking.films], stored, waiting


async def test_bad_answers_are_counted_and_voting_never_waits(
    settings: Settings, tmdb_site: FakeTmdb, movies: dict[str, FakeMovie]
) -> None:
    tmdb_site.switches.broken[movies["broken"].tmdb_id] = {"runtime": -5}
    configured = provider_settings(settings, film_data="tmdb", tmdb_url=tmdb_site.base_url)
    async with served(configured, tmdb_site.key) as http:
        host = await create(http)
        ana, _ = await connect_member(http.live.ws_url, host["session_id"], host["token"])
        csv = lb_csv(("The Matrix", 1999, lid()), ("Heat", 1995, lid()), ("Leo", 2023, lid()))
        response = await upload(http, host["session_id"], host["token"], csv)
        assert response.status_code == 201
        await ana.next_type("candidates")
        event = await ana.next_type("films.enriched", timeout=10)
        await ana.close()
    assert (event["enriched"], event["unlinked"], event["skipped"], event["failed"]) == (1, 1, 1, 0)
    assert event["remaining"] == 0 and event["failure"] is None
    assert event["import_id"] == response.json()["import_id"]  # whose counts these are
    assert [f["title"] for f in event["films"]] == ["The Matrix"]
    assert event["films"][0]["runtime_minutes"] == 136


@pytest.mark.parametrize(("switch", "failure"), [("bad_key", "bad_key"), ("hang", "down")])
async def test_a_failing_provider_leaves_the_import_whole(
    switch: str, failure: str, settings: Settings, tmdb_site: FakeTmdb
) -> None:
    key = "wrong" if switch == "bad_key" else tmdb_site.key
    tmdb_site.switches.hang = switch == "hang"
    configured = provider_settings(settings, film_data="tmdb", tmdb_url=tmdb_site.base_url,
                                   film_data_timeout_s=0.2, film_data_attempts=1)  # fmt: skip
    films = [(f"Film number {n}", 2000, lid()) for n in range(2 * BATCH + 5)]
    async with served(configured, key) as client:
        host = await create(client)
        response = await upload(client, host["session_id"], host["token"], lb_csv(*films))
        assert response.status_code == 201  # the import does not wait for the provider
        page = await candidates(client, host["session_id"], host["token"], limit=200)
        assert page["total"] == len(films)
        (report,) = await services(client).films.wait()
    assert report.failure == failure
    assert report.enriched == 0
    assert report.failed == len(films)
    # A refused key, or a batch without one answer, stops the import's look-ups.
    assert len(tmdb_site.api_calls()) <= BATCH


@pytest.fixture
def kinopoisk_site(movies: dict[str, FakeMovie]) -> Iterator[FakeKinopoisk]:
    with fake_kinopoisk(list(movies.values())) as fake:
        yield fake


async def test_kinopoisk_enriches_an_imdb_list_with_russian_titles(
    settings: Settings, kinopoisk_site: FakeKinopoisk, movies: dict[str, FakeMovie]
) -> None:
    configured = provider_settings(settings, film_data="kinopoisk",
                                   kinopoisk_url=kinopoisk_site.base_url)  # fmt: skip
    matrix = movies["matrix"]
    async with served(configured, kinopoisk_site.key) as client:
        host = await create(client)
        sid = host["session_id"]
        await upload(client, sid, host["token"], imdb_csv(matrix), "list.csv")
        await settle(client)
        shown = (await candidates(client, sid, host["token"]))["candidates"][0]["film"]
        poster = await client.get(shown["poster_url"])
    assert shown["title"] == "The Matrix"  # the import's title stays
    assert shown["localized_title"] == "Матрица"
    assert shown["kinopoisk_id"] == matrix.kinopoisk_id and shown["tmdb_id"] is None
    assert shown["genres"] == ["боевик", "фантастика"]
    assert poster.status_code == 200 and poster.content == JPEG
    assert kinopoisk_site.api_calls("v2.2/films")[0].query == {"imdbId": matrix.imdb_id}


async def test_a_poster_the_server_did_not_keep_is_404(tmdb_app: Client) -> None:
    for name in ("0" * 32 + ".jpg", "..%2Fmaster.key", "x.svg"):
        response = await tmdb_app.get(f"/posters/{name}")
        assert response.status_code == 404
        assert response.json()["code"] in {"poster_not_found", "not_found"}


def test_a_provider_without_its_key_stops_start_up(tmp_path: Path, settings: Settings) -> None:
    for provider in ("tmdb", "kinopoisk"):
        configured = provider_settings(settings, film_data=provider)
        with pytest.raises(SettingsError, match=KEY_VARIABLE):
            create_app(configured, environ={})
    create_app(make_settings(tmp_path, settings.database_url), environ={})  # none needs no key


async def test_a_letterboxd_import_is_enriched_too(
    settings: Settings, tmdb_site: FakeTmdb, movies: dict[str, FakeMovie]
) -> None:
    tag = secrets.token_hex(4)
    user = FakeUser(films=[
        FakeFilm("The Matrix", 1999, f"the-matrix-{tag}", lid(), 9_000_001),
        FakeFilm("Leo", 2023, f"leo-2023-{tag}", lid(), 9_000_002),
    ])  # fmt: skip
    with letterboxd_site({"ana_scrapes": user}) as site:
        configured = provider_settings(
            settings, film_data="tmdb", tmdb_url=tmdb_site.base_url, letterboxd_url=site.base_url
        )
        async with served(configured, tmdb_site.key) as client:
            host = await create(client)
            ana, _ = await connect_member(client.live.ws_url, host["session_id"], host["token"])
            started = await client.post(
                f"/api/v1/sessions/{host['session_id']}/imports",
                json={"letterboxd": "ana_scrapes"},
                headers={"Authorization": f"Bearer {host['token']}"},
            )
            assert started.status_code == 202, started.text
            await ana.next_type("import.done", timeout=30)
            event = await ana.next_type("films.enriched", timeout=10)
            await ana.close()
    assert (event["enriched"], event["unlinked"]) == (1, 1)  # the two Leos stay apart
    (matrix,) = event["films"]
    assert matrix["tmdb_id"] == movies["matrix"].tmdb_id
    assert matrix["slug"] == f"the-matrix-{tag}"
    assert matrix["poster_url"].startswith("/posters/")


async def test_a_batch_that_cannot_be_written_does_not_stop_the_rest(
    tmdb_app: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database failing under one batch (here: refusing the connection) costs that batch."""
    enricher = services(tmdb_app).films
    real_write = enricher._write
    calls = 0

    async def failing_once(lookups: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionRefusedError("database unreachable")
        return await real_write(lookups)

    monkeypatch.setattr(enricher, "_write", failing_once)
    host = await create(tmdb_app)
    films = [("The Matrix", 1999, lid())] + [(f"Film {n}", 2000, lid()) for n in range(BATCH)]
    await upload(tmdb_app, host["session_id"], host["token"], lb_csv(*films))
    (report,) = await settle_reports(tmdb_app)
    assert calls == 2  # the second batch was still looked up and written
    assert report.unlinked == BATCH


async def settle_reports(client: Client) -> list[Any]:
    return await services(client).films.wait()


async def test_with_no_provider_an_import_asks_nobody(settings: Settings) -> None:
    assert settings.film_data == "none"
    async with served(settings, "") as client:
        host = await create(client)
        csv = lb_csv(("The Matrix", 1999, lid()))
        assert (await upload(client, host["session_id"], host["token"], csv)).status_code == 201
        assert await services(client).films.wait() == []  # no look-up was even started
        film = (await candidates(client, host["session_id"], host["token"]))["candidates"][0]
    assert film["film"]["tmdb_id"] is None and film["film"]["genres"] == []


async def test_a_slow_film_holds_back_neither_its_batch_nor_the_next(
    settings: Settings,
) -> None:
    """Look-ups flow: the cards of a batch fill in without waiting for its slowest film,
    and the next films are asked meanwhile (a 429's pause or a slow answer costs one card)."""
    films = [film(f"Quiet Film Number {n}", 2001) for n in range(2 * BATCH)]
    slow = films[1]
    others = {f.tmdb_id for f in films} - {slow.tmdb_id}
    with fake_tmdb(films) as site:
        site.switches.slow[slow.tmdb_id] = 60.0  # answered when the test releases it
        configured = provider_settings(settings, film_data="tmdb", tmdb_url=site.base_url,
                                       film_data_requests_per_second=500.0,
                                       film_data_timeout_s=120.0)  # fmt: skip
        async with served(configured, site.key) as http:
            host = await create(http)
            ana, _ = await connect_member(http.live.ws_url, host["session_id"], host["token"])
            csv = lb_csv(*((f.title, f.year, lid()) for f in films))
            assert (await upload(http, host["session_id"], host["token"], csv)).status_code == 201
            before: set[int] = set()  # batch by batch, the first event waited for the slow film
            while before != others:
                event = await ana.next_type("films.enriched", timeout=10)
                before.update(int(f["tmdb_id"]) for f in event["films"])
                assert event["remaining"] > 0
            site.release.set()
            after: set[int] = set()
            while event["remaining"]:
                event = await ana.next_type("films.enriched", timeout=10)
                after.update(int(f["tmdb_id"]) for f in event["films"])
            await ana.close()
    assert after == {slow.tmdb_id}
    assert event["enriched"] == len(films)


async def test_a_film_that_gets_no_answer_costs_only_that_film(settings: Settings) -> None:
    """One look-up timing out (``down``) holds new look-ups until another answers, then the
    flow goes on: the import is not stopped as it is for a provider that answers nobody."""
    films = [film(f"Gentle Film Number {n}", 2002) for n in range(BATCH + 5)]
    silent = films[3]
    with fake_tmdb(films) as site:
        site.switches.slow[silent.tmdb_id] = 5.0
        configured = provider_settings(settings, film_data="tmdb", tmdb_url=site.base_url,
                                       film_data_requests_per_second=500.0,
                                       film_data_timeout_s=2.0, film_data_attempts=1)  # fmt: skip
        async with served(configured, site.key) as http:
            host = await create(http)
            csv = lb_csv(*((f.title, f.year, lid()) for f in films))
            assert (await upload(http, host["session_id"], host["token"], csv)).status_code == 201
            (report,) = await services(http).films.wait()
            page = await candidates(http, host["session_id"], host["token"], limit=100)
    assert (report.enriched, report.failed, report.failure) == (len(films) - 1, 1, "down")
    bare = [c["film"]["title"] for c in page["candidates"] if c["film"]["tmdb_id"] is None]
    assert bare == [silent.title]


async def test_the_cards_shown_first_are_looked_up_first(settings: Settings) -> None:
    """A second member's list: the films on both lists are the top cards, so they are
    looked up before the rest of that list, though they come last on it."""
    shared = [film(f"Shared Film {n}", 2003) for n in range(5)]
    own_first = [film(f"First Member Film {n}", 2004) for n in range(5)]
    own_second = [film(f"Second Member Film {n}", 2005) for n in range(15)]
    lids = {f.tmdb_id: lid() for f in shared}
    shared_rows = [(f.title, f.year, lids[f.tmdb_id]) for f in shared]
    with fake_tmdb([*shared, *own_first, *own_second]) as site:
        configured = provider_settings(settings, film_data="tmdb", tmdb_url=site.base_url,
                                       film_data_requests_per_second=500.0,
                                       film_data_attempts=1)  # fmt: skip
        async with served(configured, site.key) as http:
            host = await create(http)
            ben = await join(http, host["invite_code"], "Ben")
            sid = host["session_id"]
            site.switches.quota = True  # the first list's look-ups stop at once: it stays bare
            first = lb_csv(*shared_rows, *((f.title, f.year, lid()) for f in own_first))
            assert (await upload(http, sid, host["token"], first)).status_code == 201
            (stopped,) = await services(http).films.wait()
            assert stopped.failure == "quota"
            site.switches.quota = False
            site.requests.clear()
            second = lb_csv(*((f.title, f.year, lid()) for f in own_second), *shared_rows)
            assert (await upload(http, sid, ben["token"], second)).status_code == 201
            (report,) = await services(http).films.wait()
    assert report.enriched == len(own_second) + len(shared)
    searched = [r.query["query"] for r in site.api_calls("search/")]
    assert set(searched[: len(shared)]) == {f.title for f in shared}, searched


def test_one_list_is_looked_up_in_its_own_order() -> None:
    assert shown_first([5, 3, 9, 1], []) == [5, 3, 9, 1]
    assert shown_first([5, 3, 9, 1], [5, 3, 9, 1]) == [5, 3, 9, 1]
    assert shown_first([5, 3, 9, 1], [7, 1, 9, 1, 8]) == [1, 9, 5, 3]  # 7, 8: other lists'


async def test_imports_running_at_once_ask_for_each_film_once(settings: Settings) -> None:
    """Two members upload the same films moments apart: the second import takes the
    first one's look-ups (under way, or done after it read the catalogue)."""
    films = [film(f"Twice Listed Film {n}", 2006) for n in range(8)]
    rows = [(f.title, f.year, lid()) for f in films]
    with fake_tmdb(films) as site:
        for movie in films:
            site.switches.slow[movie.tmdb_id] = 0.5  # both imports are under way at once
        configured = provider_settings(settings, film_data="tmdb", tmdb_url=site.base_url,
                                       film_data_requests_per_second=500.0)  # fmt: skip
        async with served(configured, site.key) as http:
            host = await create(http)
            ben = await join(http, host["invite_code"], "Ben")
            sid = host["session_id"]
            assert (await upload(http, sid, host["token"], lb_csv(*rows))).status_code == 201
            assert (await upload(http, sid, ben["token"], lb_csv(*rows))).status_code == 201
            reports = await services(http).films.wait()
    assert [r.enriched for r in reports] == [len(films), len(films)]
    asked = sorted(int(r.path.rsplit("/", 1)[1]) for r in site.api_calls("movie/"))
    assert asked == sorted(f.tmdb_id for f in films)
    assert len(site.api_calls("search/")) == len(films)
