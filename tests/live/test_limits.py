"""Limits for tonight over HTTP and the socket: events, snapshot, bad input, rounds, retention."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from server.db.models import SessionRow
from tests.conftest import LiveServer
from tests.live.test_party import command
from tests.live.test_socket import http_create, http_join
from tests.server.test_watchlists_http import ALIEN, HEAT, PARASITE, SOLARIS, lb_csv, lb_zip
from tests.support.wsclient import connect_member

IMDB_HEADER = (
    "Position,Const,Created,Modified,Description,Title,URL,Title Type,IMDb Rating,"
    "Runtime (mins),Year,Genres,Num Votes,Release Date,Directors\n"
)
# title, tt id, runtime, year, genres
IMDB_FILMS = {
    "Alien": ("tt0078748", 117, 1979, "Horror, Sci-Fi"),
    "Heat": ("tt0113277", 170, 1995, "Crime, Drama"),
    "Parasite": ("tt6751668", 132, 2019, "Comedy, Drama, Thriller"),
    "Amélie": ("tt0211915", 122, 2001, "Comedy, Romance"),
    "Short Cuts": ("tt0108122", 188, 1993, "Comedy, Drama"),
}


def imdb_csv(*titles: str) -> bytes:
    rows = [IMDB_HEADER]
    for n, title in enumerate(titles, start=1):
        const, runtime, year, genres = IMDB_FILMS[title]
        rows.append(
            f'{n},{const},2024-01-{29 - n:02d},,,"{title}",u,movie,8,{runtime},{year},'
            f'"{genres}",1,{year}-01-01,Someone\n'
        )
    return "".join(rows).encode()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def upload(live: LiveServer, sid: str, token: str, data: bytes, name: str) -> None:
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        response = await http.post(
            f"/api/v1/sessions/{sid}/imports/csv",
            files={"file": (name, data, "text/csv")},
            headers=auth(token),
        )
        assert response.status_code == 201, response.text


async def put_limits(live: LiveServer, sid: str, token: str, body: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        return await http.put(f"/api/v1/sessions/{sid}/limits", json=body, headers=auth(token))


async def get_json(live: LiveServer, path: str, token: str) -> Any:
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        response = await http.get(path, headers=auth(token))
        assert response.status_code == 200, response.text
        return response.json()


async def imdb_room(live: LiveServer) -> tuple[str, dict[str, Any], dict[str, Any]]:
    host = await http_create(live, "Ana")
    ben = await http_join(live, host["invite_code"], "Ben")
    sid = host["session_id"]
    everything = imdb_csv("Alien", "Heat", "Parasite", "Amélie", "Short Cuts")
    await upload(live, sid, host["token"], everything, "ana.csv")
    await upload(live, sid, ben["token"], everything, "ben.csv")
    return sid, host, ben


async def test_the_host_sets_limits_and_every_member_sees_them_and_fewer_candidates(
    live: LiveServer,
) -> None:
    sid, host, ben = await imdb_room(live)
    before = await get_json(live, f"/api/v1/sessions/{sid}/limits", ben["token"])
    assert before["limits"] == {
        "max_runtime_minutes": None,
        "exclude_genres": [],
        "year_from": None,
        "year_to": None,
    }
    # the genres to pick from are the ones tonight's films have (from the IMDb export)
    assert before["genres"] == [
        "Comedy", "Crime", "Drama", "Horror", "Romance", "Sci-Fi", "Thriller",
    ]  # fmt: skip
    assert before["left_out"] == 0
    ws, _ = await connect_member(live.ws_url, sid, ben["token"])
    try:
        await ws.quiet(0.2)
        wanted = {"max_runtime_minutes": 150, "exclude_genres": ["horror"], "year_from": 1990}
        response = await put_limits(live, sid, host["token"], wanted)
        assert response.status_code == 200, response.text
        limits = {
            "max_runtime_minutes": 150,
            "exclude_genres": ["Horror"],  # spelled as the films spell it
            "year_from": 1990,
            "year_to": None,
        }
        assert response.json()["limits"] == limits
        assert response.json()["left_out"] == 3  # Alien (horror, 1979), Heat, Short Cuts
        event = await ws.next_type("limits")
        assert event["limits"] == limits and event["by"] == host["member_id"]
        assert isinstance(event["seq"], int)
        candidates = await ws.next_type("candidates")
        assert candidates["left_out"] == 3
        titles = sorted(c["film"]["title"] for c in candidates["candidates"])
        assert titles == ["Amélie", "Parasite"]
    finally:
        await ws.close()
    body = await get_json(live, f"/api/v1/sessions/{sid}/candidates", ben["token"])
    assert (body["total"], body["left_out"]) == (2, 3)
    # a member who comes back finds the limits in the welcome snapshot
    again, welcome = await connect_member(live.ws_url, sid, ben["token"])
    await again.close()
    assert welcome is not None and welcome["session"]["limits"] == limits
    snap = await get_json(live, f"/api/v1/sessions/{sid}", host["token"])
    assert snap["limits"] == limits

    # clearing them brings every film back
    cleared = await put_limits(live, sid, host["token"], {})
    assert cleared.status_code == 200 and cleared.json()["left_out"] == 0
    body = await get_json(live, f"/api/v1/sessions/{sid}/candidates", ben["token"])
    assert (body["total"], body["left_out"]) == (5, 0)


async def test_a_rounds_shortlist_respects_the_limits_and_says_which(live: LiveServer) -> None:
    sid, host, _ben = await imdb_room(live)
    response = await put_limits(live, sid, host["token"], {"max_runtime_minutes": 125})
    assert response.status_code == 200, response.text
    ws, _ = await connect_member(live.ws_url, sid, host["token"])
    try:
        reply = await command(ws, {"type": "round.start", "mode": "poll", "size": 10}, "s1")
        assert reply["type"] == "ack", reply
        started = await ws.next_type("round.started")
        assert sorted(f["title"] for f in started["films"]) == ["Alien", "Amélie"]
        assert all(f["runtime_minutes"] <= 125 for f in started["films"])
        assert started["limits"]["max_runtime_minutes"] == 125
        close = {"type": "round.close", "round_id": started["round_id"]}
        assert (await command(ws, close, "c1"))["type"] == "ack"
        # a round of films the host names is the host's choice: no limits claimed
        named = [f["id"] for f in started["films"]]
        reply = await command(ws, {"type": "round.start", "mode": "poll", "films": named}, "s2")
        assert reply["type"] == "ack", reply
        assert (await ws.next_type("round.started"))["limits"] is None
    finally:
        await ws.close()


async def test_bad_limits_get_stable_codes_and_change_nothing(live: LiveServer) -> None:
    sid, host, ben = await imdb_room(live)
    assert (await put_limits(live, sid, host["token"], {"year_to": 2000})).status_code == 200
    cases = [
        ({"max_runtime_minutes": 0}, 400, "bad_runtime"),
        ({"max_runtime_minutes": -5}, 400, "bad_runtime"),
        ({"max_runtime_minutes": 100000}, 400, "bad_runtime"),
        ({"year_from": 2010, "year_to": 1990}, 400, "bad_years"),
        ({"year_from": 30000}, 400, "bad_years"),
        ({"exclude_genres": ["Western"]}, 400, "unknown_genre"),
        ({"exclude_genres": [f"g{n}" for n in range(21)]}, 400, "too_many_genres"),
        ({"max_runtime_minutes": "long"}, 400, "invalid_body"),
        ({"runtime": 90}, 400, "invalid_body"),
    ]
    for body, status, code in cases:
        response = await put_limits(live, sid, host["token"], body)
        assert (response.status_code, response.json()["code"]) == (status, code), body
    refused = await put_limits(live, sid, ben["token"], {"max_runtime_minutes": 90})
    assert (refused.status_code, refused.json()["code"]) == (403, "host_only")
    unchanged = await get_json(live, f"/api/v1/sessions/{sid}/limits", ben["token"])
    assert unchanged["limits"]["year_to"] == 2000
    assert unchanged["limits"]["max_runtime_minutes"] is None


async def test_limits_and_films_already_seen_work_together_without_film_details(
    live: LiveServer,
) -> None:
    """Letterboxd exports only: no runtime or genre, but years; watched.csv still counts."""
    host = await http_create(live, "Ana")
    ben = await http_join(live, host["invite_code"], "Ben")
    sid = host["session_id"]
    archive = lb_zip(lb_csv(ALIEN, SOLARIS, PARASITE), watched=lb_csv(HEAT))
    await upload(live, sid, host["token"], archive, "letterboxd-ana.zip")
    await upload(live, sid, ben["token"], lb_csv(HEAT, PARASITE, SOLARIS, ALIEN), "w.csv")
    view = await get_json(live, f"/api/v1/sessions/{sid}/limits", ben["token"])
    assert view["genres"] == []  # no film has genres: nothing to leave out by genre
    response = await put_limits(
        live, sid, host["token"], {"year_from": 1975, "max_runtime_minutes": 100}
    )
    assert response.status_code == 200, response.text
    body = await get_json(live, f"/api/v1/sessions/{sid}/candidates", ben["token"])
    titles = [c["film"]["title"] for c in body["candidates"]]
    # Heat: Ana has seen it (not counted as left out); Solaris (1972): before 1975;
    # runtimes are unknown, so the runtime bound leaves nothing out.
    assert sorted(titles) == ["Alien", "Parasite"]
    assert body["left_out"] == 1
    with_unknown = await put_limits(live, sid, host["token"], {"exclude_genres": ["Drama"]})
    assert with_unknown.json()["code"] == "unknown_genre"


async def test_the_retention_sweep_forgets_an_ended_sessions_limits(live: LiveServer) -> None:
    sid, host, _ben = await imdb_room(live)
    assert (await put_limits(live, sid, host["token"], {"year_to": 2000})).status_code == 200
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        ended = await http.delete(f"/api/v1/sessions/{sid}", headers=auth(host["token"]))
        assert ended.status_code == 204
    services = live.app.state.services
    await services.watchlists.sweep_retention()
    async with services.engine.reader() as db:
        stored = (
            await db.execute(select(SessionRow.limits).where(SessionRow.id == uuid.UUID(sid)))
        ).scalar_one()
    assert stored is None
