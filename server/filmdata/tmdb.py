"""TMDb API v3 (``Authorization: Bearer`` with the read access token).

Calls, as TMDb documents them:

- ``GET /3/configuration`` → ``{"images": {"secure_base_url", "poster_sizes": [...]}}``,
  read once: a poster's address is ``secure_base_url + size + poster_path``;
- ``GET /3/search/movie?query=&primary_release_year=&language=&region=`` →
  ``{"page", "results": [{"id", "title", "original_title", "release_date",
  "poster_path", "overview", "genre_ids"}], "total_pages", "total_results"}``;
- ``GET /3/find/{tt…}?external_source=imdb_id`` → ``{"movie_results": [...]}``;
- ``GET /3/movie/{id}?append_to_response=external_ids,credits&language=`` →
  ``{"id", "title", "original_title", "runtime", "genres": [{"id", "name"}],
  "overview", "poster_path", "release_date", "imdb_id", "external_ids": {"imdb_id"},
  "credits": {"crew": [{"job", "name"}]}}``.

``title`` is in the requested ``language`` (TMDb falls back to the original title
when it has no translation), so it is also the film's ``localized_title``.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import msgspec

from server.filmdata.details import FilmDataError, FilmDetails, checked, decode_answer, usable
from server.filmdata.transport import ProviderHttp, TransportSettings

__all__ = ["REQUESTS_PER_SECOND", "TmdbProvider"]

REQUESTS_PER_SECOND = 35.0
"""The pace unless configured: TMDb answers 429 past about 40 a second, and every 429
pauses all requests for its ``Retry-After`` (a second), so a little under it is faster."""


class _Images(msgspec.Struct):
    secure_base_url: str
    poster_sizes: list[str] = []


class _Configuration(msgspec.Struct):
    images: _Images


class _Movie(msgspec.Struct):
    id: int
    title: str | None = None
    original_title: str | None = None
    release_date: str | None = None
    poster_path: str | None = None
    overview: str | None = None


class _SearchPage(msgspec.Struct):
    results: list[_Movie]
    page: int | None = None
    total_pages: int | None = None
    total_results: int | None = None


class _Find(msgspec.Struct):
    movie_results: list[_Movie]


class _Genre(msgspec.Struct):
    name: str


class _Crew(msgspec.Struct):
    job: str | None = None
    name: str | None = None


class _Credits(msgspec.Struct):
    crew: list[_Crew] = []


class _ExternalIds(msgspec.Struct):
    imdb_id: str | None = None


class _MovieDetails(_Movie):
    runtime: int | None = None
    genres: list[_Genre] = []
    imdb_id: str | None = None
    external_ids: _ExternalIds | None = None
    credits: _Credits | None = None


def _year(release_date: str | None) -> int | None:
    head = (release_date or "")[:4]
    return int(head) if len(head) == 4 and head.isdigit() else None


class TmdbProvider:
    """The ``tmdb`` provider."""

    name = "tmdb"

    def __init__(
        self,
        base_url: str,
        token: str,
        transport: TransportSettings,
        *,
        language: str = "",
        region: str = "",
        poster_size: str = "w342",
    ) -> None:
        self._http = ProviderHttp(
            base_url, {"Authorization": f"Bearer {token}"}, transport, provider="tmdb"
        )
        self.language = language
        self.region = region
        self.poster_size = poster_size
        self._poster_base: str | None = None
        self.image_origin: str | None = None
        self._prepared = asyncio.Lock()

    def _params(self, **extra: str | int) -> dict[str, str | int]:
        params: dict[str, str | int] = dict(extra)
        if self.language:
            params["language"] = self.language
        return params

    async def prepare(self) -> None:
        async with self._prepared:
            if self._poster_base is not None:
                return
            config = decode_answer(await self._http.get_json("/3/configuration"), _Configuration)
            base = config.images.secure_base_url
            parts = urlsplit(base)
            if parts.scheme not in ("https", "http") or not parts.netloc:
                raise FilmDataError("malformed")
            sizes = config.images.poster_sizes
            size = self.poster_size if self.poster_size in sizes or not sizes else sizes[0]
            self._poster_base = base.rstrip("/") + "/" + size
            self.image_origin = f"{parts.scheme}://{parts.netloc}"

    def _poster(self, path: str | None) -> str | None:
        if not path or self._poster_base is None or not path.startswith("/"):
            return None
        return self._poster_base + path

    def _film(self, movie: _Movie, **more: object) -> FilmDetails:
        title = movie.title or movie.original_title
        if not title:
            raise FilmDataError("malformed")
        details = FilmDetails(
            source="tmdb",
            title=title,
            original_title=movie.original_title,
            localized_title=movie.title if self.language else None,
            year=_year(movie.release_date),
            overview=movie.overview,
            poster_url=self._poster(movie.poster_path),
            tmdb_id=movie.id,
        )
        return checked(msgspec.structs.replace(details, **more))

    async def search(self, title: str, year: int | None) -> list[FilmDetails]:
        await self.prepare()
        extra: dict[str, str | int] = {"query": title, "include_adult": "false", "page": 1}
        if year is not None:
            extra["primary_release_year"] = year
        if self.region:
            extra["region"] = self.region
        page = decode_answer(
            await self._http.get_json("/3/search/movie", self._params(**extra)), _SearchPage
        )
        return usable(self._film, page.results)

    async def find_by_imdb(self, imdb_id: str) -> FilmDetails | None:
        await self.prepare()
        found = decode_answer(
            await self._http.get_json(
                f"/3/find/{imdb_id}", self._params(external_source="imdb_id")
            ),
            _Find,
        )
        films = usable(self._film, found.movie_results)
        return films[0] if films else None

    async def details(self, provider_id: int) -> FilmDetails:
        await self.prepare()
        movie = decode_answer(
            await self._http.get_json(
                f"/3/movie/{int(provider_id)}",
                self._params(append_to_response="external_ids,credits"),
            ),
            _MovieDetails,
        )
        imdb = movie.imdb_id or (movie.external_ids.imdb_id if movie.external_ids else None)
        crew = movie.credits.crew if movie.credits else []
        return self._film(
            movie,
            runtime_minutes=movie.runtime,
            genres=tuple(g.name for g in movie.genres),
            directors=tuple(c.name for c in crew if c.job == "Director" and c.name),
            imdb_id=imdb,
        )

    async def aclose(self) -> None:
        await self._http.aclose()
