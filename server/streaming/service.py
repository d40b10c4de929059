"""Members' streaming services (kept with the session) and the group's availability.

A member saves a region and the services they have there
(:meth:`StreamingService.choose`); the choice is checked against TMDb's lists
(``directory.py``), written with a ``streaming.services`` event in one transaction,
and destroyed when the member leaves or the session ends (and by the retention sweep,
``server/sessions/retention.py``).  :meth:`StreamingService.availability` reads the
choices of the members present and the films' offers from the catalogue, and lets
the pure ``availability.py`` count.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, or_, select

from realtime.connection import Member
from realtime.protocol import StreamingServices
from server.db.engine import DbSession
from server.db.models import FilmRow, MemberRow, StreamingChoiceRow
from server.errors import ApiError
from server.session_engine import SessionEngine, Transaction, utcnow
from server.sessions.seats import require_seat
from server.sessions.service import Identity, SessionService
from server.streaming.availability import (
    FilmAvailability,
    ServiceChoice,
    choosing,
    group_availability,
)
from server.streaming.directory import ServiceDirectory, needs_tmdb
from server.streaming.offers import FilmOffers, Offer, from_json

__all__ = ["MAX_FILMS", "MAX_SERVICES", "GroupAvailability", "StreamingService"]

MAX_SERVICES = 40
"""Services one member may save (more than anyone subscribes to)."""
MAX_FILMS = 200
"""Films one availability call may ask about."""


@dataclass(frozen=True, slots=True)
class OwnChoice:
    region: str
    services: list[Offer]


@dataclass(frozen=True, slots=True)
class GroupAvailability:
    members: int
    """Members in the session (``3 of 4 of you``: the 4)."""
    choosing: int
    """Members who saved a region and at least one service (the filter asks only them)."""
    mine: OwnChoice | None
    films: dict[int, FilmAvailability]


class StreamingService:
    def __init__(self, engine: SessionEngine, directory: ServiceDirectory) -> None:
        self.engine = engine
        self.directory = directory

    def attach(self, sessions: SessionService) -> None:
        """A member's choice goes when they leave; everyone's when the session ends."""
        sessions.on_leave.append(self._member_left)
        sessions.on_end.append(self._session_ended)

    def _require_enabled(self) -> None:
        if not self.directory.enabled:
            raise needs_tmdb()

    async def choose(self, who: Identity, region: str, services: Sequence[int]) -> OwnChoice:
        """Save the member's region and services (checked against TMDb's lists)."""
        self._require_enabled()
        wanted = list(dict.fromkeys(services))
        if len(wanted) > MAX_SERVICES:
            raise ApiError(
                400, "too_many_services", f"Choose at most {MAX_SERVICES} streaming services."
            )
        offered = {o.id: o for o in await self.directory.services(region)}
        unknown = [s for s in wanted if s not in offered]
        if unknown:
            raise ApiError(
                400, "unknown_service", f"Service {unknown[0]} is not offered in {region}."
            )
        async with self.engine.transaction() as tx:
            await require_seat(tx, Member(str(who.session_id), str(who.member_id)))
            row = await tx.db.get(StreamingChoiceRow, who.member_id)
            if row is None:
                row = StreamingChoiceRow(member_id=who.member_id, session_id=who.session_id)
                tx.db.add(row)
            row.region, row.services, row.updated_at = region, wanted, utcnow()
            await tx.db.flush()
            await tx.emit(
                who.session_id,
                lambda seq: StreamingServices(
                    seq=seq, member_id=str(who.member_id), region=region, services=wanted
                ),
            )
        return OwnChoice(region, [offered[s] for s in wanted])

    async def availability(self, who: Identity, film_ids: Sequence[int]) -> GroupAvailability:
        """The group's availability of ``film_ids`` (aliases read through ``same_as``)."""
        self._require_enabled()
        if len(film_ids) > MAX_FILMS:
            raise ApiError(400, "too_many_films", f"Ask about at most {MAX_FILMS} films a time.")
        async with self.engine.reader() as db:
            rows = await db.execute(
                select(StreamingChoiceRow.member_id, StreamingChoiceRow.region,
                       StreamingChoiceRow.services)
                .join(MemberRow, MemberRow.id == StreamingChoiceRow.member_id)
                .where(StreamingChoiceRow.session_id == who.session_id,
                       MemberRow.left_at.is_(None))
            )  # fmt: skip
            choices = [ServiceChoice(str(m), r, frozenset(s or [])) for m, r, s in rows]
            members = len(
                (
                    await db.execute(
                        select(MemberRow.id).where(
                            MemberRow.session_id == who.session_id, MemberRow.left_at.is_(None)
                        )
                    )
                ).all()
            )
            offers = await self._offers(db, film_ids)
        own = next((c for c in choices if c.member_id == str(who.member_id)), None)
        mine = None
        if own is not None:
            names = {o.id: o for o in await self._services_or_empty(own.region)}
            mine = OwnChoice(
                own.region, [names.get(s, Offer(s, str(s))) for s in sorted(own.services)]
            )
        return GroupAvailability(
            members=members,
            choosing=len(choosing(choices)),
            mine=mine,
            films=group_availability(offers, choices, own.region if own else None),
        )

    async def _services_or_empty(self, region: str) -> list[Offer]:
        try:
            return await self.directory.services(region)
        except ApiError:
            return []  # names are a courtesy here: ids stand in while TMDb is away

    @staticmethod
    async def _offers(db: DbSession, film_ids: Sequence[int]) -> dict[int, FilmOffers | None]:
        """Each known film's offers (an alias's when its own were never asked)."""
        wanted = list(dict.fromkeys(film_ids))
        if not wanted:
            return {}
        rows = await db.execute(
            select(FilmRow.id, FilmRow.same_as, FilmRow.streaming).where(
                or_(FilmRow.id.in_(wanted), FilmRow.same_as.in_(wanted))
            )
        )
        own: dict[int, FilmOffers | None] = {}
        aliased: dict[int, FilmOffers] = {}
        for film_id, same_as, stored in rows:
            offers = from_json(stored)
            if film_id in wanted:
                own[film_id] = offers
            if same_as is not None and offers is not None:
                aliased.setdefault(same_as, offers)
        return {
            f: own[f] if own.get(f) is not None else aliased.get(f)
            for f in wanted
            if f in own or f in aliased
        }

    async def _member_left(
        self, tx: Transaction, session_id: uuid.UUID, member_id: uuid.UUID
    ) -> None:
        await tx.db.execute(
            delete(StreamingChoiceRow).where(StreamingChoiceRow.member_id == member_id)
        )

    async def _session_ended(self, tx: Transaction, session_id: uuid.UUID) -> None:
        await tx.db.execute(
            delete(StreamingChoiceRow).where(StreamingChoiceRow.session_id == session_id)
        )
