"""Group commit for commands that arrive together: one transaction for a batch.

A command queued here waits while the current batch is written, then goes in the
next batch with everything that arrived meanwhile, so at low load a batch is one
command and nothing waits, while a burst (a room chatting, a 1,000-member poll)
costs one transaction per batch instead of one per command.  Every command still
gets its own answer; a command refused for its own reason never affects the others.

Subclasses implement :meth:`CommandBatcher.apply`; :func:`already_applied` and
:func:`record_applied` keep commands with an ``id`` at most once, as the gateway
does for single commands.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import insert, select

from realtime.connection import Member
from realtime.protocol import Ack, ClientMessage, ErrorEvent
from server.db.models import AppliedCommand
from server.session_engine import Transaction, utcnow

__all__ = ["CommandBatcher", "Pending", "Reply", "already_applied", "record_applied"]

Reply = Ack | ErrorEvent | None
C = TypeVar("C", bound=ClientMessage)


@dataclass
class Pending(Generic[C]):
    member: Member
    command: C
    command_id: str | None
    future: asyncio.Future[Reply]


class CommandBatcher(Generic[C]):
    """Queues commands of one kind and applies them in batches (see the module docstring)."""

    def __init__(self, command_type: type[C], max_batch: int = 500) -> None:
        self.command_type = command_type
        self.max_batch = max_batch
        self._queue: list[Pending[C]] = []
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, member: Member, command: ClientMessage, command_id: str | None) -> Reply:
        assert isinstance(command, self.command_type)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._queue.append(Pending(member, command, command_id, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._run())
        return await future

    async def _run(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            try:
                replies = await self.apply(batch)
            except Exception as exc:  # the whole batch failed: every member is told
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
                continue
            for pending, reply in zip(batch, replies, strict=True):
                if not pending.future.done():
                    pending.future.set_result(reply)

    async def apply(self, batch: list[Pending[C]]) -> list[Reply]:
        raise NotImplementedError

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)


async def already_applied(
    tx: Transaction, batch: Sequence[Pending[C]], replies: list[Reply], decided: set[int]
) -> list[tuple[int, int]]:
    """Answer commands applied before; returns (duplicate, first) index pairs in the batch."""
    keyed = [(i, p) for i, p in enumerate(batch) if p.command_id is not None]
    if not keyed:
        return []
    rows = await tx.db.execute(
        select(AppliedCommand.member_id, AppliedCommand.command_id, AppliedCommand.seq).where(
            AppliedCommand.member_id.in_({uuid.UUID(p.member.member_id) for _, p in keyed}),
            AppliedCommand.command_id.in_({p.command_id for _, p in keyed}),
        )
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
        await tx.db.execute(insert(AppliedCommand), records)
