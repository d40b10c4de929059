"""HTTP calls for imports, candidates, search and nominations (thin: validate, call, shape)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, JSONBody, MultipartBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from realtime.protocol import Candidate, Film, Limits
from server.auth import require_member
from server.errors import ApiError
from server.filmdata.search import ProviderAnswer
from server.ratelimit import RateLimits
from server.sessions.service import Identity
from server.watchlists.service import WatchlistService

__all__ = ["WatchlistController"]

UPLOAD_BODY_LIMIT = 64 * 1024 * 1024
"""Hard cap on an upload request; ``upload_max_bytes`` (litestar.toml) is the real limit."""


class ImportRequest(msgspec.Struct, forbid_unknown_fields=True):
    letterboxd: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    """A Letterboxd username, or a letterboxd.com profile or watchlist URL."""


class ImportStarted(msgspec.Struct):
    import_id: str


class UploadDone(msgspec.Struct):
    import_id: str
    films: int
    watched: int
    skipped: int
    """Rows that could not be read (the rest were imported)."""
    skipped_lines: list[int]
    """Line numbers of the first rows that could not be read."""
    source: str


class CandidatesBody(msgspec.Struct):
    member_count: int
    candidates: list[Candidate]
    total: int
    waiting: list[str]
    lists: int
    """Members with an imported list (``member_count``'s clearer name)."""
    members: int
    """Members in the session: a film is everyone's only when ``wanted_by == members``."""
    left_out: int = 0
    """Films the limits for tonight left out."""


class LimitsRequest(msgspec.Struct, forbid_unknown_fields=True):
    max_runtime_minutes: int | None = None
    exclude_genres: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=80)]], msgspec.Meta(max_length=100)
    ] = msgspec.field(default_factory=list)
    year_from: int | None = None
    year_to: int | None = None


class LimitsBody(msgspec.Struct):
    limits: Limits
    genres: list[str]
    """The genres the session's films have: the ones the host may leave out."""
    left_out: int
    """Films the limits leave out of the candidates."""


class FilmsBody(msgspec.Struct):
    films: list[Film]


class NominateRequest(msgspec.Struct, forbid_unknown_fields=True):
    film_id: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    title: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    year: int | None = None
    provider_id: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)] | None = None
    """A film of ``GET .../films/provider``: added to the catalogue with its details."""


@dataclass
class UploadForm:
    file: UploadFile | None = None


def _member_key(member: Identity) -> str:
    return str(member.member_id)


