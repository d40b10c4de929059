"""Ballots in batches: many members' ballots in one transaction.

A 1,000-member poll receives its ballots within seconds of each other.  One
transaction per ballot would serialise them on the database (and re-read and
re-write the round each time); instead, ballots that arrive while a batch is being
written wait for the next batch, and each batch reads the round once, applies every
ballot with the pure rules, writes the round once and records every command id.
At low load a batch is a single ballot, so nothing waits.

Each ballot still gets its own answer (``ack`` or ``error`` with the same codes as
one at a time), commands with an ``id`` are applied at most once, and a ballot
refused for its own reason never affects the others in its batch.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import insert, select

from realtime.connection import Member
from realtime.protocol import Ack, Ballot, ClientMessage, ErrorEvent
from server.db.models import AppliedCommand, MemberRow, RoundRow, SessionRow
from server.errors import ApiError
from server.session_engine import SessionEngine, Transaction, utcnow
from server.voting.round_state import AnyRound, Outcome, PollRound, RoundError, decode_round

if TYPE_CHECKING:
    from server.voting.service import RoundCommands

__all__ = ["BallotBox"]

log = structlog.get_logger(__name__)

Reply = Ack | ErrorEvent | None


@dataclass
class _Pending:
    member: Member
    command: Ballot
    command_id: str | None
    future: asyncio.Future[Reply]


@dataclass
class _Round:
    row: RoundRow
    state: AnyRound
    applied: list[tuple[int, Outcome]] = field(default_factory=list)


class BallotBox:
    """Queues ballots and applies them in batches (see the module docstring)."""

    def __init__(self, engine: SessionEngine, rounds: RoundCommands, max_batch: int = 500) -> None:
        self.engine = engine
        self.rounds = rounds
        self.max_batch = max_batch
        self._queue: list[_Pending] = []
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, member: Member, command: ClientMessage, command_id: str | None) -> Reply:
        assert isinstance(command, Ballot)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(member, command, command_id, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._run())
        return await future

    async def _run(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            try:
                replies = await self._apply(batch)
            except Exception as exc:  # the whole batch failed: every member is told
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
                continue
            for pending, reply in zip(batch, replies, strict=True):
                if not pending.future.done():
                    pending.future.set_result(reply)

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)

    # ------------------------------------------------------------ one batch

    async def _apply(self, batch: list[_Pending]) -> list[Reply]:
        replies: list[Reply] = [None] * len(batch)
        decided: set[int] = set()
        async with self.engine.transaction() as tx:
            duplicates = await self._already_applied(tx, batch, replies, decided)
            by_session: dict[str, list[int]] = defaultdict(list)
            for index, pending in enumerate(batch):
                if index not in decided:
                    by_session[pending.member.session_id].append(index)
            applied: list[tuple[int, int | None]] = []
            for session_id, indexes in by_session.items():
                applied += await self._session(tx, uuid.UUID(session_id), batch, indexes, replies)
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
        for index, first in duplicates:  # the same id twice in one batch: one answer
            replies[index] = replies[first]
        return replies

    async def _already_applied(
        self, tx: Transaction, batch: list[_Pending], replies: list[Reply], decided: set[int]
    ) -> list[tuple[int, int]]:
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

    async def _session(
        self,
        tx: Transaction,
        session_id: uuid.UUID,
        batch: list[_Pending],
        indexes: list[int],
        replies: list[Reply],
    ) -> list[tuple[int, int | None]]:
        """Apply one session's ballots; returns (index, seq) of the ballots applied."""
        await self.rounds.lock_session(tx, session_id)
        seats = {
            str(member_id): (left_at, state)
            for member_id, left_at, state in await tx.db.execute(
                select(MemberRow.id, MemberRow.left_at, SessionRow.state)
                .join(SessionRow, SessionRow.id == MemberRow.session_id)
                .where(
                    MemberRow.session_id == session_id,
                    MemberRow.id.in_({uuid.UUID(batch[i].member.member_id) for i in indexes}),
                )
            )
        }
        rounds: dict[str, _Round | ApiError] = {}
        now = self.rounds.clock_ms()
        for index in indexes:
            pending = batch[index]
            try:
                self._require_seat(seats.get(pending.member.member_id))
                current = await self._load(tx, session_id, pending.command.round_id, rounds)
                if not isinstance(current.state, PollRound):
                    raise RoundError("wrong_mode", "Ballots are for poll rounds.")
                outcome = current.state.ballot(
                    pending.member.member_id, list(pending.command.ranking), now_ms=now
                )
            except RoundError as refused:
                replies[index] = ErrorEvent(
                    code=refused.code, message=refused.message, id=pending.command_id
                )
                continue
            except ApiError as refused:
                replies[index] = ErrorEvent(
                    code=refused.code, message=refused.message, id=pending.command_id
                )
                continue
            current.applied.append((index, outcome))
        done: list[tuple[int, int | None]] = []
        for loaded in rounds.values():
            if isinstance(loaded, ApiError) or not loaded.applied:
                continue
            closing = [o for _, o in loaded.applied if o.result is not None]
            final = closing[0] if closing else Outcome(changed=True)
            seq = await self.rounds.settle(tx, session_id, loaded.row, loaded.state, final)
            for index, outcome in loaded.applied:
                own = seq if outcome.result is not None else None
                done.append((index, own))
                if batch[index].command_id is not None:
                    replies[index] = Ack(id=str(batch[index].command_id), seq=own)
        return done

    @staticmethod
    def _require_seat(seat: tuple[object, str] | None) -> None:
        if seat is not None and seat[1] == "ended":
            raise ApiError(410, "session_ended", "This session has ended.")
        if seat is None or seat[0] is not None:
            raise ApiError(401, "not_a_member", "You are no longer a member of this session.")

    async def _load(
        self,
        tx: Transaction,
        session_id: uuid.UUID,
        round_id: str,
        rounds: dict[str, _Round | ApiError],
    ) -> _Round:
        if round_id not in rounds:
            try:
                row = await self.rounds.round_row(tx.db, session_id, round_id)
                rounds[round_id] = _Round(row, decode_round(row.mode, row.state))
            except ApiError as missing:
                rounds[round_id] = missing
        found = rounds[round_id]
        if isinstance(found, ApiError):
            raise found
        return found
