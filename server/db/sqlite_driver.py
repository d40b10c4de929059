"""aiosqlite, one trip to its thread per statement.

aiosqlite runs each call on the connection's own thread and wakes the event loop
with the result.  SQLAlchemy's adapter makes four such calls per statement: open a
cursor, execute, fetch the rows, close the cursor.  Each trip is a thread switch
and an event-loop wake-up (about 0.3 ms on a busy 2-core machine), so a chat
message's transaction spent most of its time travelling, not in SQLite.

Here a statement runs and its rows are read in one trip, and opening or closing a
cursor (no SQLite work) happens in place.  Everything that touches the database
still runs on the connection's thread, so a statement waiting for SQLite's write
lock never blocks the event loop.  The connection is opened with
``check_same_thread=False`` (Python's ``sqlite3`` is built serialized), which is
what lets the cursor bookkeeping run on the loop's thread.

The reader engine's connections (:func:`connect` with ``inline=True``) go one step
further: their statements run on the calling thread, the event loop's, with no trip
at all. A reader only reads (``PRAGMA query_only``), begins deferred transactions,
and in WAL mode a read never waits for the writer: it reads the last commit before
it began. Going to the thread and back cost more than the read itself: about 0.15 ms
of CPU per statement here, against some 30 us for an indexed read of SQLite's cache,
and every hello reads (its token, the room's state when that changed, the replay).
Such a connection still has its thread, which opens and closes it. The price: a
large read holds the event loop while SQLite runs it, and in the rare moments when
WAL makes a reader wait (another process recovering the file after a crash, or
closing it last) the loop waits too, up to the busy timeout.

A writer's transaction may ask for its statements in place too
(:func:`statements_in_place`, what the chat and ballot batches do): its ``BEGIN
IMMEDIATE``, which may wait for SQLite's write lock, and its ``COMMIT``, which may
run a WAL checkpoint and its fsync, still go to the thread; the statements in
between, which hold the write lock already and never wait, run on the event loop's
thread. A batch's five statements then cost no trips instead of five, each a wait
for the GIL while the loop fans out the previous batch.

This leans on aiosqlite's private internals (its ``context`` helper, a cursor's
``_execute`` and ``_cursor``, a connection's ``_conn`` and ``_thread``), so it is
fenced: :func:`usable` checks once that the installed aiosqlite is a version the
tests cover (:data:`AIOSQLITE_TESTED`, pinned the same in ``pyproject.toml``) and
has those internals; otherwise it logs once and the engine uses aiosqlite's own
driver path (four trips per statement, same results).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import re
import sqlite3
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import aiosqlite
import structlog

__all__ = [
    "AIOSQLITE_TESTED",
    "OneTripConnection",
    "OneTripCursor",
    "connect",
    "statements_in_place",
    "usable",
]

log = structlog.get_logger(__name__)

AIOSQLITE_TESTED = ((0, 22), (0, 23))
"""aiosqlite versions ``[first, end)`` this driver is tested with (0.22 gave the
connection its own ``_thread`` instead of being one)."""


def _private_result() -> Callable[[Any], Any] | None:
    """aiosqlite's wrapper that makes ``cursor()`` both awaitable and ``async with``."""
    try:
        wrapper: Callable[[Any], Any] = importlib.import_module("aiosqlite.context").contextmanager
    except (ImportError, AttributeError):  # then usable() is False: nothing here is used
        return None
    return wrapper


_RESULT = _private_result()


def _unwrapped(method: Any) -> Any:
    return method


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:2])


