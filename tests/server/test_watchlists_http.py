"""Uploads, candidates, nominations and the encrypted store, over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import uuid
import zipfile
from datetime import timedelta
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import create_async_engine

from server.db.models import SessionRow, WatchlistRow
from server.session_engine import utcnow
from server.settings import Settings
from tests.conftest import LiveServer
from tests.server.test_sessions_http import bearer, create, join

Client = AsyncTestClient[Litestar]

HEADER = "Date,Name,Year,Letterboxd URI\n"


def lb_csv(*films: tuple[str, int | None, str]) -> bytes:
    """A watchlist.csv listing ``films`` newest first (each row dated a day before the last)."""
    rows = [HEADER]
    for title, year, lid in films:
        quoted = '"' + title.replace('"', '""') + '"'
        rows.append(f"2026-01-{29 - len(rows):02d},{quoted},{year or ''},https://boxd.it/{lid}\n")
    return "".join(rows).encode()


def lb_zip(watchlist: bytes, watched: bytes | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("letterboxd-someone-2026-11-20-utc/watchlist.csv", watchlist)
        if watched is not None:
            archive.writestr("letterboxd-someone-2026-11-20-utc/watched.csv", watched)
        archive.writestr("letterboxd-someone-2026-11-20-utc/ratings.csv", HEADER)
    return buffer.getvalue()


PARASITE = ("Parasite", 2019, "hTha")
ALIEN = ("Alien", 1979, "2b3S")
HEAT = ("Heat", 1995, "29Vo")
CROCODILE = ('"Crocodile" Dundee', 1986, "1m9k")
SOLARIS = ("Solaris", 1972, "1Qeq")


async def upload(
    client: Client, session_id: str, token: str, data: bytes, name: str = "watchlist.csv"
) -> Any:
    return await client.post(
        f"/api/v1/sessions/{session_id}/imports/csv",
        files={"file": (name, data, "text/csv")},
        headers=bearer(token),
    )


async def candidates(client: Client, session_id: str, token: str, **params: Any) -> Any:
    response = await client.get(
        f"/api/v1/sessions/{session_id}/candidates", params=params, headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
async def party(client: Client) -> dict[str, Any]:
    host = await create(client, "Ana")
    ben = await join(client, host["invite_code"], "Ben")
    cleo = await join(client, host["invite_code"], "Cleo")
    return {"sid": host["session_id"], "host": host, "ben": ben, "cleo": cleo}


async def test_uploads_make_candidates_intersection_first_and_waiting_members_named(
    client: Client, party: dict[str, Any]
) -> None:
    sid, host, ben, cleo = party["sid"], party["host"], party["ben"], party["cleo"]
    first = await upload(client, sid, host["token"], lb_csv(HEAT, PARASITE, ALIEN, CROCODILE))
    assert first.status_code == 201, first.text
    assert first.json() == {
        "import_id": first.json()["import_id"],
        "films": 4,
        "watched": 0,
        "skipped": 0,
        "skipped_lines": [],
        "source": "letterboxd_csv",
    }
    second = await upload(client, sid, ben["token"], lb_csv(SOLARIS, ALIEN, PARASITE))
    assert second.status_code == 201

    body = await candidates(client, sid, cleo["token"])
    assert body["member_count"] == 2
    assert body["waiting"] == [cleo["member_id"]]
    assert body["total"] == 5
    wanted = [(c["film"]["title"], c["wanted_by"]) for c in body["candidates"]]
    # On both lists first; within a group, the film both added most recently first.
    assert wanted[:2] == [("Alien", 2), ("Parasite", 2)]
    assert sorted(wanted[2:]) == [('"Crocodile" Dundee', 1), ("Heat", 1), ("Solaris", 1)]
    assert {c["film"]["year"] for c in body["candidates"]} == {2019, 1979, 1995, 1986, 1972}
    # The order is stable across calls.
    assert (await candidates(client, sid, host["token"]))["candidates"] == body["candidates"]
    page = await candidates(client, sid, host["token"], limit=2, offset=2)
    assert [c["film"]["title"] for c in page["candidates"]] == [t for t, _ in wanted[2:4]]

    snapshot = (await client.get(f"/api/v1/sessions/{sid}", headers=bearer(cleo["token"]))).json()
    states = {m["name"]: (m["import_state"], m["films"]) for m in snapshot["members"]}
    assert states == {"Ana": ("done", 4), "Ben": ("done", 3), "Cleo": ("none", None)}


async def test_candidates_follow_the_dates_added_not_the_files_row_order(
    client: Client, party: dict[str, Any]
) -> None:
    sid, host, ben = party["sid"], party["host"], party["ben"]
    oldest_first = (
        HEADER
        + "2026-01-01,Alien,1979,https://boxd.it/2b3S\n"
        + "2026-02-01,Heat,1995,https://boxd.it/29Vo\n"
        + "2026-03-01,Solaris,1972,https://boxd.it/1Qeq\n"
        + "some day,Parasite,2019,https://boxd.it/hTha\n"
    ).encode()
    assert (await upload(client, sid, host["token"], oldest_first)).status_code == 201
    body = await candidates(client, sid, ben["token"])
    titles = [c["film"]["title"] for c in body["candidates"]]
    assert titles == ["Solaris", "Heat", "Alien", "Parasite"]  # undated last


async def test_candidates_count_lists_and_members_so_everyone_means_every_member(
    client: Client, party: dict[str, Any]
) -> None:
    """One list of three members: its films are on every list so far, not on everyone's."""
    sid, host, ben, cleo = party["sid"], party["host"], party["ben"], party["cleo"]
    body = await candidates(client, sid, host["token"])
    assert (body["lists"], body["members"], body["member_count"]) == (0, 3, 0)
    await upload(client, sid, host["token"], lb_csv(HEAT, ALIEN))
    body = await candidates(client, sid, ben["token"])
    assert (body["lists"], body["members"], body["member_count"]) == (1, 3, 1)
    assert {c["wanted_by"] for c in body["candidates"]} == {1}  # on every list so far…
    assert body["members"] > body["lists"]  # …but not yet everyone's
    await upload(client, sid, ben["token"], lb_csv(ALIEN))
    await upload(client, sid, cleo["token"], lb_csv(ALIEN, SOLARIS))
    body = await candidates(client, sid, cleo["token"])
    assert (body["lists"], body["members"]) == (3, 3)
    alien = next(c for c in body["candidates"] if c["film"]["title"] == "Alien")
    assert alien["wanted_by"] == body["members"]  # now it is everyone's
    # a member who leaves takes their list: both counts go down together
    left = await client.delete(f"/api/v1/sessions/{sid}/members/me", headers=bearer(cleo["token"]))
    assert left.status_code == 204
    body = await candidates(client, sid, host["token"])
    assert (body["lists"], body["members"], body["waiting"]) == (2, 2, [])


