"""Retention: a session that ended or went idle is forgotten, so nothing identifies anyone.

The sweep (``WatchlistService.sweep_retention``, every ``retention_sweep_interval_s``)
first **expires** each session idle for ``retention_hours``: it ends like a session
the host ended (the same ``on_end`` hooks destroy its lists and stop its imports),
with ``session.ended`` ``"expired"``, so every socket closes with 4410 and every
token stops working.  An ended session cannot be resumed or joined, so nothing of
it is read again; the sweep then **forgets** every ended session:

- removed: the durable event log (member names, chat text, ``by`` fields, films
  picked…), import records, lists, nominations, rounds (ballots), the party's
  state (film title and media address), members' regions and streaming services,
  and applied command ids (chosen by clients);
- blanked: member names and the session's title (``""``, which also marks the
  session as forgotten, since a live title is never empty), and the limits for
  tonight (not personal, but a genre left out says something of a group, and an
  ended session needs none);
- kept: counts and times, no names: the session row (created, last activity,
  ended, ``last_seq`` = how many events it had), one row per seat (joined, left,
  bot or not; the token only as the SHA-256 it always was) and the invites (code
  hashes, use counts).

Deleting the event rows rather than scrubbing their payloads is deliberate: a
payload scrubbed field by field is one new event type away from leaking a name.
The public film catalogue is untouched: it is linked to nobody.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, update

from realtime.protocol import SessionEnded
from server.db.engine import DbSession
from server.db.models import (
    AppliedCommand,
    EventRow,
    ImportRow,
    MemberRow,
    NominationRow,
    PartyRow,
    RoundRow,
    SessionRow,
    StreamingChoiceRow,
    WatchlistRow,
)
from server.session_engine import utcnow
from server.sessions.service import SessionService

__all__ = ["FORGOTTEN_TITLE", "expire_if_idle", "forget_session", "idle_sessions", "unforgotten"]

FORGOTTEN_TITLE = ""
"""The title of a forgotten session (a live one is never blank: it defaults to "Film night")."""

_REMOVED = (
    EventRow,
    ImportRow,
    WatchlistRow,
    NominationRow,
    RoundRow,
    PartyRow,
    AppliedCommand,
    StreamingChoiceRow,
)


async def idle_sessions(db: DbSession, cutoff: datetime) -> list[uuid.UUID]:
    """Live sessions whose last activity is older than ``cutoff``."""
    rows = await db.execute(
        select(SessionRow.id).where(
            SessionRow.state != "ended", SessionRow.last_activity_at < cutoff
        )
    )
    return list(rows.scalars())


async def expire_if_idle(sessions: SessionService, session_id: uuid.UUID, cutoff: datetime) -> bool:
    """End the session as ``expired`` if it is still live and idle (checked under its lock)."""
    async with sessions.engine.transaction() as tx:
        session = await tx.db.get(SessionRow, session_id, with_for_update=True)
        if session is None or session.state == "ended" or session.last_activity_at >= cutoff:
            return False
        session.state = "ended"
        session.ended_at = utcnow()
        for hook in sessions.on_end:
            await hook(tx, session.id)
        await tx.emit(session.id, lambda seq: SessionEnded(seq=seq, reason="expired"))
    return True


async def unforgotten(db: DbSession) -> list[uuid.UUID]:
    """Ended sessions that still hold what the sweep removes."""
    rows = await db.execute(
        select(SessionRow.id).where(
            SessionRow.state == "ended", SessionRow.title != FORGOTTEN_TITLE
        )
    )
    return list(rows.scalars())


async def forget_session(db: DbSession, session_id: uuid.UUID) -> bool:
    """Remove and blank what identifies people in an ended session (see the module doc).

    False, touching nothing, unless the session has ended (checked under its lock).
    """
    state = (
        await db.execute(
            select(SessionRow.state).where(SessionRow.id == session_id).with_for_update()
        )
    ).scalar_one_or_none()
    if state != "ended":
        return False
    for table in _REMOVED:
        await db.execute(delete(table).where(table.session_id == session_id))
    await db.execute(update(MemberRow).where(MemberRow.session_id == session_id).values(name=""))
    await db.execute(
        update(SessionRow)
        .where(SessionRow.id == session_id)
        .values(title=FORGOTTEN_TITLE, limits=None)
    )
    return True
