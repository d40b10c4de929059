"""TMDb API v3 (``Authorization: Bearer`` with the read access token).

Calls, as TMDb documents them:

- ``GET /3/configuration`` → ``{"images": {"secure_base_url", "poster_sizes": [...]}}``,
  read once: a poster's address is ``secure_base_url + size + poster_path``;
- ``GET /3/search/movie?query=&primary_release_year=&language=&region=`` →
  ``{"page", "results": [{"id", "title", "original_title", "release_date",
  "poster_path", "overview", "genre_ids"}], "total_pages", "total_results"}``;
- ``GET /3/find/{tt…}?external_source=imdb_id`` → ``{"movie_results": [...]}``;
- ``GET /3/movie/{id}?append_to_response=external_ids,credits,watch/providers,translations``
  ``&language=`` →
  ``{"id", "title", "original_title", "original_language", "runtime", "genres": [{"id",
  "name"}], "overview", "poster_path", "release_date", "imdb_id", "external_ids":
  {"imdb_id"}, "credits": {"crew": [{"job", "name"}]}, "watch/providers": {"results":
  {"US": {"link", "flatrate": [{"provider_id", "provider_name", ...}], "rent", "buy"}}},
  "translations": {"translations": [{"iso_3166_1", "iso_639_1", "name", "english_name",
  "data": {"title", "overview", "tagline", "homepage", "runtime"}}]}}``
  (the film's streaming offers in every region at once, JustWatch data, and its
  translations);
- ``GET /3/watch/providers/regions?language=`` → ``{"results": [{"iso_3166_1",
  "english_name", "native_name"}]}``;
- ``GET /3/watch/providers/movie?watch_region=&language=`` → ``{"results":
  [{"provider_id", "provider_name", "display_priority", "display_priorities": {code: n},
  "logo_path"}]}``: the services of one region.

``title`` is in the requested ``language`` (TMDb falls back to the original title
when it has no translation), so it is also the film's ``localized_title``.  The
``translations`` give the title and overview in each of the web client's languages
(``titles``, ``overviews``),
in the same call: a translation's ``title`` is empty in the film's original
language (the original title is that title) and for languages nobody translated.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import msgspec

from server.filmdata.details import (
    TITLE_LANGUAGES,
    FilmDataError,
    FilmDetails,
    checked,
    decode_answer,
    usable,
)
from server.filmdata.transport import ProviderHttp, TransportSettings
from server.streaming.offers import (
    KINDS,
    MAX_REGIONS,
    FilmOffers,
    Offer,
    is_region,
    region_offers,
    usable_offer,
)

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
    original_language: str | None = None
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


class _TranslationData(msgspec.Struct):
    title: str | None = None
    overview: str | None = None


class _Translation(msgspec.Struct):
    iso_639_1: str | None = None
    iso_3166_1: str | None = None
    data: _TranslationData | None = None


class _Translations(msgspec.Struct):
    translations: list[_Translation] = []


class _MovieDetails(_Movie):
    runtime: int | None = None
    genres: list[_Genre] = []
    imdb_id: str | None = None
    external_ids: _ExternalIds | None = None
    credits: _Credits | None = None
    watch_providers: Any = msgspec.field(default=None, name="watch/providers")
    """Read by :func:`watch_offers` entry by entry: one broken entry costs only itself."""
    translations: _Translations | None = None


class _Region(msgspec.Struct):
    iso_3166_1: str
    english_name: str | None = None
    native_name: str | None = None


class _Regions(msgspec.Struct):
    results: list[_Region]


class _Services(msgspec.Struct):
    results: list[dict[str, Any]]


def watch_offers(answer: object) -> FilmOffers | None:
    """``watch/providers`` as offers per region; None when the answer carries none."""
    if not isinstance(answer, dict) or not isinstance(answer.get("results"), dict):
        return None
    found: FilmOffers = {}
    for code, entry in list(answer["results"].items())[:MAX_REGIONS]:
        if not isinstance(code, str) or not is_region(code) or not isinstance(entry, dict):
            continue
        kinds: dict[str, list[Offer]] = {}
        for kind in KINDS:
            listed = entry.get(kind)
            kinds[kind] = [
                offer
                for offer in (
                    usable_offer(item.get("provider_id"), item.get("provider_name"))
                    for item in (listed if isinstance(listed, list) else [])
                    if isinstance(item, dict)
                )
                if offer is not None
            ]
        found[code] = region_offers(kinds)
    return found


def _priority(service: dict[str, Any], region: str) -> int:
    priorities = service.get("display_priorities")
    value = priorities.get(region) if isinstance(priorities, dict) else None
    if not isinstance(value, int):
        value = service.get("display_priority")
    return value if isinstance(value, int) else 10_000


# Where a language has several translations (Portuguese of Brazil and of Portugal), the
# one of the language's home country wins.
HOME_COUNTRY = {"en": "US", "ru": "RU"}


def _titles(movie: _MovieDetails) -> dict[str, str]:
    """The film's title in each of the client's languages TMDb knows."""
    titles: dict[str, str] = {}
    found = movie.translations.translations if movie.translations else []
    for wanted in TITLE_LANGUAGES:
        named = [t for t in found if t.iso_639_1 == wanted and t.data is not None and t.data.title]
        named.sort(key=lambda t: t.iso_3166_1 != HOME_COUNTRY.get(wanted))
        if named and named[0].data is not None and named[0].data.title:
            titles[wanted] = named[0].data.title
        elif movie.original_language == wanted and movie.original_title:
            titles[wanted] = movie.original_title
    # No translation and not the original language: TMDb's own ``title`` would only be the
    # original title again, so the language is left out and the client keeps the list's.
    return titles


def _overviews(movie: _MovieDetails) -> dict[str, str]:
    """The film's overview in each of the client's languages TMDb has one in."""
    overviews: dict[str, str] = {}
    found = movie.translations.translations if movie.translations else []
    for wanted in TITLE_LANGUAGES:
        written = [
            t for t in found if t.iso_639_1 == wanted and t.data is not None and t.data.overview
        ]
        written.sort(key=lambda t: t.iso_3166_1 != HOME_COUNTRY.get(wanted))
        if written and written[0].data is not None and written[0].data.overview:
            overviews[wanted] = written[0].data.overview
    return overviews


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
                self._params(
                    append_to_response="external_ids,credits,watch/providers,translations"
                ),
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
            streaming=watch_offers(movie.watch_providers),
            titles=_titles(movie),
            overviews=_overviews(movie),
        )

    async def watch_regions(self) -> list[tuple[str, str]]:
        """The regions TMDb has streaming data for: ``(code, English name)``, by code."""
        answer = decode_answer(
            await self._http.get_json("/3/watch/providers/regions", self._params()), _Regions
        )
        regions = {
            r.iso_3166_1: " ".join((r.english_name or r.native_name or r.iso_3166_1).split())
            for r in answer.results
            if is_region(r.iso_3166_1)
        }
        return sorted(regions.items())[:MAX_REGIONS]

    async def watch_services(self, region: str) -> list[Offer]:
        """The streaming services of ``region``, in TMDb's display order for it."""
        answer = decode_answer(
            await self._http.get_json(
                "/3/watch/providers/movie", self._params(watch_region=region)
            ),
            _Services,
        )
        ranked = sorted(
            (
                (_priority(item, region), offer.name.casefold(), offer)
                for item in answer.results
                if (offer := usable_offer(item.get("provider_id"), item.get("provider_name")))
                is not None
            ),
            key=lambda entry: entry[:2],
        )
        unique: dict[int, Offer] = {}
        for _, _, offer in ranked:
            unique.setdefault(offer.id, offer)
        return list(unique.values())

    async def aclose(self) -> None:
        await self._http.aclose()
