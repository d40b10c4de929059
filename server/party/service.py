"""Watch-party commands: set up the party, ready check and countdown, the playback clock.

Each handler loads the session's party record inside the command's transaction
(a row lock on PostgreSQL), applies a pure rule from ``server.party``, stores the
new record and writes the event: a restart loses nothing, and a reconnecting
member gets the state from the snapshot or the events from the log.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar
from urllib.parse import urlsplit

from sqlalchemy import insert, select, update

from realtime.connection import Member
from realtime.presence import PresenceStore
from realtime.protocol import (
    Countdown,
    CountdownEvent,
    PartyEvent,
    PartySetup,
    Playback,
    PlaybackEvent,
    Ready,
    ReadyEvent,
)
from server.db.models import PartyRow, SessionRow
from server.errors import ApiError
from server.live.gateway import CommandRouter, Handler
from server.party.playback import apply_playback, may_control, postpone_start, reset_playback
from server.party.ready import DEFAULT_COUNTDOWN_S
from server.party.record import PartyRecord, decode_record, encode_record
from server.session_engine import SessionEngine, Transaction, utcnow
from server.sessions.seats import require_seat
from server.shared_reads import BURST_SPACING_S, SharedReads

C = TypeVar("C", PartySetup, Ready, Countdown, Playback)

__all__ = ["PartyCommands", "validate_media_url"]

START_DELAY_MS = 600
"""Play starts this far ahead of the server's now, so every screen starts together."""


def _now_ms() -> int:
    return int(time.time() * 1000)


def validate_media_url(url: str | None) -> str | None:
    """An http(s) address for the browsers to play; the server never fetches it."""
    if url is None or not url.strip():
        return None
    clean = url.strip()
    parts = urlsplit(clean)
    if parts.scheme not in {"http", "https"} or not parts.netloc or any(c.isspace() for c in clean):
        raise ApiError(400, "bad_media_url", "The video address must be an http(s) URL.")
    return clean


READINESS_BATCH = 500
"""Sessions whose party records one query reads for departing members."""