async def test_a_new_upload_replaces_the_list_and_the_zip_leaves_out_watched_films(
    client: Client, party: dict[str, Any]
) -> None:
    sid, host, ben = party["sid"], party["host"], party["ben"]
    await upload(client, sid, host["token"], lb_csv(HEAT, PARASITE))
    await upload(client, sid, ben["token"], lb_csv(HEAT, PARASITE, ALIEN))
    archive = lb_zip(lb_csv(ALIEN, SOLARIS, PARASITE), watched=lb_csv(HEAT))
    replaced = await upload(client, sid, host["token"], archive, "letterboxd-ana-2026.zip")
    assert replaced.status_code == 201, replaced.text
    assert replaced.json()["source"] == "letterboxd_zip"
    assert (replaced.json()["films"], replaced.json()["watched"]) == (3, 1)
    body = await candidates(client, sid, ben["token"])
    titles = [c["film"]["title"] for c in body["candidates"]]
    assert "Heat" not in titles  # Ana has seen it
    assert titles[:2] == ["Alien", "Parasite"] or titles[:2] == ["Parasite", "Alien"]
    assert {c["film"]["title"]: c["wanted_by"] for c in body["candidates"]}["Solaris"] == 1


@pytest.mark.parametrize(
    ("data", "name", "status", "code"),
    [
        (b"Title,Year\nAlien,1979\n", "list.csv", 400, "invalid_source"),
        (b"\x00\x01binary junk\xff" * 10, "x.csv", 400, "invalid_source"),
        (
            HEADER.encode() + "Amélie,2001,https://boxd.it/abc\n".encode("latin-1"),
            "w.csv",
            400,
            "bad_encoding",
        ),
        (HEADER.encode(), "watchlist.csv", 400, "empty"),
        (b"x" * (1024 * 1024 + 1), "big.csv", 413, "too_large"),
    ],
    ids=["wrong-header", "binary", "latin-1", "empty", "over-limit"],
)
async def test_bad_uploads_get_a_typed_error_and_store_nothing(
    app: Litestar,
    client: Client,
    settings: Settings,
    party: dict[str, Any],
    data: bytes,
    name: str,
    status: int,
    code: str,
) -> None:
    app.state.services.watchlists.settings = msgspec.structs.replace(
        settings, upload_max_bytes=1024 * 1024
    )
    response = await upload(client, party["sid"], party["host"]["token"], data, name)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert (await candidates(client, party["sid"], party["host"]["token"]))["total"] == 0


