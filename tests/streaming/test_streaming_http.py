"""Where to stream over HTTP, against the fake TMDb, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from server.db.models import FilmRow, StreamingChoiceRow
from server.session_engine import utcnow
from server.settings import Settings
from server.streaming.service import MAX_FILMS, MAX_SERVICES
from tests.filmdata.test_enrichment import (
    film,
    imdb_csv,
    lid,
    provider_settings,
    served,
    services,
    settle,
)
from tests.server.test_sessions_http import bearer, create, join
from tests.server.test_watchlists_http import candidates, lb_csv, upload
from tests.support.fake_kinopoisk import fake_kinopoisk
from tests.support.fake_provider import FakeMovie
from tests.support.fake_tmdb import FakeTmdb, fake_tmdb
from tests.support.wsclient import connect_member

Client = Any
NETFLIX, DISNEY, MUBI, APPLE, KION = 8, 337, 11, 2, 1803


@pytest.fixture
def movies() -> dict[str, FakeMovie]:
    return {
        "matrix": film(
            "The Matrix",
            1999,
            streaming=(
                ("US", "flatrate", (NETFLIX,)),
                ("US", "rent", (APPLE,)),
                ("GB", "buy", (APPLE,)),
            ),
        ),
        "amelie": film(
            "Amelie", 2001, streaming=(("US", "flatrate", (MUBI,)), ("GB", "flatrate", (NETFLIX,)))
        ),
        "heat": film("Heat", 1995, streaming=(("US", "rent", (APPLE,)), ("US", "buy", (APPLE,)))),
    }


@pytest.fixture
def tmdb_site(movies: dict[str, FakeMovie]) -> Iterator[FakeTmdb]:
    with fake_tmdb(list(movies.values())) as fake:
        yield fake


@pytest.fixture
async def app(settings: Settings, tmdb_site: FakeTmdb) -> AsyncIterator[Client]:
    configured = provider_settings(settings, film_data="tmdb", tmdb_url=tmdb_site.base_url)
    async with served(configured, tmdb_site.key) as client:
        yield client


async def night(client: Client) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A host and a guest with the same three films on their lists, details fetched."""
    host = await create(client)
    guest = await join(client, host["invite_code"])
    sid = host["session_id"]
    rows = lb_csv(("The Matrix", 1999, lid()), ("Amelie", 2001, lid()), ("Heat", 1995, lid()))
    for seat in (host, guest):
        assert (await upload(client, sid, seat["token"], rows)).status_code == 201
    await settle(client)
    return sid, host, guest


async def choose(client: Client, sid: str, token: str, region: str, ids: list[int]) -> Any:
    return await client.put(
        f"/api/v1/sessions/{sid}/streaming/me",
        json={"region": region, "services": ids},
        headers=bearer(token),
    )


