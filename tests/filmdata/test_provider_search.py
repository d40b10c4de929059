"""Searching the provider to nominate a film nobody listed: TMDb and Kinopoisk fakes,
the per-member rate limit, failing providers, and ``film_data = "none"``."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from server.settings import Settings
from tests.filmdata.test_enrichment import Client, film, provider_settings, served
from tests.server.test_sessions_http import bearer, create, join
from tests.server.test_watchlists_http import candidates
from tests.support.fake_kinopoisk import FakeKinopoisk, fake_kinopoisk
from tests.support.fake_provider import PNG, FakeMovie
from tests.support.fake_tmdb import FakeTmdb, fake_tmdb


@pytest.fixture
def word() -> str:
    """A title word only this test's films have (the catalogue outlives a test)."""
    return "Q" + secrets.token_hex(4)


@pytest.fixture
def movies(word: str) -> dict[str, FakeMovie]:
    return {
        "night": film(
            f"Night {word}",
            1991,
            title_ru=f"Ночь {word}",
            runtime=101,
            genres=("Horror",),
            poster=PNG,
        ),
        "day": film(f"Day {word}", 2005, runtime=95, genres=("Comedy",), poster=None),
    }


@pytest.fixture
def tmdb_site(movies: dict[str, FakeMovie]) -> Iterator[FakeTmdb]:
    with fake_tmdb(list(movies.values())) as fake:
        yield fake


@pytest.fixture
def kinopoisk_site(movies: dict[str, FakeMovie]) -> Iterator[FakeKinopoisk]:
    with fake_kinopoisk(list(movies.values())) as fake:
        yield fake


@pytest.fixture
async def tmdb_app(settings: Settings, tmdb_site: FakeTmdb) -> AsyncIterator[Client]:
    configured = provider_settings(settings, film_data="tmdb", tmdb_url=tmdb_site.base_url,
                                   film_data_timeout_s=0.3, film_data_attempts=1,
                                   provider_searches_per_minute=4)  # fmt: skip
    async with served(configured, tmdb_site.key) as client:
        yield client


async def search(client: Client, sid: str, token: str, q: str) -> Any:
    return await client.get(
        f"/api/v1/sessions/{sid}/films/provider", params={"q": q}, headers=bearer(token)
    )


async def nominate(client: Client, sid: str, token: str, body: dict[str, Any]) -> Any:
    return await client.post(
        f"/api/v1/sessions/{sid}/nominations", json=body, headers=bearer(token)
    )


async def test_the_host_finds_a_film_nobody_listed_and_nominates_it_with_its_details(
    tmdb_app: Client, tmdb_site: FakeTmdb, movies: dict[str, FakeMovie], word: str
) -> None:
    host = await create(tmdb_app)
    sid, token = host["session_id"], host["token"]
    # nothing in the catalogue has it: the local search is empty, the provider's is not
    local = await tmdb_app.get(f"/api/v1/sessions/{sid}/films", params={"q": f"night {word}"},
                               headers=bearer(token))  # fmt: skip
    assert local.json() == {"films": []}
    response = await search(tmdb_app, sid, token, f"night {word}")
    assert response.status_code == 200, response.text
    answer = response.json()
    night = movies["night"]
    assert (answer["provider"], answer["failure"], answer["message"]) == ("tmdb", None, None)
    [hit] = answer["films"]
    assert (hit["provider"], hit["provider_id"], hit["title"], hit["year"]) == (
        "tmdb", night.tmdb_id, night.title, 1991,
    )  # fmt: skip
    # the poster comes from our own origin, kept by the server
    assert hit["poster_url"].startswith("/posters/")
    poster = await tmdb_app.get(hit["poster_url"])
    assert poster.status_code == 200 and poster.content == PNG
    # what the member typed is what went to the provider, nothing else of theirs
    [call] = tmdb_site.api_calls("search/movie")
    assert call.query["query"] == f"night {word}"

    nominated = await nominate(tmdb_app, sid, token, {"provider_id": night.tmdb_id})
    assert nominated.status_code == 201, nominated.text
    film_body = nominated.json()
    assert (film_body["title"], film_body["runtime_minutes"], film_body["genres"]) == (
        night.title, 101, ["Horror"],
    )  # fmt: skip
    assert film_body["tmdb_id"] == night.tmdb_id and film_body["poster_url"] == hit["poster_url"]
    page = await candidates(tmdb_app, sid, token)
    assert [(c["film"]["id"], c["nominated"]) for c in page["candidates"]] == [
        (film_body["id"], True)
    ]
    # once in the catalogue, it is found locally and nominated again as the same film
    again = await nominate(tmdb_app, sid, token, {"provider_id": night.tmdb_id})
    assert again.json()["id"] == film_body["id"]
    found = await tmdb_app.get(f"/api/v1/sessions/{sid}/films", params={"q": f"night {word}"},
                               headers=bearer(token))  # fmt: skip
    assert [f["id"] for f in found.json()["films"]] == [film_body["id"]]


