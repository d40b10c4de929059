"""Command handlers that are not part of a larger domain: chat and reactions.

Each handler runs inside the gateway's transaction and returns the ``seq`` of the
event it wrote (``None`` for ephemeral effects).
"""

from __future__ import annotations

import functools
import math
import time
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import cast

import msgspec
from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    Table,
    bindparam,
    or_,
    select,
    union_all,
)

from realtime.connection import Member
from realtime.protocol import (
    CHAT_MAX_LENGTH,
    Ack,
    Chat,
    ChatEvent,
    ChatLine,
    Reaction,
    ReactionEvent,
    Snapshot,
)
from realtime.ratelimit import TokenBucket
from server.db.engine import DbSession
from server.db.in_lists import padded
from server.db.models import EventRow, MemberRow, SessionRow
from server.errors import ApiError, DomainError
from server.live.batching import (
    CommandBatcher,
    Pending,
    Reply,
    already_applied,
    record_applied,
)
from server.live.gateway import CommandRouter, refusal
from server.session_engine import SessionEngine, Transaction
from server.sessions.seats import check_seat, require_seat
from server.sessions.service import SessionService

__all__ = [
    "CHAT_MAX_LENGTH",
    "REACTIONS",
    "ChatBatch",
    "ChatCommands",
    "recent_chats",
    "validate_chat",
]

PRUNE_FROM = 1024
"""Buckets held before the first prune of refilled ones."""
REACTIONS = frozenset({"👍", "👎", "😂", "😮", "😢", "❤️", "🔥", "🍿", "👏", "🎬"})


def validate_chat(text: str) -> str:
    """Plain text, 1-500 characters after normalizing and trimming (the schema bounds
    the text as sent; NFC can lengthen it); no control characters but newlines."""
    clean = unicodedata.normalize("NFC", text).strip()
    if not clean:
        raise ApiError(400, "chat_empty", "Say something first.")
    if len(clean) > CHAT_MAX_LENGTH:
        raise ApiError(400, "chat_too_long", f"Messages are at most {CHAT_MAX_LENGTH} characters.")
    if any(ch != "\n" and unicodedata.category(ch) in {"Cc", "Cs", "Co"} for ch in clean):
        raise ApiError(400, "bad_text", "Messages cannot contain control characters.")
    return clean


def _now_ms() -> int:
    return int(time.time() * 1000)