async def test_unreadable_rows_are_reported_and_the_rest_imported(
    client: Client, party: dict[str, Any]
) -> None:
    data = (
        lb_csv(ALIEN, HEAT).decode()
        + "2026-01-09,No link,2001,\n"
        + "2026-01-10,Bad year,abcd,https://boxd.it/zzzz\n"
    ).encode()
    response = await upload(client, party["sid"], party["host"]["token"], data)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["films"], body["skipped"]) == (2, 2)
    assert body["skipped_lines"] == [4, 5]


async def test_calls_need_a_seat_in_this_session(client: Client, party: dict[str, Any]) -> None:
    other = await create(client, "Zed")
    sid = party["sid"]
    assert (await client.get(f"/api/v1/sessions/{sid}/candidates")).status_code == 401
    wrong = await client.get(f"/api/v1/sessions/{sid}/candidates", headers=bearer(other["token"]))
    assert wrong.status_code == 403
    assert (await upload(client, sid, other["token"], lb_csv(ALIEN))).status_code == 403


async def test_nominations_by_search_or_title_reach_the_candidates(
    client: Client, party: dict[str, Any]
) -> None:
    sid, host, ben = party["sid"], party["host"], party["ben"]
    await upload(client, sid, ben["token"], lb_csv(ALIEN, HEAT))
    found = await client.get(
        f"/api/v1/sessions/{sid}/films", params={"q": "ali"}, headers=bearer(host["token"])
    )
    # The catalogue is shared by every session (other tests may have added their own
    # "Alien"): the one to nominate is the film on Ben's list.
    listed = {c["film"]["id"] for c in (await candidates(client, sid, ben["token"]))["candidates"]}
    hits = [f for f in found.json()["films"] if f["id"] in listed]
    assert [f["title"] for f in hits] == ["Alien"]
    assert {f["title"] for f in found.json()["films"]} == {"Alien"}
    alien_id = hits[0]["id"]

    url = f"/api/v1/sessions/{sid}/nominations"
    by_id = await client.post(url, json={"film_id": alien_id}, headers=bearer(host["token"]))
    assert by_id.status_code == 201, by_id.text
    by_title = await client.post(
        url, json={"title": "Paris, Texas", "year": 1984}, headers=bearer(host["token"])
    )
    assert by_title.status_code == 201
    assert by_title.json()["title"] == "Paris, Texas"

    body = await candidates(client, sid, ben["token"])
    flags = {c["film"]["title"]: (c["wanted_by"], c["nominated"]) for c in body["candidates"]}
    assert flags == {"Alien": (1, True), "Heat": (1, False), "Paris, Texas": (0, True)}
    assert body["candidates"][-1]["film"]["title"] == "Paris, Texas"

    guest = await client.post(url, json={"film_id": alien_id}, headers=bearer(ben["token"]))
    assert (guest.status_code, guest.json()["code"]) == (403, "host_only")
    for bad, code in [
        ({"film_id": "999999"}, "film_not_found"),
        ({"film_id": "nope"}, "film_not_found"),
        ({"title": "  "}, "bad_title"),
        ({"title": "Evil\u202eTitle"}, "bad_title"),
        ({"title": "Old", "year": 1700}, "bad_year"),
        ({}, "invalid_body"),
        ({"film_id": alien_id, "title": "x"}, "invalid_body"),
    ]:
        response = await client.post(url, json=bad, headers=bearer(host["token"]))
        assert response.json()["code"] == code, bad
    long = await client.get(
        f"/api/v1/sessions/{sid}/films", params={"q": "x" * 101}, headers=bearer(host["token"])
    )
    assert long.json()["code"] == "query_too_long"


