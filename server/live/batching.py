"""Group commit for commands that arrive together: one transaction for a batch.

A command queued here waits while the current batch is written, then goes in the
next batch with everything that arrived meanwhile, so at low load a batch is one
command and nothing waits, while a burst (a room chatting, a 1,000-member poll)
costs one transaction per batch instead of one per command.  Every command still
gets its own answer; a command refused for its own reason never affects the others.

Subclasses implement :meth:`CommandBatcher.apply`; :func:`already_applied` and
:func:`record_applied` keep commands with an ``id`` at most once, as the gateway
does for single commands.  A batch whose transaction fails is answered here too,
with the codes the gateway uses for single commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

import structlog
from sqlalchemy import Table, bindparam, select
from sqlalchemy.exc import IntegrityError

from realtime.connection import Member
from realtime.protocol import Ack, ClientMessage, ErrorEvent
from server.db.in_lists import padded
from server.db.models import AppliedCommand
from server.errors import DomainError
from server.live.gateway import refusal
from server.session_engine import SessionEngine, Transaction, utcnow

__all__ = ["CommandBatcher", "Pending", "Reply", "already_applied", "record_applied"]

log = structlog.get_logger(__name__)

Reply = Ack | ErrorEvent | None
C = TypeVar("C", bound=ClientMessage)


_APPLIED = cast(Table, AppliedCommand.__table__)
_APPLIED_BEFORE = select(_APPLIED.c.member_id, _APPLIED.c.command_id, _APPLIED.c.seq).where(
    _APPLIED.c.member_id.in_(bindparam("members", expanding=True)),
    _APPLIED.c.command_id.in_(bindparam("ids", expanding=True)),
)


@dataclass
class Pending(Generic[C]):
    member: Member
    command: C
    command_id: str | None
    future: asyncio.Future[Reply]


class CommandBatcher(Generic[C]):
    """Queues commands of one kind and applies them in batches (see the module docstring)."""

    def __init__(self, command_type: type[C], engine: SessionEngine, max_batch: int = 500) -> None:
        self.command_type = command_type
        self.engine = engine
        self.max_batch = max_batch
        self._queue: list[Pending[C]] = []
        self._worker: asyncio.Task[None] | None = None

    def submit(self, member: Member, command: C, command_id: str | None) -> asyncio.Future[Reply]:
        """Queue ``command``; the future gives its answer and never raises.

        A future, not a coroutine: a pipelined command then costs its connection no
        task of its own.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Reply] = loop.create_future()
        self._queue.append(Pending(member, command, command_id, future))
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._run())
        return future

    async def _run(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            try:
                replies = await self.apply(batch)
            except asyncio.CancelledError:
                for pending in batch:
                    pending.future.cancel()
                raise
            except Exception as exc:  # the whole batch failed: every member is told
                replies = await self._after_failure(batch, exc)
            for pending, reply in zip(batch, replies, strict=True):
                if not pending.future.done():
                    pending.future.set_result(reply)

    async def _after_failure(self, batch: list[Pending[C]], exc: Exception) -> list[Reply]:
        """Answers for a batch whose transaction failed (nothing of it was written)."""
        if isinstance(exc, DomainError):
            return [refusal(exc, p.command_id) for p in batch]
        if not isinstance(exc, IntegrityError):
            log.error("batch.failed", command=self.command_type.__name__, exc_info=exc)
            return [
                ErrorEvent(
                    code="internal_error",
                    message="Something went wrong on our side.",
                    id=p.command_id,
                )
                for p in batch
            ]
        # An id raced in on another connection: those commands were applied once, there.
        replies: list[Reply] = [None] * len(batch)
        with contextlib.suppress(Exception):
            async with self.engine.transaction() as tx:
                await already_applied(tx, batch, replies, set())
        return [
            reply
            if reply is not None
            else ErrorEvent(
                code="conflict", message="The command conflicted; retry.", id=p.command_id
            )
            for reply, p in zip(replies, batch, strict=True)
        ]

    async def apply(self, batch: list[Pending[C]]) -> list[Reply]:
        raise NotImplementedError

    async def close(self) -> None:
        """Stop the worker; commands still queued are cancelled."""
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        for pending in self._queue:
            pending.future.cancel()
        self._queue.clear()


async def already_applied(
    tx: Transaction, batch: Sequence[Pending[C]], replies: list[Reply], decided: set[int]
) -> list[tuple[int, int]]:
    """Answer commands applied before; returns (duplicate, first) index pairs in the batch."""
    keyed = [(i, p) for i, p in enumerate(batch) if p.command_id is not None]
    if not keyed:
        return []
    conn = await tx.connection()
    rows = await conn.execute(
        _APPLIED_BEFORE,
        {
            "members": padded({uuid.UUID(p.member.member_id) for _, p in keyed}),
            "ids": padded({p.command_id for _, p in keyed}),
        },
    )
    previous = {(str(member), cid): seq for member, cid, seq in rows}
    first_of: dict[tuple[str, str | None], int] = {}
    duplicates = []
    for index, pending in keyed:
        key = (pending.member.member_id, pending.command_id)
        if key in previous:
            replies[index] = Ack(id=str(pending.command_id), seq=previous[key])
            decided.add(index)
        elif key in first_of:
            duplicates.append((index, first_of[key]))
            decided.add(index)
        else:
            first_of[key] = index
    return duplicates


async def record_applied(
    tx: Transaction, batch: Sequence[Pending[C]], applied: list[tuple[int, int | None]]
) -> None:
    """Record the ids of the commands applied in this batch (one multi-row insert)."""
    records = [
        {
            "session_id": uuid.UUID(batch[i].member.session_id),
            "member_id": uuid.UUID(batch[i].member.member_id),
            "command_id": batch[i].command_id,
            "seq": seq,
            "created_at": utcnow(),
        }
        for i, seq in applied
        if batch[i].command_id is not None
    ]
    if records:
        await (await tx.connection()).execute(_APPLIED.insert(), records)
