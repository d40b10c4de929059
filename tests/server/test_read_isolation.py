"""Reads on PostgreSQL run in autocommit (no BEGIN/ROLLBACK round trips); writes do not."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.app import build_services
from server.db.models import SessionRow
from tests.conftest import make_settings


async def _in_transaction(conn: AsyncConnection) -> bool:
    """Is the driver's connection inside a transaction now (asyncpg's own view)?"""
    raw = await conn.get_raw_connection()
    return bool(raw.driver_connection.is_in_transaction())  # type: ignore[union-attr]


async def test_reads_on_postgres_run_outside_a_transaction_and_writes_inside_one(
    tmp_path: Path, postgres_url: str
) -> None:
    settings = make_settings(tmp_path, postgres_url)
    services, engines = build_services(settings, environ={})
    try:
        engine = services.engine
        async with engine.reader() as db:
            await db.execute(select(SessionRow.id).limit(1))
            assert not await _in_transaction(await db.connection())
        async with engine.transaction() as tx:
            await tx.db.execute(select(SessionRow.id).limit(1))
            assert await _in_transaction(await tx.connection())
            level = await (await tx.connection()).get_isolation_level()
            assert level == "READ COMMITTED"
        async with engine.reader() as db:  # the pooled connection went back as it came
            await db.execute(select(SessionRow.id).limit(1))
            assert not await _in_transaction(await db.connection())
        async with engine.transaction() as tx:
            await tx.db.execute(select(SessionRow.id).limit(1))
            assert await _in_transaction(await tx.connection())
    finally:
        for one in engines:
            await one.dispose()