async def test_leaving_ending_and_retention_destroy_lists(
    live: LiveServer, database_url: str
) -> None:
    engine = create_async_engine(database_url)
    async with httpx.AsyncClient(base_url=live.base_url) as client:
        host = await create(client, "Ana")  # type: ignore[arg-type]
        ben = await join(client, host["invite_code"], "Ben")  # type: ignore[arg-type]
        cleo = await join(client, host["invite_code"], "Cleo")  # type: ignore[arg-type]
        sid = host["session_id"]
        for seat in (host, ben, cleo):
            await upload(client, sid, seat["token"], lb_csv(ALIEN, HEAT))  # type: ignore[arg-type]

        async def lists() -> int:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    select(WatchlistRow.member_id).where(WatchlistRow.session_id == uuid.UUID(sid))
                )
                return len(rows.all())

        try:
            assert await lists() == 3
            url = f"/api/v1/sessions/{sid}"
            gone = await client.delete(f"{url}/watchlist", headers=bearer(cleo["token"]))
            assert gone.status_code == 204
            assert await lists() == 2
            await client.delete(f"{url}/members/me", headers=bearer(ben["token"]))
            assert await lists() == 1
            body = (await client.get(f"{url}/candidates", headers=bearer(host["token"]))).json()
            assert body["member_count"] == 1

            watchlists = live.app.state.services.watchlists
            await watchlists.sweep_retention()
            assert await lists() == 1  # an active session keeps its lists
            async with engine.begin() as conn:
                await conn.execute(
                    update(SessionRow)
                    .where(SessionRow.id == uuid.UUID(sid))
                    .values(last_activity_at=utcnow() - timedelta(hours=25))
                )
            assert (await watchlists.sweep_retention()).expired >= 1
            assert await lists() == 0
            # The idle session expired: its seats are gone with it.
            late = await upload(client, sid, host["token"], lb_csv(ALIEN))  # type: ignore[arg-type]
            assert late.status_code == 401

            other = await create(client, "Dee")  # type: ignore[arg-type]
            sid = other["session_id"]
            await upload(client, sid, other["token"], lb_csv(ALIEN))  # type: ignore[arg-type]
            assert await lists() == 1
            await client.delete(f"/api/v1/sessions/{sid}", headers=bearer(other["token"]))
            assert await lists() == 0
        finally:
            await engine.dispose()


async def test_altered_or_moved_ciphertext_asks_the_member_to_import_again(
    client: Client, party: dict[str, Any], database_url: str
) -> None:
    sid, host, ben, cleo = party["sid"], party["host"], party["ben"], party["cleo"]
    for seat in (host, ben, cleo):
        assert (await upload(client, sid, seat["token"], lb_csv(ALIEN, HEAT))).status_code == 201
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            rows = {
                str(r.member_id): r
                for r in (await conn.execute(select(WatchlistRow))).all()
                if str(r.session_id) == sid
            }
            altered = bytearray(rows[host["member_id"]].ciphertext)
            altered[5] ^= 0x01
            await conn.execute(
                update(WatchlistRow)
                .where(WatchlistRow.member_id == uuid.UUID(host["member_id"]))
                .values(ciphertext=bytes(altered))
            )
            # Ben's envelope copied into Cleo's row: bound to Ben, so it must not open as Cleo's.
            moved = rows[ben["member_id"]]
            await conn.execute(
                update(WatchlistRow)
                .where(WatchlistRow.member_id == uuid.UUID(cleo["member_id"]))
                .values(
                    kid=moved.kid,
                    wrapped_key=moved.wrapped_key,
                    nonce=moved.nonce,
                    ciphertext=moved.ciphertext,
                )
            )
        body = await candidates(client, sid, ben["token"])
        assert body["member_count"] == 1  # only Ben's list still reads
        snapshot = (
            await client.get(f"/api/v1/sessions/{sid}", headers=bearer(ben["token"]))
        ).json()
        states = {m["name"]: (m["import_state"], m["import_reason"]) for m in snapshot["members"]}
        assert states == {
            "Ana": ("failed", "unreadable"),
            "Ben": ("done", None),
            "Cleo": ("failed", "unreadable"),
        }
        # Importing again works.
        assert (await upload(client, sid, host["token"], lb_csv(ALIEN))).status_code == 201
        assert (await candidates(client, sid, ben["token"]))["member_count"] == 2
    finally:
        await engine.dispose()


