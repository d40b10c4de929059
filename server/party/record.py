"""The stored form of a session's watch party (one ``fn_party`` row)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Literal

import msgspec
from sqlalchemy import bindparam, select

from realtime.protocol import PartyInfo, PlaybackInfo
from server.db.engine import DbSession
from server.db.in_lists import padded
from server.db.models import PartyRow
from server.party.playback import PlaybackState
from server.party.ready import ReadyCheck

__all__ = ["PartyRecord", "decode_record", "encode_record", "load_party_infos", "to_info"]


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


_PARTIES_OF = select(PartyRow.session_id, PartyRow.state).where(
    PartyRow.session_id.in_(bindparam("ids", expanding=True))
)


async def load_party_infos(
    db: DbSession, session_ids: Sequence[uuid.UUID], online: set[str] | None = None
) -> dict[uuid.UUID, PartyInfo]:
    """The parties of ``session_ids``, in one statement (a session with no party row yet
    has the empty party)."""
    stored = dict((await db.execute(_PARTIES_OF, {"ids": padded(session_ids)})).all())
    return {
        session_id: to_info(
            decode_record(stored[session_id]) if session_id in stored else PartyRecord(), online
        )
        for session_id in session_ids
    }
