"""Values bound once for many rows (server/db/bind_once.py): what the column's type gives."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from sqlalchemy import Column, MetaData, Table, create_engine, insert, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.schema import CreateTable

from server.db.bind_once import bound, prebound
from server.db.models import EventRow

EVENTS = cast(Table, EventRow.__table__)


def test_a_value_is_bound_as_its_columns_type_binds_it_for_each_dialect() -> None:
    session_id = uuid.uuid4()
    at = datetime(2026, 12, 5, 21, 0, 0, 123456, tzinfo=UTC)
    dialects: list[Dialect] = [  # as served (the engines never connect)
        create_async_engine("sqlite+aiosqlite://").dialect,
        create_async_engine("postgresql+asyncpg://127.0.0.1/none").dialect,
    ]
    for dialect in dialects:
        for column, value in ((EVENTS.c.session_id, session_id), (EVENTS.c.created_at, at)):
            process = column.type.dialect_impl(dialect).bind_processor(dialect)
            expected: Any = process(value) if process else value
            assert bound(column, dialect, value) == expected
    assert bound(EVENTS.c.session_id, dialects[0], session_id) == session_id.bytes
    assert bound(EVENTS.c.session_id, dialects[1], session_id) == str(session_id)
    assert bound(EVENTS.c.seq, dialects[0], 7) == 7  # no processor: as it is


def test_rows_written_with_prebound_values_read_back_as_written_normally(tmp_path: Any) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    EVENTS.metadata.create_all(engine, tables=[EVENTS.metadata.tables["fn_session"], EVENTS])
    at = datetime(2026, 12, 5, 21, 0, 0, 123456, tzinfo=UTC)
    session_id = uuid.uuid4()
    statement = insert(EVENTS).values(session_id=prebound("s"), created_at=prebound("at"))
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        shared = {
            "s": bound(EVENTS.c.session_id, conn.dialect, session_id),
            "at": bound(EVENTS.c.created_at, conn.dialect, at),
        }
        rows = [{**shared, "seq": n, "type": "chat", "payload": b"{}"} for n in (1, 2)]
        conn.execute(statement, rows)
        conn.execute(
            insert(EVENTS),
            {
                "session_id": session_id,
                "seq": 3,
                "type": "chat",
                "payload": b"{}",
                "created_at": at,
            },
        )
        read = conn.execute(
            select(EVENTS.c.session_id, EVENTS.c.seq, EVENTS.c.created_at).order_by(EVENTS.c.seq)
        ).all()
    assert [tuple(row) for row in read] == [(session_id, n, at) for n in (1, 2, 3)]
    # The stored bytes are the same either way (a GUID as 16 bytes, the time as text).
    with engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT session_id, created_at FROM fn_event").all()
    assert len({tuple(row) for row in raw}) == 1


def test_the_processed_type_is_refused_as_a_columns_type() -> None:
    table = Table("t", MetaData(), Column("x", prebound("x").type))
    with pytest.raises(TypeError, match="not a column type"):
        CreateTable(table).compile(dialect=create_async_engine("sqlite+aiosqlite://").dialect)
