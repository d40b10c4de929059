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
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

__all__ = [
    "AppliedCommand",
    "EventRow",
    "FilmRow",
    "ImportRow",
    "InviteRow",
    "MemberRow",
    "NominationRow",
    "PartyRow",
    "RoundRow",
    "SessionRow",
    "StreamingChoiceRow",
    "WatchlistRow",
]


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
    limits: Mapped[dict[str, object] | None] = mapped_column(JSON, nullable=True)
    """The host's limits for tonight (``realtime.protocol.Limits`` as JSON; null: none)."""

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
    # A welcome's recent chat: the newest rows of one type, read without a scan.
    __table_args__ = (Index("ix_fn_event_session_type_seq", "session_id", "type", "seq"),)

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
    """The newest event the command caused."""
    first_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The oldest, when it caused several: they are ``first_seq``…``seq`` (a command's
    events are written in one transaction, so their ``seq`` run has no gap)."""
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


class FilmRow(DefaultBase):
    """The public film catalogue: not personal data, and never linked to who imported a film.

    A film is found again by its Letterboxd short id (``lid``), its slug or its IMDb id;
    ``id`` is the ``Film.id`` of the protocol.  The details columns are filled by the
    film-data layer (``server/filmdata``) and refreshed after ``film_data_max_age_days``.
    """

    __tablename__ = "fn_film"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lid: Mapped[str | None] = mapped_column(String(16), unique=True, nullable=True)
    slug: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    imdb_id: Mapped[str | None] = mapped_column(String(16), unique=True, nullable=True)
    letterboxd_id: Mapped[str | None] = mapped_column(String(20), nullable=True)
    title: Mapped[str] = mapped_column(String(300))
    title_key: Mapped[str] = mapped_column(String(300), index=True)
    """Case-folded title, for search and for the documented candidate order."""
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    poster_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # details from the film-data provider
    tmdb_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    kinopoisk_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    same_as: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    """The lowest catalogue id linked to the same provider film: the film this row is
    counted as in candidates (an IMDb row and a Letterboxd row of one film)."""
    original_title: Mapped[str | None] = mapped_column(String(300), nullable=True)
    localized_title: Mapped[str | None] = mapped_column(String(300), nullable=True)
    titles: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    """The title in each web-client language the provider knows: ``{"en": ..., "ru": ...}``."""
    overviews: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    """The overview in each web-client language the provider knows."""
    runtime_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    genres: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    directors: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    overview: Mapped[str | None] = mapped_column(Text, nullable=True)
    poster_file: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The poster kept under ``{data_dir}/posters/``, served at ``/posters/{poster_file}``."""
    details_source: Mapped[str | None] = mapped_column(String(16), nullable=True)
    details_fetched_at: Mapped[datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), nullable=True
    )
    """When the provider was last asked (linked or not): asked again after the max age."""
    streaming: Mapped[dict[str, object] | None] = mapped_column(JSON, nullable=True)
    """Streaming offers per region (``server/streaming/offers.py``'s compact form), from
    TMDb's watch providers (JustWatch data); None: never asked."""


class WatchlistRow(DefaultBase):
    """A member's imported list, only as AES-256-GCM ciphertext under a wrapped data key."""

    __tablename__ = "fn_watchlist"

    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("fn_member.id", ondelete="CASCADE"), primary_key=True
    )
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("fn_session.id", ondelete="CASCADE"), index=True
    )
    kid: Mapped[str] = mapped_column(String(32))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    films: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class ImportRow(UUIDv7Base):
    """One import attempt: its state only (never the username, URL or file name)."""

    __tablename__ = "fn_import"
    __table_args__ = (Index("ix_fn_import_member", "member_id"),)

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("fn_session.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("fn_member.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    films: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)


class NominationRow(DefaultBase):
    """A film the host added to the session's candidates."""

    __tablename__ = "fn_nomination"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("fn_session.id", ondelete="CASCADE"), primary_key=True
    )
    film_id: Mapped[int] = mapped_column(ForeignKey("fn_film.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class RoundRow(UUIDv7Base):
    """A voting round; ``state`` is the msgpack-encoded pure round (votes included)."""

    __tablename__ = "fn_round"
    __table_args__ = (Index("ix_fn_round_session", "session_id"),)

    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("fn_session.id", ondelete="CASCADE"))
    mode: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(8))
    state: Mapped[bytes] = mapped_column(LargeBinary)
    due_at_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    """When the round's clock next needs a look (poll deadline, veto turn timeout)."""
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)


class StreamingChoiceRow(DefaultBase):
    """A member's region and streaming services: kept with the session, like the lists."""

    __tablename__ = "fn_streaming_choice"

    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("fn_member.id", ondelete="CASCADE"), primary_key=True
    )
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("fn_session.id", ondelete="CASCADE"), index=True
    )
    region: Mapped[str] = mapped_column(String(2))
    services: Mapped[list[int]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