@functools.cache
def usable() -> bool:
    """May the engine use this driver?  Checked once per process; logged once if not."""
    version = str(getattr(aiosqlite, "__version__", ""))
    first, end = AIOSQLITE_TESTED
    if not first <= _version(version) < end:
        problem = "untested aiosqlite version"
    elif _RESULT is None:
        problem = "aiosqlite.context.contextmanager is missing"
    elif not (
        callable(getattr(aiosqlite.Cursor, "_execute", None))
        and "_cursor" in aiosqlite.Cursor.__init__.__code__.co_names  # stored there
        and isinstance(getattr(aiosqlite.Connection, "_conn", None), property)
        and "iter_chunk_size" in inspect.signature(aiosqlite.Connection).parameters
    ):
        problem = "aiosqlite's internals changed"
    else:
        return True
    log.warning("sqlite_driver.off", reason=problem, aiosqlite=version)
    return False


def _execute_and_fetch(cursor: sqlite3.Cursor, sql: str, parameters: Any) -> list[Any]:
    cursor.execute(sql, parameters)
    return cursor.fetchall() if cursor.description is not None else []


class OneTripCursor(aiosqlite.Cursor):
    """Reads a statement's rows along with it; fetches are answered from memory."""

    def __init__(self, conn: OneTripConnection, cursor: sqlite3.Cursor) -> None:
        super().__init__(conn, cursor)
        self._rows: deque[Any] = deque()
        self._inline = conn.inline or conn.statements_in_place

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> OneTripCursor:
        self._rows.clear()  # a failed statement leaves no rows of the one before
        parameters = () if parameters is None else parameters
        if self._inline:
            rows = _execute_and_fetch(self._cursor, sql, parameters)
        else:
            rows = await self._execute(  # type: ignore[no-untyped-call]
                _execute_and_fetch, self._cursor, sql, parameters
            )
        self._rows = deque(rows)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> OneTripCursor:
        self._rows.clear()
        if self._inline:
            self._cursor.executemany(sql, parameters)  # type: ignore[arg-type]
        else:
            await self._execute(self._cursor.executemany, sql, parameters)  # type: ignore[no-untyped-call]
        return self

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = min(self._cursor.arraysize if size is None else size, len(self._rows))
        return [self._rows.popleft() for _ in range(count)]

    async def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()
        self._cursor.close()


class OneTripConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors are :class:`OneTripCursor`; with
    ``inline``, a reader's, whose statements, commits and rollbacks run in place."""

    inline = False
    statements_in_place = False
    """Set for the statements of one writer's transaction (:func:`statements_in_place`)."""

    @(_RESULT or _unwrapped)
    async def cursor(self) -> aiosqlite.Cursor:
        cursor: sqlite3.Cursor = self._conn.cursor()
        return OneTripCursor(self, cursor)

    async def commit(self) -> None:
        if self.inline:
            self._conn.commit()
        else:
            await super().commit()

    async def rollback(self) -> None:
        if self.inline:
            self._conn.rollback()
        else:
            await super().rollback()


class _InlineConnection(OneTripConnection):
    inline = True


@contextlib.contextmanager
def statements_in_place(driver_connection: object) -> Iterator[bool]:
    """Run the statements of the transaction begun on ``driver_connection`` in place
    until the block ends (see the module docstring); yields whether it does (not on
    another driver). Begin the transaction before, and commit it after, the block."""
    if not isinstance(driver_connection, OneTripConnection) or driver_connection.inline:
        yield False
        return
    driver_connection.statements_in_place = True
    try:
        yield True
    finally:
        driver_connection.statements_in_place = False


def connect(database: str, *, inline: bool = False, **kwargs: Any) -> OneTripConnection:
    """Like ``aiosqlite.connect``: an awaitable connection, its thread a daemon. With
    ``inline``, a read-only connection whose statements run on the caller's thread."""
    kwargs["check_same_thread"] = False

    def connector() -> sqlite3.Connection:
        connection: sqlite3.Connection = sqlite3.connect(database, **kwargs)
        if inline:
            connection.execute("PRAGMA query_only=ON")
        return connection

    kind = _InlineConnection if inline else OneTripConnection
    connection = kind(connector, iter_chunk_size=64)
    thread = getattr(connection, "_thread", None)
    if thread is not None:  # as SQLAlchemy does for aiosqlite's own connections
        thread.daemon = True
    return connection