async def test_no_title_or_slug_in_any_row_linked_to_a_member(
    client: Client, party: dict[str, Any], database_url: str
) -> None:
    sid, host, ben = party["sid"], party["host"], party["ben"]
    await upload(client, sid, host["token"], lb_csv(PARASITE, ALIEN, CROCODILE))
    await upload(client, sid, ben["token"], lb_zip(lb_csv(PARASITE, SOLARIS), lb_csv(HEAT)))
    secrets = [b"Parasite", b"Alien", b"Crocodile", b"Solaris", b"Heat", b"hTha", b"2b3S"]
    linked = ["fn_watchlist", "fn_import", "fn_member", "fn_applied_command"]
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            for name in linked:
                table = WatchlistRow.metadata.tables[name]
                rows = await conn.execute(select(table).where(table.c.session_id == uuid.UUID(sid)))
                checked = 0
                for row in rows.all():
                    checked += 1
                    blob = repr(tuple(row)).encode() + b"".join(
                        bytes(v) for v in row if isinstance(v, bytes | memoryview)
                    )
                    for secret in secrets:
                        assert secret not in blob, (name, secret)
                assert checked or name == "fn_applied_command", name
    finally:
        await engine.dispose()


async def test_an_upload_needs_a_file(client: Client, party: dict[str, Any]) -> None:
    sid, host = party["sid"], party["host"]
    url = f"/api/v1/sessions/{sid}/imports/csv"
    no_file = await client.post(url, files={"other": (None, b"x")}, headers=bearer(host["token"]))
    assert (no_file.status_code, no_file.json()["code"]) == (400, "invalid_body"), no_file.json()
    assert "file" in no_file.json()["message"]
    form = await client.post(url, data={"file": "x"}, headers=bearer(host["token"]))
    assert (form.status_code, form.json()["code"]) == (400, "bad_request")
    as_json = await client.post(url, json={"file": "x"}, headers=bearer(host["token"]))
    assert as_json.status_code in (400, 415) and "code" in as_json.json()


async def test_imports_are_rate_limited_per_member(settings: Settings) -> None:
    from server.app import create_app

    limited = create_app(msgspec.structs.replace(settings, imports_per_minute=2))
    async with AsyncTestClient(limited, base_url="http://testserver.local") as client:
        host = await create(client, "Ana")
        ben = await join(client, host["invite_code"], "Ben")
        sid = host["session_id"]
        answers = [
            (await upload(client, sid, ben["token"], lb_csv(ALIEN))).status_code for _ in range(3)
        ]
        assert answers == [201, 201, 429]
        other = await client.post(
            f"/api/v1/sessions/{sid}/imports",
            json={"letterboxd": "someone"},
            headers=bearer(ben["token"]),
        )
        assert (other.status_code, other.json()["code"]) == (429, "rate_limited")
        # Another member has their own allowance.
        assert (await upload(client, sid, host["token"], lb_csv(ALIEN))).status_code == 201


async def test_refused_uploads_count_toward_the_import_limit(settings: Settings) -> None:
    from server.app import create_app

    limited = create_app(
        msgspec.structs.replace(settings, imports_per_minute=2, upload_max_bytes=1024)
    )
    async with AsyncTestClient(limited, base_url="http://testserver.local") as client:
        host = await create(client, "Ana")
        sid, token = host["session_id"], host["token"]
        not_an_export = await upload(client, sid, token, b"Title,Year\nAlien,1979\n")
        assert (not_an_export.status_code, not_an_export.json()["code"]) == (400, "invalid_source")
        too_big = await upload(client, sid, token, lb_csv(ALIEN) + b"x" * 2048)
        assert (too_big.status_code, too_big.json()["code"]) == (413, "too_large")
        valid = await upload(client, sid, token, lb_csv(ALIEN))
        assert (valid.status_code, valid.json()["code"]) == (429, "rate_limited")