class ChatCommands:
    """Chat (kept in the event log) and reactions (ephemeral), with a per-member rate limit.

    Chat messages that arrive together are written in one transaction
    (:class:`ChatBatch`): a busy evening of many small rooms costs one commit per
    batch, not one per message.

    A member's token bucket lives as long as their seat, not their connection: a
    member with several connections shares one, and reconnecting does not refill
    it.  It is released once the member leaves or the session ends (after that
    transaction commits, see :meth:`attach`); a process that only served the
    member's chat, not the leave, drops the bucket once it has refilled, since a
    full bucket decides exactly as a new one (:meth:`_prune`).
    """

    def __init__(
        self,
        engine: SessionEngine,
        *,
        per_second: float = 1.0,
        burst: int = 5,
        history: int = 50,
    ) -> None:
        self._per_second = per_second
        self._burst = burst
        self._history = history
        self._buckets: dict[str, TokenBucket] = {}
        self._prune_at = PRUNE_FROM
        self.batch = ChatBatch(engine, self)

    def register(self, router: CommandRouter) -> None:
        router.register_direct(Chat, self.batch.submit)
        router.register(Reaction, self.reaction)

    def attach(self, sessions: SessionService) -> None:
        """Release buckets when members leave or sessions end."""
        sessions.on_leave.append(self._member_left)
        sessions.on_end.append(self._session_ended)

    async def _member_left(self, tx: Transaction, _: uuid.UUID, member_id: uuid.UUID) -> None:
        tx.after_commit.append(lambda: self.forget(str(member_id)))

    async def _session_ended(self, tx: Transaction, session_id: uuid.UUID) -> None:
        if not self._buckets:
            return
        rows = await tx.db.execute(select(MemberRow.id).where(MemberRow.session_id == session_id))
        members = [str(member_id) for (member_id,) in rows]
        tx.after_commit.append(lambda: self.forget(*members))

    async def snapshot_part(
        self, db: DbSession, snapshots: Mapping[uuid.UUID, Snapshot], viewer: str | None
    ) -> None:
        """A reload keeps the conversation: the snapshot carries the recent chat."""
        chats = await recent_chats(db, list(snapshots), self._history)
        for session_id, snapshot in snapshots.items():
            snapshot.chat = chats[session_id]

    def _throttle(self, member: Member) -> None:
        bucket = self._buckets.get(member.member_id)
        now = time.monotonic()
        if bucket is None:
            if len(self._buckets) >= self._prune_at:
                self._prune(now)
            bucket = self._buckets[member.member_id] = TokenBucket(self._per_second, self._burst)
        wait = bucket.take(now)
        if wait:
            raise ApiError(
                429,
                "rate_limited",
                f"Slow down: next message in {wait:.1f} s.",
                retry_after_ms=math.ceil(wait * 1000),
            )

    async def reaction(self, tx: Transaction, member: Member, command: Reaction) -> int | None:
        if command.emoji not in REACTIONS:
            raise ApiError(400, "bad_reaction", "That reaction is not available.")
        session_id, _ = await require_seat(tx, member)
        self._throttle(member)
        tx.publish_ephemeral(
            session_id, ReactionEvent(member_id=member.member_id, emoji=command.emoji, at=_now_ms())
        )
        return None

    def forget(self, *member_ids: str) -> None:
        """Drop these members' buckets (they left, or their session ended)."""
        for member_id in member_ids:
            self._buckets.pop(member_id, None)

    def _prune(self, now: float) -> None:
        """Drop the buckets that have refilled (amortized: the next prune waits until
        the map has doubled)."""
        for member_id in [m for m, b in self._buckets.items() if b.full(now)]:
            del self._buckets[member_id]
        self._prune_at = max(PRUNE_FROM, 2 * len(self._buckets))


class ChatBatch(CommandBatcher[Chat]):
    """Chat messages in batches: seats checked in one query, each session's ``seq``
    taken once for all its messages, every event row inserted in one statement."""

    def __init__(self, engine: SessionEngine, commands: ChatCommands) -> None:
        super().__init__(Chat, engine)
        self.commands = commands

    async def apply(self, batch: list[Pending[Chat]]) -> list[Reply]:
        replies: list[Reply] = [None] * len(batch)
        decided: set[int] = set()
        texts: dict[int, str] = {}
        for index, pending in enumerate(batch):
            try:
                texts[index] = validate_chat(pending.command.text)
            except DomainError as refused:
                replies[index] = refusal(refused, pending.command_id)
                decided.add(index)
        async with self.engine.transaction(in_place=True) as tx:
            duplicates = await already_applied(tx, batch, replies, decided)
            members = [uuid.UUID(m) for m in {pending.member.member_id for pending in batch}]
            conn = await tx.connection()
            if len(members) == 1:
                rows = await conn.execute(_LOST_SEAT, {"member": members[0]})
            else:
                rows = await conn.execute(_LOST_SEATS, {"members": padded(members)})
            lost = {str(member_id): state for member_id, state in rows}
            by_session: dict[str, list[int]] = defaultdict(list)
            for index, pending in enumerate(batch):
                if index in decided:
                    continue
                try:
                    if pending.member.member_id in lost:
                        check_seat(lost[pending.member.member_id], left=True)
                    self.commands._throttle(pending.member)
                except DomainError as refused:
                    replies[index] = refusal(refused, pending.command_id)
                    continue
                by_session[pending.member.session_id].append(index)
            at = _now_ms()
            session_ids = {session_id: uuid.UUID(session_id) for session_id in by_session}
            emitted = await tx.emit_many(
                {
                    session_ids[session_id]: [
                        _chat_event(batch[i].member.member_id, texts[i], at) for i in indexes
                    ]
                    for session_id, indexes in by_session.items()
                }
            )
            applied: list[tuple[int, int | None]] = []
            for session_id, indexes in by_session.items():
                events = emitted[session_ids[session_id]]
                for index, event in zip(indexes, events, strict=True):
                    applied.append((index, event.seq))
                    if batch[index].command_id is not None:
                        replies[index] = Ack(id=str(batch[index].command_id), seq=event.seq)
            await record_applied(tx, batch, applied)
        for index, first in duplicates:
            replies[index] = replies[first]
        return replies


