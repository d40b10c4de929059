"""The one path for every change: state change + event row in one transaction, publish after commit.

A command (HTTP or WebSocket) runs inside :meth:`SessionEngine.transaction`; each
:meth:`Transaction.emit` takes the session's next ``seq`` by incrementing
``fn_session.last_seq`` (a row lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite, so
the sequence is gap-free across processes) and writes the event row.  Only after
the commit are the encoded events handed to the hub, so no client ever sees state
that was not committed; a publish that fails is logged and healed by resync.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar, cast

import msgspec
import structlog
from sqlalchemy import ColumnElement, Integer, Table, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlalchemy.sql.dml import ReturningUpdate

from realtime.framing import EPHEMERAL, channel_for, kind_of, pack
from realtime.hub import Hub
from realtime.protocol import encode
from server.db.bind_once import bound, prebound
from server.db.engine import DbSession
from server.db.in_lists import padded
from server.db.models import EventRow, SessionRow
from server.db.sqlite_driver import statements_in_place

__all__ = ["SessionEngine", "Transaction", "utcnow"]

log = structlog.get_logger(__name__)
E = TypeVar("E", bound=msgspec.Struct)

TRIM_EVERY = 256

_SESSIONS = cast(Table, SessionRow.__table__)
_EVENTS = cast(Table, EventRow.__table__)
_LOCK_SESSIONS = (
    select(_SESSIONS.c.id)
    .where(_SESSIONS.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_SESSIONS.c.id)
    .with_for_update()
)


def _advance_seq(where: ColumnElement[bool]) -> ReturningUpdate[uuid.UUID, int]:
    return (
        update(_SESSIONS)
        .where(where)
        .values(
            last_seq=_SESSIONS.c.last_seq + bindparam("step", type_=Integer),
            last_activity_at=bindparam("now", type_=_SESSIONS.c.last_activity_at.type),
        )
        .returning(_SESSIONS.c.id, _SESSIONS.c.last_seq)
    )


_ADVANCE_SEQ = _advance_seq(_SESSIONS.c.id.in_(bindparam("ids", expanding=True)))
_ADVANCE_ONE_SEQ = _advance_seq(_SESSIONS.c.id == bindparam("session", type_=_SESSIONS.c.id.type))
"""The same for one session: an expanding ``IN`` is rendered anew at every execution
(in a measurement here, four times the cost of the statement with ``=``), and one
session is what a command at low load, when latency matters most, writes to."""

_INSERT_EVENTS = _EVENTS.insert().values(
    session_id=prebound("bound_session"), created_at=prebound("bound_at")
)
"""The event rows of a transaction: their session and time bound once per session and
per transaction (:mod:`server.db.bind_once`), not once per row."""

_TRIM_LOG = delete(_EVENTS).where(
    _EVENTS.c.session_id == bindparam("session_id", type_=_EVENTS.c.session_id.type),
    _EVENTS.c.seq <= bindparam("upto", type_=Integer),
)


async def _in_place(db: DbSession) -> contextlib.AbstractContextManager[bool]:
    """Begin ``db``'s transaction and have its statements run in place (SQLite)."""
    raw = await (await db.connection()).get_raw_connection()
    return statements_in_place(raw.driver_connection)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Transaction:
    """A unit of work: the database session plus the events to publish after commit."""

    db: DbSession
    event_log_max: int
    outbox: list[tuple[str, bytes]] = field(default_factory=list)
    last_seq: int = 0
    """The ``seq`` of the newest event written in this transaction (0: none yet)."""
    seqs: list[int] = field(default_factory=list)
    """Every ``seq`` written in this transaction, in order (what a command's ack names)."""
    after_commit: list[Callable[[], object]] = field(default_factory=list)
    """Callbacks run once the transaction has committed and its events are published."""
    pending_rows: list[dict[str, object]] = field(default_factory=list)
    """Event rows of :meth:`emit_many`, inserted in one statement before the commit."""

    async def connection(self) -> AsyncConnection:
        """The transaction's connection, for Core statements on the hot paths (the ORM's
        per-statement work costs more than SQLite's); pending ORM changes are flushed
        first, as an ORM statement would."""
        db = self.db
        if db.new or db.dirty or db.deleted:
            await db.flush()
        return await db.connection()

    async def emit(self, session_id: uuid.UUID, build: Callable[[int], E]) -> E:
        """Assign the next ``seq``, write the event row, queue it for publishing."""
        return (await self.emit_many({session_id: [build]}))[session_id][0]

    async def emit_many(
        self, builds: dict[uuid.UUID, list[Callable[[int], E]]]
    ) -> dict[uuid.UUID, list[E]]:
        """Events of many sessions at once: their ``seq`` ranges taken together.

        ``UPDATE … RETURNING`` advances each session's ``last_seq`` by its count of
        events, one statement for all the sessions with the same count (on PostgreSQL
        the rows are first locked in id order, so two processes batching overlapping
        sessions never deadlock); the event rows of the transaction go in one
        multi-row insert just before the commit (group commit for batched commands).
        Every statement has one shape whatever the batch, so it is compiled once.
        """
        counts = {session_id: len(events) for session_id, events in builds.items() if events}
        if not counts:
            return {}
        now = utcnow()
        conn = await self.connection()
        if conn.dialect.name == "postgresql":
            await conn.execute(_LOCK_SESSIONS, {"ids": padded(sorted(counts))})
        by_count: dict[int, list[uuid.UUID]] = {}
        for session_id, count in counts.items():
            by_count.setdefault(count, []).append(session_id)
        last_of: dict[uuid.UUID, int] = {}
        for count, ids in by_count.items():
            if len(ids) == 1:
                result = await conn.execute(
                    _ADVANCE_ONE_SEQ, {"session": ids[0], "step": count, "now": now}
                )
            else:
                result = await conn.execute(
                    _ADVANCE_SEQ, {"ids": padded(ids), "step": count, "now": now}
                )
            last_of.update((session_id, int(last)) for session_id, last in result)
        emitted: dict[uuid.UUID, list[E]] = {}
        dialect = conn.dialect
        bound_at = bound(_EVENTS.c.created_at, dialect, now)
        for session_id, count in counts.items():
            last = last_of[session_id]
            first = last - count + 1
            channel = channel_for(str(session_id))
            bound_session = bound(_EVENTS.c.session_id, dialect, session_id)
            events = emitted[session_id] = []
            for seq, build in enumerate(builds[session_id], start=first):
                event = build(seq)
                body = encode(event)
                tag = event.__struct_config__.tag
                self.pending_rows.append(
                    {
                        "bound_session": bound_session,
                        "seq": seq,
                        "type": tag,
                        "payload": body,
                        "bound_at": bound_at,
                    }
                )
                self.outbox.append((channel, pack(seq, body, kind_of(str(tag)))))
                events.append(event)
            self.last_seq = last
            self.seqs.extend(range(first, last + 1))
            if last > self.event_log_max and (first - 1) // TRIM_EVERY != last // TRIM_EVERY:
                await conn.execute(
                    _TRIM_LOG, {"session_id": session_id, "upto": last - self.event_log_max}
                )
        return emitted

    async def flush_rows(self) -> None:
        if self.pending_rows:
            rows, self.pending_rows = self.pending_rows, []
            await (await self.connection()).execute(_INSERT_EVENTS, rows)

    def publish_ephemeral(self, session_id: uuid.UUID, event: msgspec.Struct) -> None:
        """Queue an event that is not logged (presence, progress) for after the commit."""
        self.outbox.append((channel_for(str(session_id)), pack(EPHEMERAL, encode(event))))