class PartyCommands:
    """Registers the party's command handlers on the gateway's router."""

    def __init__(
        self,
        presence: PresenceStore,
        clock_ms: Callable[[], int] = _now_ms,
        engine: SessionEngine | None = None,
    ) -> None:
        self._presence = presence
        self._clock_ms = clock_ms
        self._engine = engine
        self._readiness: SharedReads[str, tuple[uuid.UUID, str], bool] = SharedReads(
            self._ready_among, spacing_s=BURST_SPACING_S
        )
        """Members who go together (a dropped network, a restart), of one session or
        many, share one read of their sessions' party records."""

    @property
    def readiness_reads(self) -> int:
        """Reads of the party record made for members going offline."""
        return self._readiness.reads

    async def _ready_among(self, _key: str, asks: Sequence[tuple[uuid.UUID, str]]) -> list[bool]:
        """Which of the ``(session, member)`` asks the sessions' party records hold as
        ready (one query per ``READINESS_BATCH`` sessions)."""
        assert self._engine is not None
        ready: dict[uuid.UUID, set[str]] = {}
        sessions = list(dict.fromkeys(session_id for session_id, _ in asks))
        for start in range(0, len(sessions), READINESS_BATCH):
            async with self._engine.reader() as db:
                rows = await db.execute(
                    select(PartyRow.session_id, PartyRow.state).where(
                        PartyRow.session_id.in_(sessions[start : start + READINESS_BATCH])
                    )
                )
                for session_id, state in rows:
                    ready[session_id] = decode_record(state).ready.ready
        return [member_id in ready.get(session_id, ()) for session_id, member_id in asks]

    async def member_offline(self, member: Member) -> None:
        """A member's last connection closed: they are no longer ready (a ``ready`` event).

        Someone who left the room is not waiting for the film; when they come back
        they say so again.  A running countdown goes on: the others are still ready,
        and nobody's flaky connection should hold the group up.
        """
        if self._engine is None:
            return
        session_id = uuid.UUID(member.session_id)
        # Most members who go are not ready: a read shared with the members (of any
        # session) going at the same moment, and no write transaction, for them.
        if not await self._readiness.ask("parties", (session_id, member.member_id)):
            return
        async with self._engine.transaction() as tx:
            live = (
                await tx.db.execute(
                    select(SessionRow.state).where(SessionRow.id == session_id).with_for_update()
                )
            ).scalar_one_or_none()
            row = (
                await tx.db.execute(select(PartyRow.state).where(PartyRow.session_id == session_id))
            ).first()
            if live is None or live == "ended" or row is None:
                return
            record = decode_record(row[0])
            if member.member_id not in record.ready.ready:
                return
            record.ready.forget(member.member_id)
            present = await self._presence.online(member.session_id) - {member.member_id}
            all_ready = record.ready.all_ready(present)
            await tx.db.execute(
                update(PartyRow)
                .where(PartyRow.session_id == session_id)
                .values(state=encode_record(record), updated_at=utcnow())
            )
            await tx.emit(
                session_id,
                lambda seq: ReadyEvent(
                    seq=seq, member_id=member.member_id, ready=False, all_ready=all_ready
                ),
            )

    def register(self, router: CommandRouter) -> None:
        router.register(PartySetup, self._handler(self._setup))
        router.register(Ready, self._handler(self._ready))
        router.register(Countdown, self._handler(self._countdown))
        router.register(Playback, self._handler(self._playback))

    def _handler(
        self,
        apply: Callable[
            [Transaction, Member, C, PartyRecord, uuid.UUID | None], Awaitable[int | None]
        ],
    ) -> Handler[C]:
        async def handle(tx: Transaction, member: Member, command: C) -> int | None:
            session_id, _ = await require_seat(tx, member)
            host_id = (
                await tx.db.execute(
                    select(SessionRow.host_member_id)
                    .where(SessionRow.id == session_id)
                    .with_for_update()
                )
            ).scalar_one()
            row = (
                await tx.db.execute(select(PartyRow.state).where(PartyRow.session_id == session_id))
            ).first()
            record = decode_record(row[0]) if row else PartyRecord()
            seq = await apply(tx, member, command, record, host_id)
            values = {"state": encode_record(record), "updated_at": utcnow()}
            if row:
                await tx.db.execute(
                    update(PartyRow).where(PartyRow.session_id == session_id).values(**values)
                )
            else:
                await tx.db.execute(insert(PartyRow).values(session_id=session_id, **values))
            return seq

        return handle

    @staticmethod
    def _require_host(member: Member, host_id: uuid.UUID | None) -> None:
        if str(host_id) != member.member_id:
            raise ApiError(403, "host_only", "Only the host can do this.")

    async def _setup(
        self,
        tx: Transaction,
        member: Member,
        command: PartySetup,
        record: PartyRecord,
        host_id: uuid.UUID | None,
    ) -> int:
        self._require_host(member, host_id)
        media_url = validate_media_url(command.media_url)
        film_title = (
            command.film_title.strip()
            if command.film_title and command.film_title.strip()
            else None
        )
        # A new film (a title or a video that differs; "Watch it together" sends the
        # round's winner here) starts over: nobody is ready for it yet and its clock
        # is at 0:00, paused.  Changing only who controls playback keeps both.
        reset = (film_title, media_url) != (record.film_title, record.media_url)
        now = self._clock_ms()
        counting = record.ready.running(now)
        record.film_title, record.media_url = film_title, media_url
        record.control = command.control
        if reset:
            record.ready.clear()
            record.playback = reset_playback(
                record.playback, member_id=member.member_id, now_ms=now
            )
        session_id = uuid.UUID(member.session_id)
        event = await tx.emit(
            session_id,
            lambda seq: PartyEvent(
                seq=seq,
                film_title=record.film_title,
                media_url=record.media_url,
                control=record.control,
                reset=reset,
            ),
        )
        if not reset:
            return event.seq
        if counting:  # clients that know no ``reset`` still see the countdown go
            await tx.emit(
                session_id, lambda seq: CountdownEvent(seq=seq, ends_at=None, by=member.member_id)
            )
        return await self._emit_playback(tx, member, record)

    async def _ready(
        self,
        tx: Transaction,
        member: Member,
        command: Ready,
        record: PartyRecord,
        host_id: uuid.UUID | None,
    ) -> int:
        now = self._clock_ms()
        cancelled = record.ready.set_ready(
            member.member_id, command.ready, now_ms=now, film_set=record.film_set
        )
        present = await self._presence.online(member.session_id)
        all_ready = record.ready.all_ready(present)
        session_id = uuid.UUID(member.session_id)
        event = await tx.emit(
            session_id,
            lambda seq: ReadyEvent(
                seq=seq, member_id=member.member_id, ready=command.ready, all_ready=all_ready
            ),
        )
        if cancelled:
            return await self._stop_countdown(tx, member, record, now)
        if (
            all_ready
            and command.ready
            and record.playback.state == "paused"
            and not record.ready.running(now)
        ):
            # Everyone present is ready: the countdown starts by itself (not while the
            # film plays: someone re-readying mid-film starts nothing).
            return await self._start_countdown(
                tx, member, record, present, now, DEFAULT_COUNTDOWN_S, False
            )
        return event.seq

    async def _countdown(
        self,
        tx: Transaction,
        member: Member,
        command: Countdown,
        record: PartyRecord,
        host_id: uuid.UUID | None,
    ) -> int:
        self._require_host(member, host_id)
        now = self._clock_ms()
        playing = record.playback.state == "playing" and record.playback.at <= now
        if command.action == "cancel":
            record.ready.cancel_running(now, playing=playing)
            return await self._stop_countdown(tx, member, record, now)
        if command.action == "extend":
            return await self._extend_countdown(tx, member, record, now, command.seconds, playing)
        present = await self._presence.online(member.session_id)
        return await self._start_countdown(
            tx, member, record, present, now, command.seconds, command.force
        )

    async def _start_countdown(
        self,
        tx: Transaction,
        member: Member,
        record: PartyRecord,
        present: set[str],
        now: int,
        seconds: int,
        force: bool,
    ) -> int:
        """Count down, and schedule playback to start the moment the countdown ends."""
        ends_at = record.ready.start_countdown(
            present,
            now_ms=now,
            seconds=seconds,
            force=force,
            film_set=record.film_set,
            # Playing, or a start already scheduled: a countdown would end in nothing.
            playing=record.playback.state == "playing",
        )
        session_id = uuid.UUID(member.session_id)
        await tx.emit(
            session_id,
            lambda seq: CountdownEvent(seq=seq, ends_at=ends_at, by=member.member_id, forced=force),
        )
        if record.playback.state == "paused":
            record.playback = apply_playback(
                record.playback,
                "play",
                member_id=member.member_id,
                now_ms=now,
                start_delay=ends_at - now,
            )
            return await self._emit_playback(tx, member, record)
        return tx.last_seq

    async def _extend_countdown(
        self,
        tx: Transaction,
        member: Member,
        record: PartyRecord,
        now: int,
        seconds: int,
        playing: bool,
    ) -> int:
        """More time (WCAG 2.2.1): the countdown and the start it scheduled move together."""
        ends_at = record.ready.extend(now, seconds, playing=playing)
        session_id = uuid.UUID(member.session_id)
        await tx.emit(
            session_id,
            lambda seq: CountdownEvent(seq=seq, ends_at=ends_at, by=member.member_id),
        )
        moved = postpone_start(
            record.playback, at_ms=ends_at, member_id=member.member_id, now_ms=now
        )
        if moved is record.playback:
            return tx.last_seq
        record.playback = moved
        return await self._emit_playback(tx, member, record)

    async def _stop_countdown(
        self, tx: Transaction, member: Member, record: PartyRecord, now: int
    ) -> int:
        """Cancel the countdown; a start it scheduled that has not happened is undone."""
        record.ready.cancel()
        await tx.emit(
            uuid.UUID(member.session_id),
            lambda seq: CountdownEvent(seq=seq, ends_at=None, by=member.member_id),
        )
        playback = record.playback
        if playback.state == "playing" and playback.at > now:
            record.playback = apply_playback(
                playback, "pause", member_id=member.member_id, now_ms=now
            )
            return await self._emit_playback(tx, member, record)
        return tx.last_seq

    async def _playback(
        self,
        tx: Transaction,
        member: Member,
        command: Playback,
        record: PartyRecord,
        host_id: uuid.UUID | None,
    ) -> int | None:
        host = str(host_id) if host_id else None
        if not may_control(member.member_id, host, record.control):
            raise ApiError(403, "not_controller", "Only the host controls playback in this party.")
        before = record.playback
        now = self._clock_ms()
        record.playback = apply_playback(
            before,
            command.action,
            member_id=member.member_id,
            now_ms=now,
            position_ms=command.position_ms,
            rate=command.rate,
            base_version=command.base_version,
            start_delay=START_DELAY_MS,
        )
        if record.playback is before:  # play while playing, pause while paused: no event
            return None
        seq = await self._emit_playback(tx, member, record)
        if record.playback.state == "paused" and record.ready.running(now):
            # The pause undid the start the countdown scheduled: the countdown goes too,
            # or it would reach zero and start nothing.
            record.ready.cancel()
            seq = (
                await tx.emit(
                    uuid.UUID(member.session_id),
                    lambda seq: CountdownEvent(seq=seq, ends_at=None, by=member.member_id),
                )
            ).seq
        return seq

    @staticmethod
    async def _emit_playback(tx: Transaction, member: Member, record: PartyRecord) -> int:
        p = record.playback
        event = await tx.emit(
            uuid.UUID(member.session_id),
            lambda seq: PlaybackEvent(
                seq=seq,
                state=p.state,
                position_ms=p.position_ms,
                rate=p.rate,
                at=p.at,
                by=p.by or member.member_id,
                version=p.version,
            ),
        )
        return event.seq
