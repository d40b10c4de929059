"""Voting rounds over the socket: ``round.start``, ``vote``, ``ballot``, ``veto``, ``round.close``.

Each command loads the session's round row inside the command's transaction (a row
lock on PostgreSQL, the single writer on SQLite), applies a pure rule from
``server.voting.rounds``, stores the new state and writes its event, so a restart
in the middle of a round loses no vote and the round goes on.

Live tallies of match and poll rounds are ephemeral and coalesced: at most one
``round.tally`` per round per ``tally_interval_s``, carrying the newest counts, so
a 1,000-member poll does not send a million frames.  Veto strikes change whose
turn it is, so each is a logged ``round.tally`` with a ``seq``.

A clock (``run_clock``) closes polls at their deadline and skips the veto turn of a
member who is offline when their turn times out; several processes may run it,
because each action re-checks the row under the lock.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TypeVar

import structlog
from sqlalchemy import bindparam, select
from sqlalchemy.orm import aliased

from realtime.connection import Member
from realtime.presence import PresenceStore
from realtime.protocol import (
    Ballot,
    Film,
    RoundClose,
    RoundDeadline,
    RoundExtend,
    RoundInfo,
    RoundResult,
    RoundStart,
    RoundStarted,
    RoundTally,
    Snapshot,
    Veto,
    Vote,
)
from server.db.engine import DbSession
from server.db.in_lists import padded
from server.db.models import MemberRow, RoundRow, SessionRow
from server.errors import ApiError
from server.live.gateway import CommandRouter, Handler
from server.session_engine import SessionEngine, Transaction, utcnow
from server.sessions.seats import require_seat
from server.sessions.service import Personal, SessionService
from server.settings import Settings
from server.voting.ballot_box import BallotBox
from server.voting.round_state import (
    AnyRound,
    MatchRound,
    Outcome,
    PollRound,
    RoundError,
    VetoRound,
    decode_round,
    encode_round,
    explain,
)
from server.watchlists import catalogue
from server.watchlists.service import WatchlistService
from server.watchlists.session_limits import load_limits, to_rules

R = TypeVar("R", RoundClose, Vote, Veto)


_NEWER = aliased(RoundRow)
_LATEST_ROUNDS = select(RoundRow).where(
    RoundRow.session_id.in_(bindparam("ids", expanding=True)),
    RoundRow.id
    == select(_NEWER.id)
    .where(_NEWER.session_id == RoundRow.session_id)
    .order_by(_NEWER.created_at.desc(), _NEWER.id.desc())
    .limit(1)
    .scalar_subquery(),
)
"""The latest round of each of the sessions ``ids`` (a snapshot shows it, open or closed)."""

__all__ = ["DEFAULT_SIZES", "RoundCommands"]

log = structlog.get_logger(__name__)

DEFAULT_SIZES = {"match": 20, "poll": 5, "veto": 5}
"""How many top candidates a round takes when the host names neither films nor size."""


def _now_ms() -> int:
    return int(time.time() * 1000)


class RoundCommands:
    """Registers the round commands and keeps the round clock and the tally coalescer."""

    def __init__(
        self,
        engine: SessionEngine,
        watchlists: WatchlistService,
        presence: PresenceStore,
        settings: Settings,
        clock_ms: Callable[[], int] = _now_ms,
    ) -> None:
        self.engine = engine
        self.watchlists = watchlists
        self.presence = presence
        self.turn_timeout_ms = int(settings.veto_turn_timeout_s * 1000)
        self.tally_interval_s = settings.tally_interval_s
        self.clock_ms = clock_ms
        self._pending: dict[str, tuple[uuid.UUID, AnyRound]] = {}
        self._flushes: set[asyncio.Task[None]] = set()
        self.ballot_box = BallotBox(engine, self)

    def register(self, router: CommandRouter) -> None:
        router.register(RoundStart, self._start)
        router.register(RoundClose, self._command(self._close))
        router.register(RoundExtend, self._extend)
        router.register(Vote, self._command(self._vote))
        router.register_direct(Ballot, self.ballot_box.submit)
        router.register(Veto, self._command(self._veto))

    def attach(self, sessions: SessionService) -> None:
        sessions.on_leave.append(self._member_left)
        sessions.on_end.append(self._session_ended)
        sessions.snapshot_parts.append(self._snapshot_part)

    # ------------------------------------------------------------ start

    async def _start(self, tx: Transaction, member: Member, command: RoundStart) -> int | None:
        session_id, _ = await require_seat(tx, member)
        host_id = await self.lock_session(tx, session_id)
        if str(host_id) != member.member_id:
            raise ApiError(403, "host_only", "Only the host can start a round.")
        if await self._open_round(tx.db, session_id) is not None:
            raise ApiError(409, "round_open", "A round is already running: close it first.")
        film_ids = await self._choose_films(tx, session_id, command)
        eligible = await self._present_members(tx.db, session_id, member.member_id)
        now = self.clock_ms()
        round_id = str(uuid.uuid4())
        state: AnyRound
        if command.mode == "match":
            state = MatchRound(
                round_id=round_id, films=film_ids, eligible=eligible, started_at_ms=now
            )
        elif command.mode == "poll":
            deadline = now + int(command.deadline_s * 1000) if command.deadline_s else None
            state = PollRound(
                round_id=round_id,
                films=film_ids,
                eligible=eligible,
                started_at_ms=now,
                method=command.method,
                hidden=command.hidden,
                deadline_ms=deadline,
            )
        else:
            state = VetoRound.begin(
                round_id=round_id,
                films=film_ids,
                order=eligible,
                now_ms=now,
                turn_timeout_ms=self.turn_timeout_ms,
            )
        row = RoundRow(
            id=uuid.UUID(round_id),
            session_id=session_id,
            mode=command.mode,
            status="open",
            state=encode_round(state),
            due_at_ms=_due_at(state),
            created_at=utcnow(),
        )
        tx.db.add(row)
        await tx.db.flush()
        films = await self._films(tx.db, film_ids)
        turn = state.current_turn() if isinstance(state, VetoRound) else None
        limits = await load_limits(tx.db, session_id) if command.films is None else None
        if limits is not None and not to_rules(limits).active:
            limits = None
        event = await tx.emit(
            session_id,
            lambda seq: RoundStarted(
                seq=seq,
                round_id=round_id,
                mode=command.mode,
                method=command.method if command.mode == "poll" else None,
                films=films,
                order=list(eligible) if command.mode == "veto" else [],
                hidden=command.hidden if command.mode == "poll" else False,
                deadline=state.deadline_ms if isinstance(state, PollRound) else None,
                eligible=list(eligible),
                turn=turn,
                turn_ends_at=state.turn_ends_at() if isinstance(state, VetoRound) else None,
                limits=limits,
            ),
        )
        return event.seq

    async def _choose_films(
        self, tx: Transaction, session_id: uuid.UUID, command: RoundStart
    ) -> list[str]:
        if command.films is not None:
            if len(set(command.films)) != len(command.films):
                raise ApiError(400, "bad_films", "A film appears twice in the round's films.")
            if len(command.films) < 2:
                raise ApiError(400, "bad_films", "A round needs at least two films.")
            ids = [int(f) for f in command.films if f.isdigit()]
            known = await catalogue.films_by_id(tx.db, ids)
            if len(known) != len(command.films):
                raise ApiError(400, "film_not_in_round", "A film of the round is not known here.")
            return list(command.films)
        size = command.size or DEFAULT_SIZES[command.mode]
        ranking, _stored, _waiting = await self.watchlists.ranked(tx.db, session_id, limit=size)
        chosen = [str(r.film_id) for r in ranking.films if r.wanted_by > 0]
        if command.mode == "poll":  # nominations always make the shortlist
            nominated = await self.watchlists.nominated_ids(tx.db, session_id)
            chosen += [str(f) for f in nominated if str(f) not in chosen]
        if len(chosen) < (1 if command.mode == "match" else 2):
            raise ApiError(
                409, "no_candidates", "There are not enough candidate films: import lists first."
            )
        return chosen

    async def _present_members(
        self, db: DbSession, session_id: uuid.UUID, starter: str
    ) -> list[str]:
        """Seated members who are online now, in joining order (the starter always counts)."""
        try:
            online = await self.presence.online(str(session_id))
        except Exception:  # presence store down: everyone seated counts
            online = None
        rows = await db.execute(
            select(MemberRow.id)
            .where(MemberRow.session_id == session_id, MemberRow.left_at.is_(None))
            .order_by(MemberRow.joined_at, MemberRow.id)
        )
        members = [str(m) for m in rows.scalars()]
        return [m for m in members if online is None or m in online or m == starter]

    async def _extend(self, tx: Transaction, member: Member, command: RoundExtend) -> int:
        """The host gives everyone more time (WCAG 2.2.1): a poll's deadline moves."""
        session_id, _ = await require_seat(tx, member)
        host_id = await self.lock_session(tx, session_id)
        if str(host_id) != member.member_id:
            raise ApiError(403, "host_only", "Only the host can extend a round.")
        row = await self.round_row(tx.db, session_id, command.round_id)
        state = decode_round(row.mode, row.state)
        deadline = state.extend(command.seconds, now_ms=self.clock_ms())
        row.state = encode_round(state)
        row.due_at_ms = _due_at(state)
        await tx.db.flush()
        event = await tx.emit(
            session_id,
            lambda seq: RoundDeadline(
                seq=seq, round_id=command.round_id, deadline=deadline, by=member.member_id
            ),
        )
        return event.seq

    # ------------------------------------------------------------ votes

    def _command(self, apply: Callable[[AnyRound, Member, R, int], Outcome]) -> Handler[R]:
        async def handle(tx: Transaction, member: Member, command: R) -> int | None:
            session_id, _ = await require_seat(tx, member)
            host_id = await self.lock_session(tx, session_id)
            row = await self.round_row(tx.db, session_id, command.round_id)
            state = decode_round(row.mode, row.state)
            if isinstance(command, RoundClose) and str(host_id) != member.member_id:
                raise ApiError(403, "host_only", "Only the host can close a round.")
            outcome = apply(state, member, command, self.clock_ms())
            return await self.settle(tx, session_id, row, state, outcome, by=member.member_id)

        return handle

    @staticmethod
    def _vote(state: AnyRound, member: Member, command: Vote, now: int) -> Outcome:
        if not isinstance(state, MatchRound):
            raise RoundError("wrong_mode", "Votes are for match rounds.")
        return state.vote(member.member_id, command.film_id, command.choice == "yes")

    @staticmethod
    def _veto(state: AnyRound, member: Member, command: Veto, now: int) -> Outcome:
        if not isinstance(state, VetoRound):
            raise RoundError("wrong_mode", "Strikes are for veto rounds.")
        return state.strike(member.member_id, command.film_id, now_ms=now)

    @staticmethod
    def _close(state: AnyRound, member: Member, command: RoundClose, now: int) -> Outcome:
        return state.close(now_ms=now)

    # ------------------------------------------------------------ outcomes

    async def settle(
        self,
        tx: Transaction,
        session_id: uuid.UUID,
        row: RoundRow,
        state: AnyRound,
        outcome: Outcome,
        *,
        by: str | None = None,
    ) -> int | None:
        """Store the round and announce what changed: a result, a logged strike, or a tally."""
        row.state = encode_round(state)
        row.due_at_ms = _due_at(state)
        if state.status == "closed":
            row.status = "closed"
            row.closed_at = utcnow()
        await tx.db.flush()
        logged: int | None = None
        # A veto's strikes and skips are logged tallies: the last strike too, before the
        # result it decides (a host's close or the last member leaving strikes nothing).
        if (
            isinstance(state, VetoRound)
            and outcome.changed
            and (outcome.result is None or outcome.struck is not None)
        ):
            logged = await self._log_veto_tally(tx, session_id, state, outcome, by)
        if outcome.result is not None:
            result = outcome.result
            films = await self._films(tx.db, [result.winner] if result.winner else [])
            winner = films[0] if films else None
            event = await tx.emit(
                session_id,
                lambda seq: RoundResult(
                    seq=seq,
                    round_id=state.round_id,
                    mode=state.MODE,
                    method=state.method if isinstance(state, PollRound) else None,
                    winner=winner,
                    tied=list(result.tied),
                    explanation=explain(state, result),
                ),
            )
            self._pending.pop(state.round_id, None)
            return event.seq
        if logged is not None:
            return logged
        if outcome.changed:
            tx.after_commit.append(lambda: self._queue_tally(session_id, state))
        return None

    @staticmethod
    async def _log_veto_tally(
        tx: Transaction, session_id: uuid.UUID, state: VetoRound, outcome: Outcome, by: str | None
    ) -> int | None:
        logged = await tx.emit(
            session_id,
            lambda seq: RoundTally(
                seq=seq,
                round_id=state.round_id,
                voted=len(state.strikes),
                eligible=len(state.order),
                turn=state.current_turn(),
                turn_ends_at=state.turn_ends_at(),
                remaining=list(state.remaining),
                struck=outcome.struck,
                by=by if outcome.struck else None,
            ),
        )
        return logged.seq

    @staticmethod
    def _tally(state: AnyRound) -> RoundTally:
        standings = None
        if isinstance(state, PollRound) and not state.hidden:
            standings = state.standings()
        return RoundTally(
            round_id=state.round_id,
            voted=state.voted(),
            eligible=len(state.eligible),
            standings=standings,
            answered=state.answered() if isinstance(state, MatchRound) else {},
        )

    def _queue_tally(self, session_id: uuid.UUID, state: AnyRound) -> None:
        """Keep only the newest state per round; tally and publish it once per interval.

        The standings (a whole method run) are computed at the flush, not per vote.
        """
        first = state.round_id not in self._pending
        self._pending[state.round_id] = (session_id, state)
        if first:
            task = asyncio.get_running_loop().create_task(self._flush(state.round_id))
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)

    async def _flush(self, round_id: str) -> None:
        await asyncio.sleep(self.tally_interval_s)
        pending = self._pending.pop(round_id, None)
        if pending is not None and pending[1].status == "open":
            await self.engine.publish_ephemeral(pending[0], self._tally(pending[1]))

    # ------------------------------------------------------------ the clock

    async def tick(self) -> int:
        """Close polls past their deadline; skip overdue veto turns of offline members."""
        now = self.clock_ms()
        async with self.engine.reader() as db:
            due = (
                await db.execute(
                    select(RoundRow.id, RoundRow.session_id).where(
                        RoundRow.status == "open", RoundRow.due_at_ms <= now
                    )
                )
            ).all()
        acted = 0
        for round_id, session_id in due:
            try:
                online = await self.presence.online(str(session_id))
            except Exception:
                online = set()
            async with self.engine.transaction() as tx:
                row = await tx.db.get(RoundRow, round_id, with_for_update=True)
                if row is None or row.status != "open":
                    continue
                state = decode_round(row.mode, row.state)
                outcome = state.on_clock(now_ms=self.clock_ms(), online=online)
                if outcome.changed or outcome.result is not None:
                    acted += 1
                    await self.settle(tx, session_id, row, state, outcome, by=None)
                else:
                    row.state = encode_round(state)
                    row.due_at_ms = _due_at(state)
        return acted

    async def run_clock(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.tick()
            except Exception as exc:
                log.warning("rounds.clock_failed", error=type(exc).__name__)

    async def close(self) -> None:
        await self.ballot_box.close()
        for task in list(self._flushes):
            task.cancel()
        await asyncio.gather(*self._flushes, return_exceptions=True)

    # ------------------------------------------------------------ membership hooks

    async def _member_left(
        self, tx: Transaction, session_id: uuid.UUID, member_id: uuid.UUID
    ) -> None:
        row = await self._open_round(tx.db, session_id)
        if row is None:
            return
        state = decode_round(row.mode, row.state)
        outcome = state.remove_member(str(member_id), now_ms=self.clock_ms())
        await self.settle(tx, session_id, row, state, outcome, by=None)

    async def _session_ended(self, tx: Transaction, session_id: uuid.UUID) -> None:
        row = await self._open_round(tx.db, session_id)
        if row is not None:
            row.status = "closed"
            row.closed_at = utcnow()
            row.due_at_ms = None

    # ------------------------------------------------------------ snapshot

    async def _snapshot_part(
        self, db: DbSession, snapshots: Mapping[uuid.UUID, Snapshot], viewer: str | None
    ) -> dict[uuid.UUID, Personal]:
        """Each session's latest round (one statement for them all, and one for their films)."""
        rows = (await db.execute(_LATEST_ROUNDS, {"ids": padded(snapshots)})).scalars().all()
        states = {row.session_id: decode_round(row.mode, row.state) for row in rows}
        known = await catalogue.films_by_id(
            db, [int(f) for state in states.values() for f in state.films if f.isdigit()]
        )
        fills: dict[uuid.UUID, Personal] = {}
        for session_id, state in states.items():
            films = [known[int(f)] for f in state.films if f.isdigit() and int(f) in known]
            fills[session_id] = self._round_part(snapshots[session_id], state, films, viewer)
        return fills

    @staticmethod
    def _round_part(
        snapshot: Snapshot, state: AnyRound, films: list[Film], viewer: str | None
    ) -> Personal:
        """Fills in ``snapshot``'s round; returns what fills in a viewer's own ballot."""
        result = state.result
        winner = None
        if result is not None and result.winner is not None:
            winner = next((f for f in films if f.id == result.winner), None)
        info = RoundInfo(
            round_id=state.round_id,
            mode=state.MODE,
            method=state.method if isinstance(state, PollRound) else None,
            status="closed" if state.status == "closed" else "open",
            films=films,
            eligible=list(state.eligible),
            voted=state.voted(),
            winner=winner,
            tied=list(result.tied) if result else [],
            explanation=explain(state, result) if result else None,
        )
        if isinstance(state, PollRound):
            info.hidden = state.hidden
            info.deadline = state.deadline_ms
            info.standings = None if state.hidden else state.standings()
        elif isinstance(state, MatchRound):
            info.answered = state.answered()
        else:
            info.order = list(state.order)
            info.turn = state.current_turn()
            info.turn_ends_at = state.turn_ends_at()
            info.remaining = list(state.remaining)
        snapshot.round = info

        def personal(shown: Snapshot, who: str | None) -> None:
            """The viewer's own ballot or answers (nobody else's)."""
            if shown.round is None:
                return
            if isinstance(state, PollRound):
                ballot = state.ballots.get(who) if who is not None else None
                shown.round.my_ballot = list(ballot) if ballot is not None else None
            elif isinstance(state, MatchRound):
                votes = state.votes.get(who, {}) if who is not None else {}
                shown.round.my_votes = {film: "yes" if yes else "no" for film, yes in votes.items()}

        personal(snapshot, viewer)
        return personal

    # ------------------------------------------------------------ helpers

    @staticmethod
    async def lock_session(tx: Transaction, session_id: uuid.UUID) -> uuid.UUID | None:
        host: uuid.UUID | None = (
            await tx.db.execute(
                select(SessionRow.host_member_id)
                .where(SessionRow.id == session_id)
                .with_for_update()
            )
        ).scalar_one()
        return host

    @staticmethod
    async def _open_round(db: DbSession, session_id: uuid.UUID) -> RoundRow | None:
        return (
            await db.execute(
                select(RoundRow).where(RoundRow.session_id == session_id, RoundRow.status == "open")
            )
        ).scalar_one_or_none()

    @staticmethod
    async def round_row(db: DbSession, session_id: uuid.UUID, round_id: str) -> RoundRow:
        try:
            rid = uuid.UUID(round_id)
        except ValueError:
            rid = None
        row = await db.get(RoundRow, rid) if rid else None
        if row is None or row.session_id != session_id:
            raise ApiError(404, "round_not_found", "There is no such round in this session.")
        return row

    @staticmethod
    async def _films(db: DbSession, film_ids: list[str]) -> list[Film]:
        known = await catalogue.films_by_id(db, [int(f) for f in film_ids if f.isdigit()])
        return [known[int(f)] for f in film_ids if f.isdigit() and int(f) in known]


def _due_at(state: AnyRound) -> int | None:
    if state.status == "closed":
        return None
    return state.due_at()
