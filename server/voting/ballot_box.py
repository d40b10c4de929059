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

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import select

from realtime.protocol import Ack, Ballot
from server.db.models import MemberRow, RoundRow, SessionRow
from server.errors import ApiError, DomainError
from server.live.batching import (
    CommandBatcher,
    Pending,
    Reply,
    already_applied,
    record_applied,
)
from server.live.gateway import refusal
from server.session_engine import SessionEngine, Transaction
from server.sessions.seats import check_seat
from server.voting.round_state import AnyRound, Outcome, PollRound, RoundError, decode_round

if TYPE_CHECKING:
    from server.voting.service import RoundCommands

__all__ = ["BallotBox"]

log = structlog.get_logger(__name__)


@dataclass
class _Round:
    row: RoundRow
    state: AnyRound
    applied: list[tuple[int, Outcome]] = field(default_factory=list)


class BallotBox(CommandBatcher[Ballot]):
    """Applies ballots in batches (see the module docstring)."""

    def __init__(self, engine: SessionEngine, rounds: RoundCommands, max_batch: int = 500) -> None:
        super().__init__(Ballot, engine, max_batch)
        self.rounds = rounds

    async def apply(self, batch: list[Pending[Ballot]]) -> list[Reply]:
        replies: list[Reply] = [None] * len(batch)
        decided: set[int] = set()
        async with self.engine.transaction(in_place=True) as tx:
            duplicates = await already_applied(tx, batch, replies, decided)
            by_session: dict[str, list[int]] = defaultdict(list)
            for index, pending in enumerate(batch):
                if index not in decided:
                    by_session[pending.member.session_id].append(index)
            applied: list[tuple[int, int | None]] = []
            for session_id, indexes in by_session.items():
                applied += await self._session(tx, uuid.UUID(session_id), batch, indexes, replies)
            await record_applied(tx, batch, applied)
        for index, first in duplicates:  # the same id twice in one batch: one answer
            replies[index] = replies[first]
        return replies

    async def _session(
        self,
        tx: Transaction,
        session_id: uuid.UUID,
        batch: list[Pending[Ballot]],
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
                seat = seats.get(pending.member.member_id)
                check_seat(seat[1] if seat else None, left=seat is not None and seat[0] is not None)
                current = await self._load(tx, session_id, pending.command.round_id, rounds)
                if not isinstance(current.state, PollRound):
                    raise RoundError("wrong_mode", "Ballots are for poll rounds.")
                outcome = current.state.ballot(
                    pending.member.member_id, list(pending.command.ranking), now_ms=now
                )
            except DomainError as refused:
                replies[index] = refusal(refused, pending.command_id)
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
