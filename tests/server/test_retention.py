"""Retention forgets people: after the sweep no name, chat line or import of an ended
session is anywhere in the database; counts and times stay.  SQLite and PostgreSQL.

The search is blind on purpose: every column of every table is read back and each
text, binary or JSON value searched for a canary string that only this test wrote
(as a member's name, in chat, as a command id, a party title and the session's
title), so a table or a payload added later cannot hide a name from it.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, insert, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.db.models import EventRow, ImportRow, MemberRow, SessionRow, StreamingChoiceRow
from server.session_engine import utcnow
from tests.conftest import LiveServer
from tests.server.test_watchlists_http import ALIEN, HEAT, lb_csv
from tests.support.wsclient import connect_member


async def places_holding(engine: AsyncEngine, needle: str) -> list[str]:
    """``table.column`` of every value in the database that contains ``needle``.

    Raw driver values (no column types applied), so nothing is decoded away.
    """
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        assert "fn_event" in tables and "fn_member" in tables
        found = []
        for table in tables:
            result = await conn.exec_driver_sql(f'SELECT * FROM "{table}"')
            columns = list(result.keys())
            for row in result:
                for column, value in zip(columns, row, strict=True):
                    if needle in _text(value):
                        found.append(f"{table}.{column}")
    return sorted(set(found))


KEPT_PER_SESSION = {"fn_session", "fn_member", "fn_invite"}
"""Tables whose rows of a forgotten session stay (counts and times, no names)."""


async def tables_holding_session(engine: AsyncEngine, session_id: uuid.UUID) -> list[str]:
    """Every table with a ``session_id`` column that still has rows of ``session_id``.

    Read from the models' metadata, so a session-scoped table added later is searched too
    (its values may hold nothing a canary can mark: a country code, service ids).
    """
    found = []
    async with engine.connect() as conn:
        for table in SessionRow.metadata.sorted_tables:
            column = table.columns.get("session_id")
            if column is None or table.name in KEPT_PER_SESSION:
                continue
            count = await conn.scalar(
                select(func.count()).select_from(table).where(column == session_id)
            )
            if count:
                found.append(table.name)
    return found


def _text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("latin-1")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value if isinstance(value, str) else ""


async def session_with_canary(live: LiveServer, canary: str) -> dict[str, Any]:
    """A session whose guest, chat, command id, party and title all carry ``canary``."""
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        created = await http.post(
            "/api/v1/sessions", json={"host_name": "Ana", "title": f"Night of {canary}"}
        )
        host = created.json()
        joined = await http.post(
            f"/api/v1/invites/{host['invite_code']}/join", json={"name": canary}
        )
        guest = joined.json()
        sid = host["session_id"]
        for seat, films in ((host, lb_csv(ALIEN, HEAT)), (guest, lb_csv(ALIEN))):
            uploaded = await http.post(
                f"/api/v1/sessions/{sid}/imports/csv",
                files={"file": ("watchlist.csv", films, "text/csv")},
                headers={"Authorization": f"Bearer {seat['token']}"},
            )
            assert uploaded.status_code == 201, uploaded.text
    ana, _ = await connect_member(live.ws_url, sid, host["token"])
    await ana.send({"type": "party.setup", "film_title": f"{canary} picks", "id": "setup-1"})
    await ana.recv_type("ack")
    guest_ws, _ = await connect_member(live.ws_url, sid, guest["token"])
    await guest_ws.send({"type": "chat", "text": f"hello, I am {canary}", "id": f"{canary}-c1"})
    await guest_ws.recv_type("ack")
    return {"sid": sid, "host": host, "guest": guest, "sockets": (ana, guest_ws)}


async def test_after_a_session_ends_the_sweep_leaves_no_trace_of_its_people(
    live: LiveServer, database_url: str
) -> None:
    canary = f"canary{uuid.uuid4().hex[:16]}"
    engine = create_async_engine(database_url)
    try:
        party = await session_with_canary(live, canary)
        sid = uuid.UUID(party["sid"])
        before = await places_holding(engine, canary)
        # The search can find it: names, chat, the command id, the party, the title.
        assert {"fn_member.name", "fn_event.payload", "fn_session.title"} <= set(before)
        assert {"fn_applied_command.command_id", "fn_party.state"} <= set(before)

        async with httpx.AsyncClient(base_url=live.base_url) as http:
            ended = await http.delete(
                f"/api/v1/sessions/{sid}",
                headers={"Authorization": f"Bearer {party['host']['token']}"},
            )
            assert ended.status_code == 204
        for ws in party["sockets"]:
            await ws.close()
        assert await places_holding(engine, canary)  # ending alone forgets nothing yet
        # A member's streaming services (a country and ids: nothing a canary marks), left
        # behind as by a process that stopped before its end hooks ran.
        async with engine.begin() as conn:
            await conn.execute(
                insert(StreamingChoiceRow).values(
                    member_id=uuid.UUID(party["guest"]["member_id"]), session_id=sid,
                    region="US", services=[8], updated_at=utcnow(),
                )
            )  # fmt: skip
        assert "fn_streaming_choice" in await tables_holding_session(engine, sid)

        sweep = await live.app.state.services.watchlists.sweep_retention()
        assert sweep.forgotten >= 1
        assert await places_holding(engine, canary) == []
        assert await tables_holding_session(engine, sid) == []

        # Counts and times are kept, without names.
        async with engine.connect() as conn:
            session = (await conn.execute(select(SessionRow).where(SessionRow.id == sid))).one()
            names = (
                await conn.execute(select(MemberRow.name).where(MemberRow.session_id == sid))
            ).scalars()
            events = (
                await conn.execute(select(EventRow.seq).where(EventRow.session_id == sid))
            ).all()
            imports = (
                await conn.execute(select(ImportRow.id).where(ImportRow.session_id == sid))
            ).all()
        assert session.state == "ended" and session.ended_at is not None and session.last_seq > 5
        assert sorted(names) == ["", ""]
        assert events == [] and imports == []
        # A second sweep has nothing left to do for it.
        again = await live.app.state.services.watchlists.sweep_retention()
        assert again.forgotten == 0
    finally:
        await engine.dispose()


async def test_an_idle_session_expires_then_is_forgotten(
    live: LiveServer, database_url: str
) -> None:
    canary = f"canary{uuid.uuid4().hex[:16]}"
    engine = create_async_engine(database_url)
    try:
        party = await session_with_canary(live, canary)
        sid = uuid.UUID(party["sid"])
        watchlists = live.app.state.services.watchlists
        await watchlists.sweep_retention()
        assert await places_holding(engine, canary)  # a live, active session is kept whole

        async with engine.begin() as conn:
            await conn.execute(
                update(SessionRow)
                .where(SessionRow.id == sid)
                .values(last_activity_at=utcnow() - timedelta(hours=25))
            )
        sweep = await watchlists.sweep_retention()
        assert sweep.expired >= 1 and sweep.forgotten >= 1
        for ws in party["sockets"]:
            ended = await ws.next_type("session.ended")
            assert ended["reason"] == "expired"
            assert await ws.close_code() == 4410
        assert await places_holding(engine, canary) == []
        async with httpx.AsyncClient(base_url=live.base_url) as http:
            refused = await http.get(
                f"/api/v1/sessions/{sid}",
                headers={"Authorization": f"Bearer {party['guest']['token']}"},
            )
        assert refused.status_code == 401
    finally:
        await engine.dispose()
