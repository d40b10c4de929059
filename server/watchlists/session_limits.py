"""The limits for tonight at rest, and the catalogue facts they are checked against.

The rules themselves are pure (``limits.py``); this module reads and writes the
session's ``limits`` column and each film's runtime, genres and year.  Facts are
read only while limits are set, in chunks (a session of 50 lists of 5,000 films
reads its distinct films once per ranking).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Sequence

import msgspec
from sqlalchemy import bindparam, select, update

from realtime.protocol import Limits
from server.db.engine import DbSession
from server.db.in_lists import padded
from server.db.models import FilmRow, SessionRow
from server.watchlists.limits import FilmFacts, TonightLimits, admitter

__all__ = [
    "excluded_films",
    "film_facts",
    "load_limits",
    "load_limits_of",
    "save_limits",
    "to_protocol",
    "to_rules",
]

CHUNK = 400


def to_rules(limits: Limits) -> TonightLimits:
    return TonightLimits(
        max_runtime_minutes=limits.max_runtime_minutes,
        exclude_genres=tuple(limits.exclude_genres),
        year_from=limits.year_from,
        year_to=limits.year_to,
    )


def to_protocol(limits: TonightLimits) -> Limits:
    return Limits(
        max_runtime_minutes=limits.max_runtime_minutes,
        exclude_genres=list(limits.exclude_genres),
        year_from=limits.year_from,
        year_to=limits.year_to,
    )


async def load_limits(db: DbSession, session_id: uuid.UUID) -> Limits:
    """The session's limits (no bound when none were set, or they cannot be read)."""
    return (await load_limits_of(db, [session_id])).get(session_id, Limits())


_LIMITS_OF = select(SessionRow.id, SessionRow.limits).where(
    SessionRow.id.in_(bindparam("ids", expanding=True))
)


async def load_limits_of(
    db: DbSession, session_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Limits]:
    """The limits of each of ``session_ids`` (no bound when none were set, or they
    cannot be read), in one statement."""
    found = {session_id: Limits() for session_id in session_ids}
    for session_id, stored in await db.execute(_LIMITS_OF, {"ids": padded(session_ids)}):
        if stored:
            with contextlib.suppress(msgspec.ValidationError):
                found[session_id] = msgspec.convert(stored, Limits)
    return found


async def save_limits(db: DbSession, session_id: uuid.UUID, limits: Limits) -> None:
    value = msgspec.to_builtins(limits) if to_rules(limits).active else None
    await db.execute(update(SessionRow).where(SessionRow.id == session_id).values(limits=value))


async def film_facts(db: DbSession, film_ids: Iterable[int]) -> dict[int, FilmFacts]:
    """Runtime, genres and year of each catalogue film (unknown ids are left out)."""
    wanted = sorted(set(film_ids))
    facts: dict[int, FilmFacts] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = await db.execute(
            select(FilmRow.id, FilmRow.runtime_minutes, FilmRow.genres, FilmRow.year).where(
                FilmRow.id.in_(wanted[start : start + CHUNK])
            )
        )
        for film_id, runtime, genres, year in rows:
            facts[film_id] = FilmFacts(runtime, tuple(genres or ()), year)
    return facts


async def excluded_films(db: DbSession, limits: Limits, film_ids: Iterable[int]) -> set[int]:
    """The films of ``film_ids`` the limits leave out (none while no limit is set)."""
    rules = to_rules(limits)
    if not rules.active:
        return set()
    admits = admitter(rules)
    return {f for f, facts in (await film_facts(db, film_ids)).items() if not admits(facts)}
