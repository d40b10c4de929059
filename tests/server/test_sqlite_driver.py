"""The SQLite driver: one trip to aiosqlite's thread per statement (none for a reader),
same results."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from structlog.testing import capture_logs

from server.db import sqlite_driver
from server.db.engine import create_engine
from tests.support.pins import pinned_range


async def test_the_engine_uses_it_and_results_are_unchanged(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/d.db")
    try:
        async with engine.begin() as conn:
            raw = await conn.get_raw_connection()
            assert isinstance(raw.driver_connection, sqlite_driver.OneTripConnection)
            await conn.execute(text("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)"))
            await conn.execute(
                text("INSERT INTO t (a, b) VALUES (:a, :b)"),
                [{"a": i, "b": f"v{i}"} for i in range(1, 151)],
            )  # executemany
            inserted = await conn.execute(
                text("INSERT INTO t (a, b) VALUES (500, 'x') RETURNING a, b")
            )
            assert inserted.all() == [(500, "x")]
            updated = await conn.execute(text("UPDATE t SET b = 'y' WHERE a > 100"))
            assert updated.rowcount == 51
            rows = (await conn.execute(text("SELECT a FROM t ORDER BY a"))).scalars().all()
            assert rows == [*range(1, 151), 500]
            assert (await conn.execute(text("SELECT a FROM t WHERE a < 0"))).first() is None
            with pytest.raises(IntegrityError):
                await conn.execute(text("INSERT INTO t (a, b) VALUES (1, 'dup')"))
    finally:
        await engine.dispose()


class _Trips:
    """Counts a connection's trips to its thread while installed."""

    def __init__(self, connection: Any) -> None:
        self.count = 0
        self._connection = connection
        self._real = connection._execute

    async def _counted(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self.count += 1
        return await self._real(fn, *args, **kwargs)

    def __enter__(self) -> _Trips:
        self._connection._execute = self._counted
        return self

    def __exit__(self, *_: object) -> None:
        self._connection._execute = self._real


async def test_a_statement_and_its_rows_cost_one_trip(tmp_path: Path) -> None:
    connection = await sqlite_driver.connect(str(tmp_path / "trips.db"))
    try:
        async with connection.cursor() as cursor:
            await cursor.execute("CREATE TABLE t (a INTEGER)")
            await cursor.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(10)])
            with _Trips(connection) as trips:
                await cursor.execute("SELECT a FROM t ORDER BY a")
                assert await cursor.fetchone() == (0,)
                assert list(await cursor.fetchmany(3)) == [(1,), (2,), (3,)]
                cursor.arraysize = 2
                assert list(await cursor.fetchmany()) == [(4,), (5,)]
                assert [row async for row in cursor] == [(i,) for i in range(6, 10)]
                assert list(await cursor.fetchall()) == []
                assert await cursor.fetchone() is None
            assert trips.count == 1
    finally:
        await connection.close()


async def test_an_error_comes_back_and_the_connection_goes_on(tmp_path: Path) -> None:
    connection = await sqlite_driver.connect(str(tmp_path / "errors.db"))
    try:
        async with connection.cursor() as cursor:
            await cursor.execute("SELECT 7")
            with pytest.raises(Exception, match="no such table"):
                await cursor.execute("SELECT * FROM missing")
            assert await cursor.fetchone() is None
            await cursor.execute("SELECT 1")
            assert list(await cursor.fetchall()) == [(1,)]
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def _writer_and_reader(path: Path, *rows: int) -> AsyncIterator[tuple[Any, Any]]:
    """The two engines the server opens on one SQLite file, with a table ``t`` of ``rows``."""
    url = f"sqlite+aiosqlite:///{path}"
    writer, reader = create_engine(url), create_engine(url, writer=False)
    try:
        async with writer.begin() as conn:
            await conn.execute(text("CREATE TABLE t (a INTEGER PRIMARY KEY)"))
            await conn.execute(text("INSERT INTO t (a) VALUES (:a)"), [{"a": a} for a in rows])
        yield writer, reader
    finally:
        await reader.dispose()
        await writer.dispose()


async def test_a_readers_statements_run_in_place_and_it_cannot_write(tmp_path: Path) -> None:
    async with _writer_and_reader(tmp_path / "reads.db", 1, 2) as (writer, reader):
        async with reader.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert isinstance(raw, sqlite_driver.OneTripConnection) and raw.inline
            with _Trips(raw) as trips:
                async with conn.begin():
                    rows = (await conn.execute(text("SELECT a FROM t ORDER BY a"))).scalars().all()
                    assert rows == [1, 2]
                    with pytest.raises(Exception, match="readonly database"):
                        await conn.execute(text("INSERT INTO t (a) VALUES (3)"))
            assert trips.count == 0  # BEGIN, the reads, the failed write, the rollback: in place
        async with writer.connect() as conn:  # nothing of the attempt reached the file
            rows = (await conn.execute(text("SELECT a FROM t ORDER BY a"))).scalars().all()
            assert rows == [1, 2]