_MEMBERS = cast(Table, MemberRow.__table__)
_SESSIONS = cast(Table, SessionRow.__table__)


def _lost_seats(members: ColumnElement[bool]) -> Select[uuid.UUID, str]:
    return (
        select(_MEMBERS.c.id, _SESSIONS.c.state)
        .join(_SESSIONS, _SESSIONS.c.id == _MEMBERS.c.session_id)
        .where(members, or_(_MEMBERS.c.left_at.is_not(None), _SESSIONS.c.state == "ended"))
    )


_LOST_SEATS = _lost_seats(_MEMBERS.c.id.in_(bindparam("members", expanding=True)))
"""The seats of a chat batch that are gone (the member left, or the session ended).

Only those come back, so a busy batch reads no rows: a connection's member was
found when it authenticated, and seats are never deleted, only left.
"""
_LOST_SEAT = _lost_seats(_MEMBERS.c.id == bindparam("member", type_=_MEMBERS.c.id.type))
"""The same for a batch of one member's messages, without the expanding ``IN``
(rendered anew at every execution; see ``server.session_engine``)."""


_CHAT_EVENT = msgspec.json.Decoder(ChatEvent)


@functools.lru_cache(maxsize=16)
def _recent_chats_of(sessions: int, limit: int) -> CompoundSelect[uuid.UUID, int, bytes]:
    """The last ``limit`` chat events of each of ``sessions`` sessions (parameters
    ``s0``, ``s1``, ...): a range of the ``(session_id, type, seq)`` index each, newest
    first, together in one statement."""
    ranges = []
    for n in range(sessions):
        newest = (
            select(EventRow.session_id, EventRow.seq, EventRow.payload)
            .where(
                EventRow.session_id == bindparam(f"s{n}", type_=EventRow.session_id.type),
                EventRow.type == "chat",
            )
            .order_by(EventRow.seq.desc())
            .limit(limit)
            .subquery()
        )
        ranges.append(select(newest.c.session_id, newest.c.seq, newest.c.payload))
    return union_all(*ranges)


async def recent_chats(
    db: DbSession, session_ids: Sequence[uuid.UUID], limit: int
) -> dict[uuid.UUID, list[ChatLine]]:
    """Each session's last ``limit`` chat messages of the log, oldest first, with their
    authors' names.

    One range of the ``(session_id, type, seq)`` index per session, newest first, so
    the cost is ``limit`` rows a session whatever the room's size or the length of its
    log; the sessions' ranges in one statement (its number of ranges rounded up to a
    power of two, the last session repeated, so that few shapes are ever compiled);
    then one look-up of the authors' names by primary key (those who left keep theirs).
    """
    lines: dict[uuid.UUID, list[ChatLine]] = {session_id: [] for session_id in session_ids}
    if limit <= 0 or not lines:
        return lines
    shaped = padded(lines)
    rows = await db.execute(
        _recent_chats_of(len(shaped), limit),
        {f"s{n}": session_id for n, session_id in enumerate(shaped)},
    )
    newest: dict[uuid.UUID, dict[int, ChatEvent]] = {session_id: {} for session_id in lines}
    for session_id, seq, payload in rows:  # a repeated session's rows come twice: kept once
        newest[session_id][seq] = _CHAT_EVENT.decode(bytes(payload))
    authors = {
        uuid.UUID(event.member_id) for events in newest.values() for event in events.values()
    }
    if not authors:
        return lines
    names = {
        str(member_id): name
        for member_id, name in await db.execute(
            select(MemberRow.id, MemberRow.name).where(MemberRow.id.in_(padded(authors)))
        )
    }
    for session_id, events in newest.items():
        lines[session_id] = [
            ChatLine(
                seq=event.seq,
                member_id=event.member_id,
                name=names.get(event.member_id, ""),
                text=event.text,
                at=event.at,
            )
            for _, event in sorted(events.items())
        ]
    return lines


def _chat_event(member_id: str, text: str, at: int) -> Callable[[int], ChatEvent]:
    return lambda seq: ChatEvent(seq=seq, member_id=member_id, text=text, at=at)