async def availability(client: Client, sid: str, token: str, ids: list[str]) -> dict[str, Any]:
    response = await client.get(
        f"/api/v1/sessions/{sid}/streaming", params={"films": ",".join(ids)}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def film_ids(client: Client, sid: str, token: str) -> dict[str, str]:
    page = await candidates(client, sid, token)
    return {c["film"]["title"]: c["film"]["id"] for c in page["candidates"]}


def line(found: dict[str, Any]) -> list[tuple[str, int]]:
    return [(s["name"], s["members"]) for s in found["streams"]]


async def test_members_pick_services_and_see_who_can_stream_each_film(
    app: Client, tmdb_site: FakeTmdb
) -> None:
    sid, host, guest = await night(app)
    regions = await app.get(
        f"/api/v1/sessions/{sid}/streaming/regions", headers=bearer(host["token"])
    )
    assert regions.status_code == 200
    assert {"code": "US", "name": "United States of America"} in regions.json()["regions"]
    listed = await app.get(
        f"/api/v1/sessions/{sid}/streaming/services",
        params={"region": "US"},
        headers=bearer(guest["token"]),
    )
    assert listed.status_code == 200
    names = [s["name"] for s in listed.json()["services"]]
    assert names[:3] == ["Netflix", "Disney Plus", "Amazon Prime Video"]  # TMDb's order for US
    assert "Kion" not in names  # a Russian service

    ids = await film_ids(app, sid, host["token"])
    order = [ids["The Matrix"], ids["Amelie"], ids["Heat"]]
    before = await availability(app, sid, host["token"], order)
    assert (before["members"], before["choosing"], before["mine"]) == (2, 0, None)
    assert all(f["known"] and not f["everyone"] for f in before["films"])

    guest_ws, _ = await connect_member(app.live.ws_url, sid, guest["token"])
    saved = await choose(app, sid, host["token"], "US", [NETFLIX, MUBI, NETFLIX])
    assert saved.status_code == 200, saved.text
    assert saved.json() == {
        "region": "US",
        "services": [{"id": NETFLIX, "name": "Netflix"}, {"id": MUBI, "name": "MUBI"}],
    }
    event = await guest_ws.next_type("streaming.services")
    assert event["member_id"] == host["member_id"] and event["region"] == "US"
    assert event["services"] == [NETFLIX, MUBI] and event["seq"] > 0
    await guest_ws.close()
    assert (await choose(app, sid, guest["token"], "GB", [NETFLIX])).status_code == 200

    body = await availability(app, sid, host["token"], order)
    assert (body["members"], body["choosing"]) == (2, 2)
    assert body["mine"]["region"] == "US"
    matrix, amelie, heat = (next(f for f in body["films"] if f["film_id"] == i) for i in order)
    assert line(matrix) == [("Netflix", 1)] and not matrix["everyone"]  # not on Netflix UK
    assert (matrix["rent"], matrix["buy"]) == (["Apple TV"], [])  # the viewer's region, apart
    assert line(amelie) == [("MUBI", 1), ("Netflix", 1)] and amelie["everyone"]
    assert line(heat) == [] and not heat["everyone"] and heat["rent"] == ["Apple TV"]

    # The guest moves to the US: The Matrix is on Netflix for both of them.
    assert (await choose(app, sid, guest["token"], "US", [NETFLIX])).status_code == 200
    body = await availability(app, sid, guest["token"], order)
    matrix, amelie, _ = (next(f for f in body["films"] if f["film_id"] == i) for i in order)
    assert line(matrix) == [("Netflix", 2)] and matrix["everyone"]
    assert line(amelie) == [("MUBI", 1)] and not amelie["everyone"]
    assert amelie["other"] == []  # MUBI is the host's: not "nobody here has it"
    # The lists came from TMDb once, not per call.
    assert len(tmdb_site.api_calls("watch/providers/regions")) == 1
    regions_asked = [r.query["watch_region"] for r in tmdb_site.api_calls("watch/providers/movie")]
    assert sorted(regions_asked) == ["GB", "US"]


async def test_a_choice_is_checked_against_the_region_and_its_services(
    app: Client, tmdb_site: FakeTmdb
) -> None:
    host = await create(app)
    sid, token = host["session_id"], host["token"]

    async def refused(region: str, ids: list[int]) -> tuple[int, str]:
        response = await choose(app, sid, token, region, ids)
        return response.status_code, response.json()["code"]

    assert await refused("ZZ", [NETFLIX]) == (400, "unknown_region")
    assert await refused("us", [NETFLIX]) == (400, "unknown_region")
    assert await refused("USA", [NETFLIX]) == (400, "invalid_body")
    assert await refused("US", [KION]) == (400, "unknown_service")  # Russian only
    assert await refused("US", [999_999]) == (400, "unknown_service")
    asked = len(tmdb_site.requests)
    assert await refused("US", list(range(1, MAX_SERVICES + 2))) == (400, "too_many_services")
    assert len(tmdb_site.requests) == asked  # refused before asking anyone
    listed = await app.get(
        f"/api/v1/sessions/{sid}/streaming/services", params={"region": "XX"}, headers=bearer(token)
    )
    assert (listed.status_code, listed.json()["code"]) == (400, "unknown_region")
    for films, code in (
        (",".join(["1"] * (MAX_FILMS + 1)), "too_many_films"),
        ("1,abc", "bad_film_ids"),
        ("-3", "bad_film_ids"),
        ("0x1", "bad_film_ids"),
    ):
        got = await app.get(
            f"/api/v1/sessions/{sid}/streaming", params={"films": films}, headers=bearer(token)
        )
        assert (got.status_code, got.json().get("code")) == (400, code), (films[:20], got.text)
    anonymous = await app.get(f"/api/v1/sessions/{sid}/streaming/regions")
    assert anonymous.status_code == 401
    # Saving no services keeps the region and counts the member as not choosing.
    assert (await choose(app, sid, token, "RU", [])).status_code == 200
    body = await availability(app, sid, token, [])
    assert body["mine"] == {"region": "RU", "services": []} and body["choosing"] == 0


async def test_a_provider_that_fails_before_any_list_is_kept_is_told_plainly(
    app: Client, tmdb_site: FakeTmdb
) -> None:
    host = await create(app)
    sid, token = host["session_id"], host["token"]
    tmdb_site.switches.quota = True
    down = await app.get(f"/api/v1/sessions/{sid}/streaming/regions", headers=bearer(token))
    assert (down.status_code, down.json()["code"]) == (503, "streaming_unavailable")
    assert "tmdb-test-token" not in down.text
    tmdb_site.switches.quota = False
    assert (await choose(app, sid, token, "GB", [NETFLIX])).status_code == 200
    # Once kept, the lists outlive a provider outage.
    tmdb_site.switches.quota = True
    assert (await choose(app, sid, token, "GB", [NETFLIX, 119])).status_code == 200


async def test_broken_watch_providers_cost_only_the_offers(
    app: Client, tmdb_site: FakeTmdb, movies: dict[str, FakeMovie]
) -> None:
    tmdb_site.switches.broken[movies["heat"].tmdb_id] = {"watch/providers": "<html>"}
    tmdb_site.switches.broken[movies["amelie"].tmdb_id] = {
        "watch/providers": {"results": {"US": {"flatrate": [{"provider_id": "x"}]}, "??": []}}
    }
    sid, host, _ = await night(app)
    page = await candidates(app, sid, host["token"])
    runtimes = {c["film"]["title"]: c["film"]["runtime_minutes"] for c in page["candidates"]}
    assert runtimes == {"The Matrix": 100, "Amelie": 100, "Heat": 100}  # details kept
    ids = await film_ids(app, sid, host["token"])
    body = await availability(app, sid, host["token"], list(ids.values()))
    known = {f["film_id"]: f["known"] for f in body["films"]}
    assert known == {ids["The Matrix"]: True, ids["Amelie"]: True, ids["Heat"]: False}


async def test_choices_go_when_a_member_leaves_and_when_the_session_is_forgotten(
    app: Client,
) -> None:
    sid, host, guest = await night(app)
    for seat in (host, guest):
        assert (await choose(app, sid, seat["token"], "US", [NETFLIX])).status_code == 200
    engine = services(app).engine

    async def rows() -> list[uuid.UUID]:
        async with engine.reader() as db:
            found = await db.execute(
                select(StreamingChoiceRow.member_id).where(
                    StreamingChoiceRow.session_id == uuid.UUID(sid)
                )
            )
            return list(found.scalars())

    assert len(await rows()) == 2
    left = await app.delete(f"/api/v1/sessions/{sid}/members/me", headers=bearer(guest["token"]))
    assert left.status_code == 204
    assert await rows() == [uuid.UUID(host["member_id"])]
    body = await availability(app, sid, host["token"], [])
    assert (body["members"], body["choosing"]) == (1, 1)
    ended = await app.delete(f"/api/v1/sessions/{sid}", headers=bearer(host["token"]))
    assert ended.status_code == 204
    assert await rows() == []
    # A row that outlived its session (written by a process that stopped mid-way) is
    # removed by the retention sweep with the rest.
    async with engine.transaction() as tx:
        tx.db.add(
            StreamingChoiceRow(
                member_id=uuid.UUID(host["member_id"]),
                session_id=uuid.UUID(sid),
                region="US",
                services=[NETFLIX],
                updated_at=utcnow(),
            )
        )
    assert len(await rows()) == 1
    sweep = await services(app).watchlists.sweep_retention()
    assert sweep.forgotten >= 1
    assert await rows() == []
    async with engine.reader() as db:
        kept = (
            await db.execute(select(FilmRow.streaming).where(FilmRow.title == "Amelie"))
        ).scalars()
        assert any(value for value in kept)  # the public catalogue keeps the offers


@pytest.mark.parametrize("film_data", ["none", "kinopoisk"])
async def test_without_tmdb_every_streaming_call_says_it_needs_tmdb(
    settings: Settings, film_data: str
) -> None:
    with fake_kinopoisk([]) as kinopoisk:
        configured = provider_settings(
            settings, film_data=film_data, kinopoisk_url=kinopoisk.base_url
        )
        async with served(configured, kinopoisk.key) as client:
            host = await create(client)
            sid, auth = host["session_id"], bearer(host["token"])
            calls = [
                client.get(f"/api/v1/sessions/{sid}/streaming/regions", headers=auth),
                client.get(
                    f"/api/v1/sessions/{sid}/streaming/services",
                    params={"region": "US"},
                    headers=auth,
                ),
                client.put(
                    f"/api/v1/sessions/{sid}/streaming/me",
                    json={"region": "US", "services": [NETFLIX]},
                    headers=auth,
                ),
                client.get(
                    f"/api/v1/sessions/{sid}/streaming", params={"films": "1"}, headers=auth
                ),
            ]
            for call in calls:
                response = await call
                assert response.status_code == 409, response.text
                assert response.json()["code"] == "streaming_needs_tmdb"
        assert kinopoisk.requests == []


async def test_a_film_linked_across_lists_uses_whichever_row_has_offers(
    app: Client, movies: dict[str, FakeMovie]
) -> None:
    host = await create(app)
    guest = await join(app, host["invite_code"])
    sid = host["session_id"]
    matrix = movies["matrix"]
    assert (await upload(app, sid, host["token"], imdb_csv(matrix), "list.csv")).status_code == 201
    rows = lb_csv(("The Matrix", 1999, lid()))
    assert (await upload(app, sid, guest["token"], rows)).status_code == 201
    await settle(app)
    page = await candidates(app, sid, host["token"])
    assert [c["wanted_by"] for c in page["candidates"]] == [2]  # one film, both lists
    shown = int(page["candidates"][0]["film"]["id"])
    async with services(app).engine.transaction() as tx:
        linked = (
            await tx.db.execute(select(FilmRow).where(FilmRow.tmdb_id == matrix.tmdb_id))
        ).scalars()
        by_id = {row.id: row for row in linked}
        assert sorted(by_id) == [shown, *sorted(set(by_id) - {shown})] and len(by_id) == 2
        by_id[shown].streaming = None  # as for a row looked up before offers were kept
    for seat in (host, guest):
        assert (await choose(app, sid, seat["token"], "US", [NETFLIX])).status_code == 200
    body = await availability(app, sid, guest["token"], [str(shown)])
    assert [(f["film_id"], f["everyone"], line(f)) for f in body["films"]] == [
        (str(shown), True, [("Netflix", 2)])
    ]


async def test_saving_services_is_rate_limited_per_member(
    settings: Settings, tmdb_site: FakeTmdb
) -> None:
    configured = provider_settings(settings, film_data="tmdb", tmdb_url=tmdb_site.base_url,
                                   streaming_choices_per_minute=2)  # fmt: skip
    async with served(configured, tmdb_site.key) as client:
        host = await create(client)
        guest = await join(client, host["invite_code"])
        sid = host["session_id"]
        for _ in range(2):
            assert (await choose(client, sid, host["token"], "US", [NETFLIX])).status_code == 200
        refused = await choose(client, sid, host["token"], "US", [NETFLIX])
        assert (refused.status_code, refused.json()["code"]) == (429, "rate_limited")
        assert int(refused.headers["retry-after"]) > 0
        # Another member's own budget is untouched.
        assert (await choose(client, sid, guest["token"], "GB", [NETFLIX])).status_code == 200
