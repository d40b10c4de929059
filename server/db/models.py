"""Database models.  The schema changes only through Alembic revisions in migrations/.

Nothing here stores a Letterboxd username or URL, an invite code or a member token:
codes and tokens are kept as SHA-256 hashes only.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from advanced_alchemy.base import DefaultBase, UUIDv7Base
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

__all__ = ["AppliedCommand", "EventRow", "InviteRow", "MemberRow", "PartyRow", "SessionRow"]


class SessionRow(UUIDv7Base):
    """A film-night session: the unit of membership, events and ``seq``."""

    __tablename__ = "fn_session"

    title: Mapped[str] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(16), default="lobby")
    host_member_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    """The newest event's ``seq``; incremented in the transaction that writes the event."""
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    last_activity_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)

    members: Mapped[list[MemberRow]] = relationship(
        back_populates="session", cascade="all, delete-orphan", passive_deletes=True
    )


class MemberRow(UUIDv7Base):
    """A seat in a session.  ``token_hash`` is the SHA-256 of the bearer token."""

    __tablename__ = "fn_member"
    __table_args__ = (Index("ix_fn_member_session", "session_id"),)

    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("fn_session.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    bot: Mapped[bool] = mapped_column(Boolean, default=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    joined_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    left_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    invite_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)

    session: Mapped[SessionRow] = relationship(back_populates="members")


class InviteRow(UUIDv7Base):
    """An invite link.  Only the hash of its code is stored."""

    __tablename__ = "fn_invite"
    __table_args__ = (Index("ix_fn_invite_session", "session_id"),)

    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("fn_session.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    max_members: Mapped[int | None] = mapped_column(Integer, nullable=True)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)


class EventRow(DefaultBase):
    """The durable event log: one row per ``seq``, written with the state change."""

    __tablename__ = "fn_event"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("fn_session.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class AppliedCommand(DefaultBase):
    """Client command ids already applied, so a resent command is not applied twice."""

    __tablename__ = "fn_applied_command"
    __table_args__ = (UniqueConstraint("member_id", "command_id", name="uq_fn_applied_command"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("fn_session.id", ondelete="CASCADE"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("fn_member.id", ondelete="CASCADE"))
    command_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class PartyRow(DefaultBase):
    """The watch party's state (playback clock, ready check, media), one row per session.

    ``state`` is the msgspec-encoded ``server.party.service.PartyRecord``; it changes
    in the same transaction as the event that announces the change.
    """

    __tablename__ = "fn_party"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("fn_session.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
