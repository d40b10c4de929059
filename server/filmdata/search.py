"""Searching the provider for a film to nominate, and adding the one picked to the catalogue.

The nomination search is the only text a member typed that is ever sent to the
provider (the caller rate-limits it per member).  Its hits carry posters kept by
the server, like every other poster (members' browsers contact no third party).
A failing provider never fails the search: the answer says so in plain words and
the caller still shows the catalogue's own results.
"""

from __future__ import annotations

import asyncio
from typing import Literal, cast

import msgspec
import structlog
from sqlalchemy import select

from server.db.engine import DbSession
from server.db.models import FilmRow
from server.filmdata.details import FilmDataError, FilmDetails
from server.filmdata.posters import PosterStore
from server.filmdata.provider import FilmProvider
from server.session_engine import SessionEngine, utcnow
from server.watchlists.catalogue import POSTER_PATH, title_key

__all__ = ["MAX_HITS", "SEARCH_FAILURES", "ProviderAnswer", "ProviderFilm", "ProviderSearch"]

log = structlog.get_logger(__name__)

MAX_HITS = 8
"""Hits shown (and posters fetched) per search."""

_ONLY_HERE = "only films already here are found."
SEARCH_FAILURES: dict[str, str] = {
    "bad_key": f"The film-data provider refused this server's key: {_ONLY_HERE}",
    "quota": f"The film-data provider's quota is used up for now: {_ONLY_HERE}",
    "down": f"The film-data provider is not answering: {_ONLY_HERE}",
    "malformed": f"The film-data provider sent something unreadable: {_ONLY_HERE}",
}
"""Plain words for the member; never what the provider or the HTTP library said."""


class ProviderFilm(msgspec.Struct, kw_only=True):
    """A film the provider found, not (necessarily) in the catalogue yet."""

    provider: Literal["tmdb", "kinopoisk"]
    provider_id: int
    """Nominate it with ``{"provider_id": ...}``."""
    title: str
    original_title: str | None = None
    year: int | None = None
    poster_url: str | None = None
    """Our own ``/posters/{name}``, when the provider has a poster and it passed the checks."""
    runtime_minutes: int | None = None
    genres: list[str] = msgspec.field(default_factory=list)


ProviderName = Literal["none", "tmdb", "kinopoisk"]


class ProviderAnswer(msgspec.Struct, kw_only=True):
    provider: ProviderName
    films: list[ProviderFilm] = msgspec.field(default_factory=list)
    failure: str | None = None
    """``bad_key``, ``quota``, ``down`` or ``malformed`` when the provider failed."""
    message: str | None = None


class ProviderSearch:
    """The provider's side of the nomination search."""

    def __init__(
        self, engine: SessionEngine, provider: FilmProvider, posters: PosterStore | None
    ) -> None:
        self.engine = engine
        self.provider = provider
        self.posters = posters

    @property
    def enabled(self) -> bool:
        return self.provider.name != "none"

    async def search(self, query: str) -> ProviderAnswer:
        """Up to :data:`MAX_HITS` films for ``query``; a provider failure is in the answer."""
        name = cast(ProviderName, self.provider.name)
        if not self.enabled or not query.strip():
            return ProviderAnswer(provider=name)
        try:
            hits = (await self.provider.search(query.strip(), None))[:MAX_HITS]
        except FilmDataError as failure:
            if failure.kind == "not_found":
                return ProviderAnswer(provider=name)
            log.info("filmdata.search_failed", failure=failure.kind)
            return ProviderAnswer(
                provider=name,
                failure=failure.kind,
                message=SEARCH_FAILURES[failure.kind],
            )
        posters = await asyncio.gather(*(self._poster(hit) for hit in hits))
        films = [
            ProviderFilm(
                provider=hit.source,
                provider_id=hit.provider_id,
                title=hit.title,
                original_title=hit.original_title,
                year=hit.year,
                poster_url=POSTER_PATH + poster if poster else None,
                runtime_minutes=hit.runtime_minutes,
                genres=list(hit.genres),
            )
            for hit, poster in zip(hits, posters, strict=True)
            if hit.provider_id is not None
        ]
        return ProviderAnswer(provider=name, films=films)

    async def _poster(self, details: FilmDetails) -> str | None:
        if self.posters is None:
            return None
        return await self.posters.keep(details.poster_url, self.provider.image_origin)

    async def _known(self, db: DbSession, provider_id: int) -> int | None:
        """The film already in the catalogue under this provider id (the one it counts as)."""
        column = FilmRow.tmdb_id if self.provider.name == "tmdb" else FilmRow.kinopoisk_id
        row = (
            await db.execute(
                select(FilmRow.id, FilmRow.same_as)
                .where(column == provider_id)
                .order_by(FilmRow.id)
                .limit(1)
            )
        ).first()
        if row is None:
            return None
        return int(row.same_as or row.id)

    async def catalogue_film(self, provider_id: int) -> int:
        """The catalogue id of the provider's film ``provider_id``, added with its details.

        Raises :class:`FilmDataError` (``not_found`` for an id the provider does not
        know, or how the provider failed).
        """
        if not self.enabled:
            raise FilmDataError("not_found")
        async with self.engine.reader() as db:
            known = await self._known(db, provider_id)
        if known is not None:
            return known
        details = await self.provider.details(provider_id)
        if details.provider_id != provider_id:
            raise FilmDataError("malformed")
        poster = await self._poster(details)
        async with self.engine.transaction() as tx:
            db = tx.db
            known = await self._known(db, provider_id)  # added meanwhile by another call
            if known is not None:
                return known
            if details.imdb_id:
                same = (
                    await db.execute(select(FilmRow).where(FilmRow.imdb_id == details.imdb_id))
                ).scalar_one_or_none()
                if same is not None:
                    return same.same_as or same.id
            row = FilmRow(
                title=details.title,
                title_key=title_key(details.title),
                year=details.year,
                imdb_id=details.imdb_id,
                tmdb_id=details.tmdb_id,
                kinopoisk_id=details.kinopoisk_id,
                original_title=details.original_title,
                localized_title=details.localized_title,
                runtime_minutes=details.runtime_minutes,
                genres=list(details.genres),
                directors=list(details.directors),
                overview=details.overview,
                poster_file=poster,
                details_source=details.source,
                details_fetched_at=utcnow(),
            )
            db.add(row)
            await db.flush()
            return row.id
