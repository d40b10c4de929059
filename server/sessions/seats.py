"""Seat checks: the session is live and the member still has their seat.

The one rule, and its two refusals, for every command and every batch: a seat is
lost when the member left (``not_a_member``, HTTP 401) or the session ended
(``session_ended``, HTTP 410; it wins when both are true).  On a WebSocket either
code closes the connection with 4410 once the error is sent
(``realtime.connection.SEAT_LOST``, the one place that mapping lives).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from realtime.connection import Member
from server.db.models import MemberRow, SessionRow
from server.errors import ApiError
from server.session_engine import Transaction

__all__ = ["SeatLost", "check_seat", "lost_seat", "require_seat"]


class SeatLost(ApiError):
    """The member's seat is gone: they left, or the session ended."""

    @classmethod
    def session_ended(cls) -> SeatLost:
        return cls(410, "session_ended", "This session has ended.")

    @classmethod
    def not_a_member(cls) -> SeatLost:
        return cls(401, "not_a_member", "You are no longer a member of this session.")


def check_seat(state: str | None, *, left: bool) -> None:
    """Raise :class:`SeatLost` unless the seat holds; ``state`` is the session's
    (``None``: no such member in it), ``left`` whether the member left."""
    if state == "ended":
        raise SeatLost.session_ended()
    if state is None or left:
        raise SeatLost.not_a_member()


async def lost_seat(
    tx: Transaction, session_id: uuid.UUID, member_id: uuid.UUID
) -> SeatLost | None:
    """Why the member has no seat any more, or ``None`` while they have it."""
    # One Core round trip: this runs for every command.
    row = (
        await tx.db.execute(
            select(SessionRow.state, MemberRow.left_at)
            .join(SessionRow, SessionRow.id == MemberRow.session_id)
            .where(MemberRow.id == member_id, MemberRow.session_id == session_id)
        )
    ).first()
    try:
        check_seat(row.state if row else None, left=row is not None and row.left_at is not None)
    except SeatLost as lost:
        return lost
    return None


async def require_seat(tx: Transaction, member: Member) -> tuple[uuid.UUID, uuid.UUID]:
    """The session is live and the member still has their seat (checked in the transaction)."""
    session_id, member_id = uuid.UUID(member.session_id), uuid.UUID(member.member_id)
    lost = await lost_seat(tx, session_id, member_id)
    if lost is not None:
        raise lost
    return session_id, member_id
