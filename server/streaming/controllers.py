"""HTTP calls for where to stream (thin: validate, call the service, shape)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, JSONBody

from server.auth import require_member
from server.errors import ApiError
from server.ratelimit import RateLimits
from server.sessions.service import Identity
from server.streaming.availability import FilmAvailability
from server.streaming.directory import ServiceDirectory
from server.streaming.offers import Offer
from server.streaming.service import MAX_FILMS, MAX_SERVICES, OwnChoice, StreamingService

__all__ = ["StreamingController"]


class Region(msgspec.Struct):
    code: str
    """ISO 3166-1 alpha-2."""
    name: str
    """TMDb's English name (a client may show its own: the code is what counts)."""


class RegionsBody(msgspec.Struct):
    regions: list[Region]


class Service(msgspec.Struct):
    id: int
    """TMDb's ``provider_id``."""
    name: str


class ServicesBody(msgspec.Struct):
    region: str
    services: list[Service]
    """In TMDb's display order for the region."""


class ChoiceRequest(msgspec.Struct, forbid_unknown_fields=True):
    region: Annotated[str, msgspec.Meta(min_length=2, max_length=2)]
    services: Annotated[list[int], msgspec.Meta(max_length=1000)]


class ChoiceBody(msgspec.Struct):
    region: str
    services: list[Service]


class ServiceStreams(msgspec.Struct):
    service_id: int
    name: str
    members: int


class FilmStreaming(msgspec.Struct):
    film_id: str
    known: bool
    streams: list[ServiceStreams]
    everyone: bool
    other: list[str]
    rent: list[str]
    buy: list[str]


class StreamingBody(msgspec.Struct):
    members: int
    choosing: int
    mine: ChoiceBody | None
    films: list[FilmStreaming]
    max_services: int = MAX_SERVICES


def _services(offers: list[Offer]) -> list[Service]:
    return [Service(o.id, o.name) for o in offers]


def _choice(choice: OwnChoice) -> ChoiceBody:
    return ChoiceBody(choice.region, _services(choice.services))


def _film(film_id: int, found: FilmAvailability) -> FilmStreaming:
    return FilmStreaming(
        film_id=str(film_id),
        known=found.known,
        streams=[ServiceStreams(s.service_id, s.name, s.members) for s in found.streams],
        everyone=found.everyone,
        other=list(found.other),
        rent=list(found.rent),
        buy=list(found.buy),
    )


def _digits(text: str) -> bool:
    text = text.strip()
    return 0 < len(text) <= 10 and text.isascii() and text.isdigit()


def _film_ids(films: str) -> list[int]:
    parts = [p for p in films.split(",") if p.strip()]
    if len(parts) > MAX_FILMS:
        raise ApiError(400, "too_many_films", f"Ask about at most {MAX_FILMS} films a time.")
    try:
        ids = [int(p) for p in parts]
    except ValueError:
        raise ApiError(
            400, "bad_film_ids", "films is a comma-separated list of film ids."
        ) from None
    if any(not 0 < i < 2**31 for i in ids):
        raise ApiError(400, "bad_film_ids", "films is a comma-separated list of film ids.")
    return ids


class StreamingController(Controller):
    path = "/api/v1/sessions/{session_id:str}/streaming"
    tags = ["streaming"]
    dependencies = {"member": Provide(require_member)}

    @get("/regions", summary="Regions with streaming data (TMDb, JustWatch data)")
    async def regions(
        self, member: NamedDependency[Identity], directory: NamedDependency[ServiceDirectory]
    ) -> RegionsBody:
        return RegionsBody([Region(code, name) for code, name in await directory.regions()])

    @get("/services", summary="The streaming services of one region")
    async def services(
        self,
        member: NamedDependency[Identity],
        directory: NamedDependency[ServiceDirectory],
        region: FromQuery[str],
    ) -> ServicesBody:
        return ServicesBody(region, _services(await directory.services(region)))

    @put("/me", summary="Save your region and streaming services")
    async def choose(
        self,
        data: JSONBody[ChoiceRequest],
        member: NamedDependency[Identity],
        streaming: NamedDependency[StreamingService],
        rate_limits: NamedDependency[RateLimits],
    ) -> ChoiceBody:
        # Every saved choice is an event for everyone: a member cannot flood the room with them.
        await rate_limits.check("streaming_choices", str(member.member_id))
        return _choice(await streaming.choose(member, data.region, data.services))

    @get("/", summary="Which of the group's services stream these films")
    async def availability(
        self,
        member: NamedDependency[Identity],
        streaming: NamedDependency[StreamingService],
        films: FromQuery[str] = "",
    ) -> StreamingBody:
        group = await streaming.availability(member, _film_ids(films))
        return StreamingBody(
            members=group.members,
            choosing=group.choosing,
            mine=_choice(group.mine) if group.mine else None,
            films=[_film(f, a) for f, a in group.films.items()],
        )