async def test_provider_search_is_rate_limited_per_member(tmdb_app: Client, word: str) -> None:
    host = await create(tmdb_app)
    sid = host["session_id"]
    guest = await join(tmdb_app, host["invite_code"], "Ben")
    for _ in range(4):
        assert (await search(tmdb_app, sid, host["token"], word)).status_code == 200
    limited = await search(tmdb_app, sid, host["token"], word)
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    # nominating a provider's film draws on the same budget
    refused = await nominate(tmdb_app, sid, host["token"], {"provider_id": 1})
    assert (refused.status_code, refused.json()["code"]) == (429, "rate_limited")
    # another member has a budget of their own; blank and over-long queries cost nothing
    assert (await search(tmdb_app, sid, guest["token"], word)).status_code == 200
    blank = await search(tmdb_app, sid, guest["token"], "   ")
    assert blank.status_code == 200 and blank.json()["films"] == []
    long = await search(tmdb_app, sid, guest["token"], "x" * 101)
    assert (long.status_code, long.json()["code"]) == (400, "query_too_long")
    for _ in range(3):
        assert (await search(tmdb_app, sid, guest["token"], word)).status_code == 200


@pytest.mark.parametrize(
    ("switch", "failure"),
    [("quota", "quota"), ("hang", "down"), ("html", "malformed"), ("key", "bad_key")],
)
async def test_a_failing_provider_leaves_the_local_search_and_says_why_in_plain_words(
    settings: Settings, tmdb_site: FakeTmdb, word: str, switch: str, failure: str
) -> None:
    configured = provider_settings(settings, film_data="tmdb", tmdb_url=tmdb_site.base_url,
                                   film_data_timeout_s=0.3, film_data_attempts=1)  # fmt: skip
    key = "not-the-key" if switch == "key" else tmdb_site.key
    if switch != "key":
        setattr(tmdb_site.switches, switch, True)
    async with served(configured, key) as client:
        host = await create(client)
        sid, token = host["session_id"], host["token"]
        created = await nominate(client, sid, token, {"title": f"Home movie {word}", "year": 2020})
        assert created.status_code == 201
        answer = await search(client, sid, token, word)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["films"], body["failure"]) == ([], failure)
        assert "only films already here are found" in body["message"]
        assert key not in body["message"] and "http" not in body["message"].lower()
        local = await client.get(f"/api/v1/sessions/{sid}/films", params={"q": word},
                                 headers=bearer(token))  # fmt: skip
        assert [f["title"] for f in local.json()["films"]] == [f"Home movie {word}"]
        refused = await nominate(client, sid, token, {"provider_id": 12345})
        assert (refused.status_code, refused.json()["code"]) == (502, "film_data_failed")
        tmdb_site.switches.hang = False


async def test_kinopoisk_search_finds_russian_titles_and_nominates_by_kinopoisk_id(
    settings: Settings, kinopoisk_site: FakeKinopoisk, movies: dict[str, FakeMovie], word: str
) -> None:
    configured = provider_settings(settings, film_data="kinopoisk",
                                   kinopoisk_url=kinopoisk_site.base_url)  # fmt: skip
    night = movies["night"]
    async with served(configured, kinopoisk_site.key) as client:
        host = await create(client)
        sid, token = host["session_id"], host["token"]
        body = (await search(client, sid, token, f"ночь {word}")).json()
        assert body["provider"] == "kinopoisk"
        [hit] = body["films"]
        assert (hit["provider_id"], hit["title"], hit["runtime_minutes"]) == (
            night.kinopoisk_id, f"Ночь {word}", 101,
        )  # fmt: skip
        poster = await client.get(hit["poster_url"])
        assert poster.status_code == 200
        assert kinopoisk_site.api_calls("v2.1/films/search-by-keyword")[0].query["keyword"] == (
            f"ночь {word}"
        )
        nominated = await nominate(client, sid, token, {"provider_id": night.kinopoisk_id})
        assert nominated.status_code == 201, nominated.text
        assert nominated.json()["kinopoisk_id"] == night.kinopoisk_id
        assert nominated.json()["genres"] == ["ужасы"]
        unknown = await nominate(client, sid, token, {"provider_id": 999_999_999})
        assert (unknown.status_code, unknown.json()["code"]) == (404, "film_not_found")
        guest = await join(client, host["invite_code"], "Ben")
        refused = await nominate(client, sid, guest["token"], {"provider_id": night.kinopoisk_id})
        assert (refused.status_code, refused.json()["code"]) == (403, "host_only")
        both = await nominate(client, sid, token, {"provider_id": 1, "title": "X"})
        assert (both.status_code, both.json()["code"]) == (400, "invalid_body")


async def test_without_a_provider_the_search_asks_nobody_and_is_not_limited(
    client: Any, settings: Settings
) -> None:
    assert settings.film_data == "none"
    host = await create(client)
    sid, token = host["session_id"], host["token"]
    for _ in range(settings.provider_searches_per_minute + 2):
        response = await search(client, sid, token, "anything")
        assert response.status_code == 200
        assert response.json() == {"provider": "none", "films": [], "failure": None,
                                   "message": None}  # fmt: skip
    refused = await nominate(client, sid, token, {"provider_id": 603})
    assert (refused.status_code, refused.json()["code"]) == (409, "no_film_data")