class SessionEngine:
    """Runs units of work and reads the event log for replay and resync."""

    def __init__(
        self,
        session_factory: async_sessionmaker[DbSession],
        hub: Hub,
        *,
        read_factory: async_sessionmaker[DbSession] | None = None,
        serialize_writes: bool,
        event_log_max: int,
    ) -> None:
        self._session_factory = session_factory
        self._read_factory = read_factory or session_factory
        self._hub = hub
        self._event_log_max = event_log_max
        # SQLite has one writer: queueing writers here is cheaper than busy retries.
        self._write_lock: asyncio.Lock | None = asyncio.Lock() if serialize_writes else None

    @contextlib.asynccontextmanager
    async def transaction(self, *, in_place: bool = False) -> AsyncIterator[Transaction]:
        """A write transaction; its events are published once it has committed.

        ``in_place``: on SQLite, its statements run on the event loop's thread, with no
        trip to the driver's (``server.db.sqlite_driver.statements_in_place``): for
        short transactions on the hot path (a batch of chat messages or ballots),
        never for one that may write much (an import, a sweep)."""
        async with contextlib.AsyncExitStack() as stack:
            if self._write_lock is not None:
                await stack.enter_async_context(self._write_lock)
            db = await stack.enter_async_context(self._session_factory())
            async with db.begin():
                tx = Transaction(db, self._event_log_max)
                # Begun before (BEGIN IMMEDIATE may wait for the lock), committed after.
                with await _in_place(db) if in_place else contextlib.nullcontext():
                    yield tx
                    await tx.flush_rows()
        await self.publish_outbox(tx.outbox)
        for callback in tx.after_commit:
            try:
                callback()
            except Exception as exc:  # a follow-up never undoes a committed change
                log.warning("tx.after_commit_failed", error=type(exc).__name__)

    @contextlib.asynccontextmanager
    async def reader(self) -> AsyncIterator[DbSession]:
        """A read-only database session (no write lock)."""
        async with self._read_factory() as db:
            yield db

    async def publish(self, channel: str, payload: bytes) -> None:
        await self.publish_many(channel, (payload,))

    async def publish_many(self, channel: str, payloads: Sequence[bytes]) -> None:
        try:
            await self._hub.publish_many(channel, payloads)
        except Exception as exc:  # the hub heals missed events by resync from the log
            log.warning("hub.publish_failed", error=type(exc).__name__)

    async def publish_outbox(self, outbox: list[tuple[str, bytes]]) -> None:
        """A transaction's events, each session's together and in order (one write per
        socket for all of them), every session's in one delivery."""
        by_channel: dict[str, list[bytes]] = {}
        for channel, payload in outbox:
            by_channel.setdefault(channel, []).append(payload)
        try:
            await self._hub.publish_all(list(by_channel.items()))
        except Exception as exc:  # the hub heals missed events by resync from the log
            log.warning("hub.publish_failed", error=type(exc).__name__)

    async def publish_ephemeral(self, session_id: uuid.UUID, event: msgspec.Struct) -> None:
        await self.publish(channel_for(str(session_id)), pack(EPHEMERAL, encode(event)))

    async def latest_seqs(self, session_ids: list[str]) -> dict[str, int]:
        ids = []
        for session_id in session_ids:
            with contextlib.suppress(ValueError):
                ids.append(uuid.UUID(session_id))
        if not ids:
            return {}
        async with self.reader() as db:
            rows = await db.execute(
                select(SessionRow.id, SessionRow.last_seq).where(SessionRow.id.in_(ids))
            )
            return {str(sid): int(seq) for sid, seq in rows}

    async def events_after(
        self, session_id: str, seq: int, limit: int = 10_000
    ) -> list[tuple[int, bytes]] | None:
        """Events with ``seq`` greater than ``seq``, in order; ``None`` when some were trimmed."""
        events = await self.logged_after(session_id, seq, limit)
        return None if events is None else [(s, body) for s, body, _ in events]

    async def logged_after(
        self, session_id: str, seq: int, limit: int = 10_000
    ) -> list[tuple[int, bytes, int]] | None:
        """:meth:`events_after` with each event's kind (``realtime.framing.kind_of``)."""
        try:
            sid = uuid.UUID(session_id)
        except ValueError:
            return None
        async with self.reader() as db:
            rows = (
                await db.execute(
                    select(EventRow.seq, EventRow.payload, EventRow.type)
                    .where(EventRow.session_id == sid, EventRow.seq > seq)
                    .order_by(EventRow.seq)
                    .limit(limit)
                )
            ).all()
        if rows and rows[0][0] != seq + 1:
            return None
        return [(row[0], bytes(row[1]), kind_of(row[2])) for row in rows]
