"""Every session HTTP call, its errors, and what the database keeps — on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import create_async_engine

from server.db.models import InviteRow
from server.settings import Settings

Client = AsyncTestClient[Litestar]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create(
    client: Client, name: str = "Ana", title: str | None = "Friday film night"
) -> dict[str, Any]:
    response = await client.post("/api/v1/sessions", json={"host_name": name, "title": title})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def join(client: Client, code: str, name: str = "Ben", bot: bool = False) -> dict[str, Any]:
    response = await client.post(f"/api/v1/invites/{code}/join", json={"name": name, "bot": bot})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_host_creates_friends_preview_and_join_and_all_see_the_snapshot(
    client: Client,
) -> None:
    created = await create(client)
    assert set(created) == {"session_id", "member_id", "token", "invite_code", "invite_url"}
    assert created["invite_url"] == f"http://testserver.local/join/{created['invite_code']}"

    preview = await client.get(f"/api/v1/invites/{created['invite_code']}")
    assert preview.status_code == 200
    assert preview.json() == {
        "session_id": created["session_id"],
        "title": "Friday film night",
        "host_name": "Ana",
        "member_count": 1,
        "state": "lobby",
    }
    assert preview.headers["cache-control"] == "no-store"
    assert preview.headers["referrer-policy"] == "no-referrer"

    ben = await join(client, created["invite_code"], "Ben")
    bot = await join(client, created["invite_code"], "Robo", bot=True)
    assert ben["session_id"] == created["session_id"]

    snapshot = await client.get(
        f"/api/v1/sessions/{created['session_id']}", headers=bearer(ben["token"])
    )
    assert snapshot.status_code == 200
    body = snapshot.json()
    assert body["session_id"] == created["session_id"]
    assert body["host_id"] == created["member_id"]
    assert body["state"] == "lobby"
    assert body["seq"] == 3  # three member.joined events
    assert [(m["name"], m["host"], m["bot"]) for m in body["members"]] == [
        ("Ana", True, False),
        ("Ben", False, False),
        ("Robo", False, True),
    ]
    assert (await client.get(f"/api/v1/invites/{created['invite_code']}")).json()[
        "member_count"
    ] == 3
    assert bot["member_id"] not in {created["member_id"], ben["member_id"]}


async def test_a_session_without_title_gets_a_default(client: Client) -> None:
    created = await create(client, title=None)
    preview = await client.get(f"/api/v1/invites/{created['invite_code']}")
    assert preview.json()["title"] == "Film night"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"host_name": ""}, "name_empty"),
        ({"host_name": "   "}, "name_empty"),
        ({"host_name": "x" * 41}, "name_too_long"),
        ({"host_name": "a\x07b"}, "name_invalid"),
        ({"host_name": "Ana", "title": "t" * 81}, "title_too_long"),
        ({"host_name": 5}, "invalid_body"),
        ({}, "invalid_body"),
        ({"host_name": "Ana", "extra": 1}, "invalid_body"),
    ],
)
async def test_bad_session_bodies_get_stable_codes(
    client: Client, body: dict[str, Any], code: str
) -> None:
    response = await client.post("/api/v1/sessions", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert set(response.json()) == {"code", "message"}


async def test_malformed_and_oversized_bodies(client: Client, settings: Settings) -> None:
    response = await client.post(
        "/api/v1/sessions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["code"] in {"invalid_body", "bad_request"}
    huge = b'{"host_name": "' + b"a" * (settings.max_body_bytes + 10) + b'"}'
    response = await client.post(
        "/api/v1/sessions", content=huge, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"


@pytest.mark.parametrize("name", ["", "  ", "n" * 41, "bell\x07"])
async def test_bad_join_names_change_nothing(client: Client, name: str) -> None:
    created = await create(client)
    response = await client.post(
        f"/api/v1/invites/{created['invite_code']}/join", json={"name": name}
    )
    assert response.status_code == 400
    assert response.json()["code"].startswith("name_")
    preview = await client.get(f"/api/v1/invites/{created['invite_code']}")
    assert preview.json()["member_count"] == 1


async def test_unknown_revoked_and_expired_invites_are_one_indistinguishable_404(
    client: Client, settings: Settings
) -> None:
    created = await create(client)
    host = bearer(created["token"])
    sid = created["session_id"]
    revoked = (await client.post(f"/api/v1/sessions/{sid}/invites", json={}, headers=host)).json()
    expired = (
        await client.post(
            f"/api/v1/sessions/{sid}/invites", json={"expires_in_s": 3600}, headers=host
        )
    ).json()
    assert (
        await client.delete(f"/api/v1/sessions/{sid}/invites/{revoked['invite_id']}", headers=host)
    ).status_code == 204
    engine = create_async_engine(settings.database_url)
    async with engine.begin() as conn:
        await conn.execute(
            update(InviteRow)
            .where(InviteRow.id == uuid.UUID(expired["invite_id"]))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    await engine.dispose()

    answers = []
    for code in [
        "unknown-code-000000000",
        revoked["invite_code"],
        expired["invite_code"],
        "x" * 500,
    ]:
        look = await client.get(f"/api/v1/invites/{code}")
        joined = await client.post(f"/api/v1/invites/{code}/join", json={"name": "Eve"})
        answers.append((look.status_code, look.json(), joined.status_code, joined.json()))
    assert all(answer == answers[0] for answer in answers)
    assert answers[0][0] == 404 and answers[0][1]["code"] == "invite_not_found"
    # the session's first invite still works
    assert (await client.get(f"/api/v1/invites/{created['invite_code']}")).status_code == 200


async def test_member_cap_on_an_invite(client: Client) -> None:
    created = await create(client)
    invite = (
        await client.post(
            f"/api/v1/sessions/{created['session_id']}/invites",
            json={"max_members": 1},
            headers=bearer(created["token"]),
        )
    ).json()
    assert invite["max_members"] == 1
    await join(client, invite["invite_code"], "First")
    second = await client.post(
        f"/api/v1/invites/{invite['invite_code']}/join", json={"name": "Second"}
    )
    assert second.status_code == 409
    assert second.json()["code"] == "invite_full"
    listed = (
        await client.get(
            f"/api/v1/sessions/{created['session_id']}/invites", headers=bearer(created["token"])
        )
    ).json()
    assert [i["uses"] for i in listed] == [0, 1]
    assert all("invite_code" not in i for i in listed)


async def test_bad_invite_options(client: Client) -> None:
    created = await create(client)
    for body in ({"expires_in_s": 1}, {"max_members": 0}, {"max_members": "many"}):
        response = await client.post(
            f"/api/v1/sessions/{created['session_id']}/invites",
            json=body,
            headers=bearer(created["token"]),
        )
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_body"
    missing = await client.delete(
        f"/api/v1/sessions/{created['session_id']}/invites/{uuid.uuid4()}",
        headers=bearer(created["token"]),
    )
    assert missing.status_code == 404
    bad = await client.delete(
        f"/api/v1/sessions/{created['session_id']}/invites/not-a-uuid",
        headers=bearer(created["token"]),
    )
    assert bad.status_code == 404


async def test_auth_401_403_and_host_only_calls(client: Client) -> None:
    one = await create(client, "Ana")
    other = await create(client, "Zed")
    guest = await join(client, one["invite_code"], "Ben")
    sid = one["session_id"]

    assert (await client.get(f"/api/v1/sessions/{sid}")).status_code == 401
    assert (await client.get(f"/api/v1/sessions/{sid}", headers=bearer("nope"))).json()[
        "code"
    ] == "unauthorized"
    assert (
        await client.get(f"/api/v1/sessions/{sid}", headers={"Authorization": "Basic x"})
    ).status_code == 401
    wrong = await client.get(f"/api/v1/sessions/{sid}", headers=bearer(other["token"]))
    assert wrong.status_code == 403 and wrong.json()["code"] == "forbidden"

    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("DELETE", f"/api/v1/sessions/{sid}", None),
        ("POST", f"/api/v1/sessions/{sid}/invites", {}),
        ("GET", f"/api/v1/sessions/{sid}/invites", None),
    ]
    for method, path, body in calls:
        response = await client.request(method, path, json=body, headers=bearer(guest["token"]))
        assert response.status_code == 403, path
        assert response.json()["code"] == "host_only"
    # nothing changed
    snapshot = (await client.get(f"/api/v1/sessions/{sid}", headers=bearer(one["token"]))).json()
    assert snapshot["state"] == "lobby" and len(snapshot["members"]) == 2


async def test_leaving_destroys_the_seat_and_passes_the_host_role(client: Client) -> None:
    created = await create(client, "Ana")
    ben = await join(client, created["invite_code"], "Ben")
    bot = await join(client, created["invite_code"], "Robo", bot=True)
    sid = created["session_id"]

    assert (
        await client.delete(f"/api/v1/sessions/{sid}/members/me", headers=bearer(created["token"]))
    ).status_code == 204
    assert (
        await client.get(f"/api/v1/sessions/{sid}", headers=bearer(created["token"]))
    ).status_code == 401
    snapshot = (await client.get(f"/api/v1/sessions/{sid}", headers=bearer(ben["token"]))).json()
    assert snapshot["host_id"] == ben["member_id"]  # a human before a bot
    assert [m["name"] for m in snapshot["members"]] == ["Ben", "Robo"]

    # the new host can use host-only calls
    assert (
        await client.get(f"/api/v1/sessions/{sid}/invites", headers=bearer(ben["token"]))
    ).status_code == 200
    await client.delete(f"/api/v1/sessions/{sid}/members/me", headers=bearer(ben["token"]))
    snapshot = (await client.get(f"/api/v1/sessions/{sid}", headers=bearer(bot["token"]))).json()
    assert snapshot["host_id"] == bot["member_id"]
    # the last member leaving ends the session
    await client.delete(f"/api/v1/sessions/{sid}/members/me", headers=bearer(bot["token"]))
    assert (await client.get(f"/api/v1/invites/{created['invite_code']}")).status_code == 404


async def test_ending_a_session_closes_every_door(client: Client) -> None:
    created = await create(client)
    ben = await join(client, created["invite_code"])
    sid = created["session_id"]
    assert (
        await client.delete(f"/api/v1/sessions/{sid}", headers=bearer(created["token"]))
    ).status_code == 204
    assert (await client.get(f"/api/v1/invites/{created['invite_code']}")).status_code == 404
    assert (
        await client.get(f"/api/v1/sessions/{sid}", headers=bearer(ben["token"]))
    ).status_code == 401
    assert (
        await client.delete(f"/api/v1/sessions/{sid}", headers=bearer(created["token"]))
    ).status_code == 401


async def test_the_database_holds_only_hashes_of_codes_and_tokens(
    client: Client, settings: Settings
) -> None:
    created = await create(client)
    ben = await join(client, created["invite_code"])
    secrets = [created["token"], created["invite_code"], ben["token"]]
    engine = create_async_engine(settings.database_url)
    dump: list[str] = []
    async with engine.connect() as conn:
        for table in ["fn_session", "fn_member", "fn_invite", "fn_event", "fn_applied_command"]:
            rows = (await conn.execute(text(f"SELECT * FROM {table}"))).all()
            dump.extend(str(value) for row in rows for value in row)
    await engine.dispose()
    blob = "\n".join(dump)
    for secret in secrets:
        assert secret not in blob


async def test_rate_limits_answer_429_with_retry_after(tmp_path: Any, database_url: str) -> None:
    from server.app import create_app
    from tests.conftest import make_settings

    app = create_app(
        make_settings(tmp_path, database_url, invite_lookups_per_minute=3, joins_per_minute=2)
    )
    async with AsyncTestClient(app) as client:
        created = await create(client)
        statuses = [
            (await client.get(f"/api/v1/invites/guess{i:018d}")).status_code for i in range(5)
        ]
        assert statuses[:3] == [404, 404, 404]
        limited = await client.get(f"/api/v1/invites/{created['invite_code']}")
        assert limited.status_code == 429
        assert limited.json()["code"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        joins = [
            (
                await client.post(
                    f"/api/v1/invites/{created['invite_code']}/join", json={"name": f"P{i}"}
                )
            ).status_code
            for i in range(3)
        ]
        assert joins == [201, 201, 429]


async def test_operations_endpoints(client: Client) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {
        "database": True,
        "channels": True,
    }
    await create(client)
    metrics = (await client.get("/metrics")).text
    for name in [
        "filmnight_request_duration_seconds",
        "filmnight_requests_total",
        "filmnight_ws_connections",
        'filmnight_ws_frames_total{direction="out"}',
        'filmnight_ws_frames_total{direction="in"}',
        "filmnight_audit_operations_total",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
    ]:
        assert name in metrics, name
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/sessions" in schema["paths"]
    protocol = (await client.get("/api/v1/protocol/schema.json")).json()
    assert "Hello" in protocol["$defs"]


async def test_unknown_paths_and_methods_have_codes(client: Client) -> None:
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    wrong = await client.put("/api/v1/sessions")
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"


async def test_web_pages_carry_the_security_headers(client: Client) -> None:
    for path in ["/", "/join/some-code"]:
        response = await client.get(path)
        assert response.status_code == 200
        assert "text/html" in response.headers["content-type"]
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"
