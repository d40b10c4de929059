"""The async engine and session factory, with the SQLite settings we need."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as DbSession

from server.db import sqlite_driver

__all__ = [
    "UNREACHABLE",
    "WAL_SIZE_LIMIT",
    "DbSession",
    "create_engine",
    "create_session_factory",
    "sqlite_file",
]

UNREACHABLE: tuple[type[Exception], ...] = (
    exc.OperationalError,  # SQLite can't open its file; PostgreSQL refuses or went away
    exc.InterfaceError,  # the driver's connection is closed
    exc.DisconnectionError,
    exc.TimeoutError,  # no pooled connection came free in time
    ConnectionError,  # asyncpg's connect fails with the socket's own error (refused, reset)
)
"""Errors that mean the database can't be reached right now (not a fault of the
request): HTTP answers 503 with ``Retry-After``, a WebSocket closes 1013."""


WAL_SIZE_LIMIT = 64 * 1024 * 1024
"""Bytes of its write-ahead log's file a writer that checkpoints in the background
keeps once the log is reset (SQLite's own checkpoints at commit keep it small)."""


def sqlite_file(url: str) -> str | None:
    """The database file of a SQLite URL (``None``: in memory, or not SQLite)."""
    parsed = make_url(url)
    database = parsed.database
    if not parsed.drivername.startswith("sqlite") or not database:
        return None
    if database == ":memory:" or database.startswith("file:"):
        return None
    return database


def _prepare_sqlite_file(url: str) -> None:
    database = sqlite_file(url)
    if database is not None:
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def create_engine(
    url: str, *, echo: bool = False, writer: bool = True, checkpoint_at_commit: bool = True
) -> AsyncEngine:
    """Create an engine; SQLite gets foreign keys, WAL, a busy timeout and one trip to
    the driver's thread per statement (:mod:`server.db.sqlite_driver`).

    On SQLite a ``writer`` engine begins every transaction IMMEDIATE (deferred
    transactions that upgrade to writes deadlock under concurrency); a reader engine
    begins deferred ones, which in WAL mode never wait for the writer. Without
    ``checkpoint_at_commit`` the writer's commits leave the write-ahead log's
    checkpoints to :func:`server.db.checkpoint.run_checkpoints`.
    """
    if not url.startswith("sqlite"):
        # Twenty connections stay open, so that a burst (a storm's hellos, up to
        # ``ws_hellos_at_once`` at a time) does not open and close fresh ones: each
        # is a connect, its type codecs set up and its statements prepared anew.
        return create_async_engine(
            url, echo=echo, pool_pre_ping=True, pool_size=20, max_overflow=10
        )
    _prepare_sqlite_file(url)
    engine = create_async_engine(url, echo=echo)

    if sqlite_driver.usable():  # else aiosqlite's own path (see sqlite_driver)

        @event.listens_for(engine.sync_engine, "do_connect")
        def _one_trip(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
            # aiosqlite with one trip to its thread per statement (see sqlite_driver).
            # A reader's statements run in place, on the event loop's thread.
            creator = functools.partial(sqlite_driver.connect, inline=not writer)
            return dialect.loaded_dbapi.connect(*cargs, async_creator_fn=creator, **cparams)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, emit BEGIN, so that it can be IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        if writer and not checkpoint_at_commit:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
            # After a spike (an import), the log's file shrinks back to this once reset.
            cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        cursor.close()

    begin = "BEGIN IMMEDIATE" if writer else "BEGIN"

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[DbSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
