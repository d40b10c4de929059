"""Command handlers that are not part of a larger domain: chat and reactions.

Each handler runs inside the gateway's transaction and returns the ``seq`` of the
event it wrote (``None`` for ephemeral effects).
"""

from __future__ import annotations

import time
import unicodedata
import uuid

from sqlalchemy import select

from realtime.connection import Member
from realtime.protocol import Chat, ChatEvent, ClientMessage, Reaction, ReactionEvent
from realtime.ratelimit import TokenBucket
from server.db.models import MemberRow, SessionRow
from server.errors import ApiError
from server.live.gateway import CommandRouter
from server.session_engine import Transaction

__all__ = ["CHAT_MAX_LENGTH", "REACTIONS", "ChatCommands", "require_seat", "validate_chat"]

CHAT_MAX_LENGTH = 500
REACTIONS = frozenset({"👍", "👎", "😂", "😮", "😢", "❤️", "🔥", "🍿", "👏", "🎬"})


def validate_chat(text: str) -> str:
    """Plain text, 1-500 characters after trimming; no control characters but newlines."""
    clean = unicodedata.normalize("NFC", text).strip()
    if not clean:
        raise ApiError(400, "chat_empty", "Say something first.")
    if len(clean) > CHAT_MAX_LENGTH:
        raise ApiError(400, "chat_too_long", f"Messages are at most {CHAT_MAX_LENGTH} characters.")
    if any(ch != "\n" and unicodedata.category(ch) in {"Cc", "Cs", "Co"} for ch in clean):
        raise ApiError(400, "bad_text", "Messages cannot contain control characters.")
    return clean


async def require_seat(tx: Transaction, member: Member) -> tuple[uuid.UUID, uuid.UUID]:
    """The session is live and the member still has their seat (checked in the transaction)."""
    session_id, member_id = uuid.UUID(member.session_id), uuid.UUID(member.member_id)
    # One Core round trip: this runs for every command.
    row = (
        await tx.db.execute(
            select(SessionRow.state, MemberRow.left_at)
            .join(SessionRow, SessionRow.id == MemberRow.session_id)
            .where(MemberRow.id == member_id, MemberRow.session_id == session_id)
        )
    ).first()
    if row is None or row.left_at is not None:
        if row is not None and row.state == "ended":
            raise ApiError(410, "session_ended", "This session has ended.")
        raise ApiError(401, "not_a_member", "You are no longer a member of this session.")
    if row.state == "ended":
        raise ApiError(410, "session_ended", "This session has ended.")
    return session_id, member_id


def _now_ms() -> int:
    return int(time.time() * 1000)


class ChatCommands:
    """Chat (kept in the event log) and reactions (ephemeral), with a per-member rate limit."""

    def __init__(self, *, per_second: float = 1.0, burst: int = 5) -> None:
        self._per_second = per_second
        self._burst = burst
        self._buckets: dict[str, TokenBucket] = {}

    def register(self, router: CommandRouter) -> None:
        router.register(Chat, self.chat)
        router.register(Reaction, self.reaction)

    def _throttle(self, member: Member) -> None:
        bucket = self._buckets.setdefault(
            member.member_id, TokenBucket(self._per_second, self._burst)
        )
        wait = bucket.take(time.monotonic())
        if wait:
            raise ApiError(429, "rate_limited", f"Slow down: next message in {wait:.1f} s.")

    async def chat(self, tx: Transaction, member: Member, command: ClientMessage) -> int | None:
        assert isinstance(command, Chat)
        text = validate_chat(command.text)
        session_id, _ = await require_seat(tx, member)
        self._throttle(member)
        event = await tx.emit(
            session_id,
            lambda seq: ChatEvent(seq=seq, member_id=member.member_id, text=text, at=_now_ms()),
        )
        return event.seq

    async def reaction(self, tx: Transaction, member: Member, command: ClientMessage) -> int | None:
        assert isinstance(command, Reaction)
        if command.emoji not in REACTIONS:
            raise ApiError(400, "bad_reaction", "That reaction is not available.")
        session_id, _ = await require_seat(tx, member)
        self._throttle(member)
        tx.publish_ephemeral(
            session_id, ReactionEvent(member_id=member.member_id, emoji=command.emoji, at=_now_ms())
        )
        return None

    def forget(self, member_id: str) -> None:
        self._buckets.pop(member_id, None)
