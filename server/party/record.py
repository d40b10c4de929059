"""The stored form of a session's watch party (one ``fn_party`` row)."""

from __future__ import annotations

import uuid
from typing import Literal

import msgspec
from sqlalchemy import select

from realtime.protocol import PartyInfo, PlaybackInfo
from server.db.engine import DbSession
from server.db.models import PartyRow
from server.party.playback import PlaybackState
from server.party.ready import ReadyCheck

__all__ = ["PartyRecord", "decode_record", "encode_record", "load_party_info", "to_info"]


class PartyRecord(msgspec.Struct, kw_only=True):
    film_title: str | None = None
    media_url: str | None = None
    control: Literal["host", "everyone"] = "host"
    playback: PlaybackState = msgspec.field(default_factory=PlaybackState)
    ready: ReadyCheck = msgspec.field(default_factory=ReadyCheck)

    @property
    def film_set(self) -> bool:
        """The host named a film or gave a video: the ready check and countdown exist."""
        return self.film_title is not None or self.media_url is not None


encode_record = msgspec.msgpack.Encoder().encode
decode_record = msgspec.msgpack.Decoder(PartyRecord).decode


def to_info(record: PartyRecord, online: set[str] | None = None) -> PartyInfo:
    """The party as members see it; with ``online``, only online members count as ready.

    Readiness is cleared when a member's last connection closes; a member whose
    presence merely expired (their server process died) is left out here too.
    """
    p = record.playback
    ready = record.ready.ready if online is None else record.ready.ready & online
    return PartyInfo(
        film_title=record.film_title,
        media_url=record.media_url,
        control=record.control,
        playback=PlaybackInfo(
            state=p.state,
            position_ms=p.position_ms,
            rate=p.rate,
            at=p.at,
            by=p.by,
            version=p.version,
        ),
        ready=sorted(ready),
        countdown_ends_at=record.ready.countdown_ends_at,
    )


async def load_party_info(
    db: DbSession, session_id: uuid.UUID, online: set[str] | None = None
) -> PartyInfo:
    row = (
        await db.execute(select(PartyRow.state).where(PartyRow.session_id == session_id))
    ).first()
    return to_info(decode_record(row[0]) if row else PartyRecord(), online)