class WatchlistController(Controller):
    path = "/api/v1/sessions/{session_id:str}"
    tags = ["watchlists"]
    dependencies = {"member": Provide(require_member)}

    @post(
        "/imports",
        status_code=HTTP_202_ACCEPTED,
        summary="Import your Letterboxd watchlist; progress arrives as WebSocket events",
    )
    async def start_import(
        self,
        data: JSONBody[ImportRequest],
        member: NamedDependency[Identity],
        watchlists: NamedDependency[WatchlistService],
        rate_limits: NamedDependency[RateLimits],
    ) -> ImportStarted:
        await rate_limits.check("imports", _member_key(member))
        return ImportStarted(await watchlists.start_import(member, data.letterboxd))

    @post(
        "/imports/csv",
        status_code=HTTP_201_CREATED,
        request_max_body_size=UPLOAD_BODY_LIMIT,
        summary="Upload a Letterboxd export (ZIP or watchlist.csv) or an IMDb list export",
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        data: MultipartBody[UploadForm],
        member: NamedDependency[Identity],
        watchlists: NamedDependency[WatchlistService],
        rate_limits: NamedDependency[RateLimits],
    ) -> UploadDone:
        if not isinstance(data.file, UploadFile):
            raise ApiError(400, "invalid_body", "Attach the file as the form field 'file'.")
        await rate_limits.check("imports", _member_key(member))
        limit = watchlists.settings.upload_max_bytes
        content = await data.file.read(limit + 1)
        await data.file.close()
        if len(content) > limit:
            raise ApiError(413, "too_large", f"Files are at most {limit // (1024 * 1024)} MB here.")
        summary = await watchlists.upload(member, content, data.file.filename)
        return UploadDone(
            import_id=summary.import_id,
            films=summary.films,
            watched=summary.watched,
            skipped=summary.skipped,
            skipped_lines=summary.skipped_lines,
            source=summary.source,
        )

    @delete(
        "/watchlist",
        status_code=HTTP_204_NO_CONTENT,
        summary="Destroy your imported list (and stop a running import)",
    )
    async def delete_watchlist(
        self, member: NamedDependency[Identity], watchlists: NamedDependency[WatchlistService]
    ) -> None:
        await watchlists.delete_own(member)

    @get("/candidates", summary="Films from everyone's lists, most wanted first")
    async def candidates(
        self,
        member: NamedDependency[Identity],
        watchlists: NamedDependency[WatchlistService],
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, Parameter(ge=0, le=1_000_000)] = 0,
    ) -> CandidatesBody:
        page = await watchlists.candidates(member, limit=limit, offset=offset)
        return CandidatesBody(
            page.member_count,
            page.candidates,
            page.total,
            page.waiting,
            lists=page.member_count,
            members=page.members,
            left_out=page.left_out,
        )

    @get("/limits", summary="The limits for tonight, and the genres the host may leave out")
    async def limits(
        self, member: NamedDependency[Identity], watchlists: NamedDependency[WatchlistService]
    ) -> LimitsBody:
        view = await watchlists.limits(member)
        return LimitsBody(view.limits, view.genres, view.left_out)

    @put("/limits", summary="Set the limits for tonight (host); every member gets a limits event")
    async def set_limits(
        self,
        data: JSONBody[LimitsRequest],
        member: NamedDependency[Identity],
        watchlists: NamedDependency[WatchlistService],
    ) -> LimitsBody:
        wanted = Limits(
            max_runtime_minutes=data.max_runtime_minutes,
            exclude_genres=data.exclude_genres,
            year_from=data.year_from,
            year_to=data.year_to,
        )
        view = await watchlists.set_limits(member, wanted)
        return LimitsBody(view.limits, view.genres, view.left_out)

    @get("/films", summary="Search the catalogue of imported films by title")
    async def search(
        self,
        member: NamedDependency[Identity],
        watchlists: NamedDependency[WatchlistService],
        q: FromQuery[str],
    ) -> FilmsBody:
        return FilmsBody(await watchlists.search(member, q))

    @get(
        "/films/provider",
        summary="Search the film-data provider for a film to nominate (rate-limited per member)",
    )
    async def search_provider(
        self,
        member: NamedDependency[Identity],
        watchlists: NamedDependency[WatchlistService],
        rate_limits: NamedDependency[RateLimits],
        q: FromQuery[str],
    ) -> ProviderAnswer:
        if watchlists.searches_provider and q.strip() and len(q) <= 100:
            await rate_limits.check("provider_searches", _member_key(member))
        return await watchlists.search_provider(member, q)

    @post(
        "/nominations",
        status_code=HTTP_201_CREATED,
        summary="Add a film to the candidates (host): a catalogue film, or a title and year",
    )
    async def nominate(
        self,
        data: JSONBody[NominateRequest],
        member: NamedDependency[Identity],
        watchlists: NamedDependency[WatchlistService],
        rate_limits: NamedDependency[RateLimits],
    ) -> Film:
        given = [data.film_id, data.title, data.provider_id]
        if sum(value is not None for value in given) != 1:
            raise ApiError(
                400, "invalid_body", "Give one of film_id, provider_id or a title (and year)."
            )
        if data.provider_id is not None and member.is_host and watchlists.searches_provider:
            # Each one asks the provider for the film's details: the same budget as searches.
            await rate_limits.check("provider_searches", _member_key(member))
        return await watchlists.nominate(
            member,
            film_id=data.film_id,
            title=data.title,
            year=data.year,
            provider_id=data.provider_id,
        )