async def test_a_reader_in_place_does_not_wait_for_a_writer_holding_its_lock(
    tmp_path: Path,
) -> None:
    """WAL: a read while a write transaction is open returns at once with the last
    commit (the event loop is never blocked on the write lock)."""
    async with _writer_and_reader(tmp_path / "wal.db", 1) as (writer, reader):
        async with writer.begin() as held:  # BEGIN IMMEDIATE: the write lock is held
            await held.execute(text("INSERT INTO t (a) VALUES (2)"))
            async with reader.connect() as conn, conn.begin():
                loop = asyncio.get_running_loop()
                started = loop.time()
                rows = (await conn.execute(text("SELECT a FROM t"))).scalars().all()
                assert rows == [1]  # the last commit, not the write under way
                assert loop.time() - started < 1.0  # busy_timeout is 10 s: it did not wait
        async with reader.connect() as conn:
            rows = (await conn.execute(text("SELECT a FROM t ORDER BY a"))).scalars().all()
            assert rows == [1, 2]


@contextlib.contextmanager
def _fresh_check() -> Iterator[None]:
    """Run :func:`sqlite_driver.usable`'s once-per-process check again inside (and after)."""
    sqlite_driver.usable.cache_clear()
    try:
        yield
    finally:
        sqlite_driver.usable.cache_clear()


async def _stock_engine_works(path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as conn:
            raw = await conn.get_raw_connection()
            assert type(raw.driver_connection) is aiosqlite.Connection  # aiosqlite's own
            await conn.execute(text("CREATE TABLE t (a INTEGER PRIMARY KEY)"))
            await conn.execute(text("INSERT INTO t (a) VALUES (:a)"), [{"a": 1}, {"a": 2}])
            rows = (await conn.execute(text("SELECT a FROM t ORDER BY a"))).scalars().all()
            assert rows == [1, 2]
    finally:
        await engine.dispose()


@pytest.mark.parametrize("version", ["0.21.0", "0.23.0", "1.0.0", ""])
async def test_an_untested_aiosqlite_gets_the_stock_driver_and_it_is_said_once(
    version: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with _fresh_check(), capture_logs() as logs:
        assert sqlite_driver.usable()  # the control: the tested version
        sqlite_driver.usable.cache_clear()
        monkeypatch.setattr(aiosqlite, "__version__", version)
        await _stock_engine_works(tmp_path / "a.db")
        await _stock_engine_works(tmp_path / "b.db")
    assert [log["reason"] for log in logs if log["event"] == "sqlite_driver.off"] == [
        "untested aiosqlite version"
    ]


async def test_without_aiosqlites_private_helper_the_module_loads_and_the_stock_driver_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _fresh_check():
        monkeypatch.setitem(sys.modules, "aiosqlite.context", None)
        importlib.reload(sqlite_driver)  # its import fails now, as if the module were gone
        try:
            assert not sqlite_driver.usable()
            await _stock_engine_works(tmp_path / "c.db")
        finally:
            monkeypatch.undo()
            importlib.reload(sqlite_driver)
    assert sqlite_driver.usable()


@pytest.mark.parametrize(
    "renamed", [(aiosqlite.Cursor, "_execute"), (aiosqlite.Connection, "_conn")]
)
def test_a_renamed_internal_turns_the_driver_off(
    renamed: tuple[type, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with _fresh_check():
        monkeypatch.delattr(*renamed)
        assert not sqlite_driver.usable()


def test_pyproject_pins_the_tested_range() -> None:
    assert pinned_range("aiosqlite") == sqlite_driver.AIOSQLITE_TESTED
    assert sqlite_driver._version(aiosqlite.__version__) < sqlite_driver.AIOSQLITE_TESTED[1]


async def _in_place_then_fail(connection: sqlite_driver.OneTripConnection) -> int:
    """Statements of a block in place, then a failure inside it; returns the trips made."""
    with sqlite_driver.statements_in_place(connection) as in_place:
        assert in_place is True and connection.statements_in_place
        cursor = await connection.cursor()
        with _Trips(connection) as trips:
            await cursor.execute("CREATE TABLE t (a INTEGER)")
            await cursor.executemany("INSERT INTO t VALUES (?)", [(1,), (2,)])
            await cursor.execute("SELECT count(*) FROM t")
            assert await cursor.fetchone() == (2,)
        await cursor.close()
        if trips.count == 0:
            raise RuntimeError("the block failed")
    return trips.count


async def test_statements_in_place_only_on_a_writers_one_trip_connection(tmp_path: Path) -> None:
    """Another driver's connection (PostgreSQL's), or a reader already in place, is
    left as it is; a writer's is in place inside the block only, even when it fails."""
    with sqlite_driver.statements_in_place(object()) as in_place:
        assert in_place is False
    connection = await sqlite_driver.connect(str(tmp_path / "place.db"))
    reader = await sqlite_driver.connect(str(tmp_path / "place.db"), inline=True)
    assert isinstance(connection, sqlite_driver.OneTripConnection)
    assert isinstance(reader, sqlite_driver.OneTripConnection)
    try:
        with sqlite_driver.statements_in_place(reader) as in_place:
            assert in_place is False and not reader.statements_in_place
        with pytest.raises(RuntimeError, match="the block failed"):  # no trip was made
            await _in_place_then_fail(connection)
        assert not connection.statements_in_place
    finally:
        await connection.close()
        await reader.close()
