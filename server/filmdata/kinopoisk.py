"""The unofficial Kinopoisk API (``X-API-KEY``), as kinopoiskapiunofficial.tech documents it.

- ``GET /api/v2.1/films/search-by-keyword?keyword=&page=1`` → ``{"keyword",
  "pagesCount", "films": [{"filmId", "nameRu", "nameEn", "type", "year": "1999",
  "description", "filmLength": "2:16", "genres": [{"genre"}], "rating",
  "ratingVoteCount", "posterUrl", "posterUrlPreview"}], "searchFilmsCountResult"}``
  (the length is a string here, the year a string or a number, as public clients
  of this API type it; the search has no year filter);
- ``GET /api/v2.2/films/{kinopoisk_id}`` → ``{"kinopoiskId", "imdbId", "nameRu",
  "nameEn", "nameOriginal", "posterUrl", "posterUrlPreview", "year", "filmLength"
  (minutes), "description", "genres": [{"genre"}], ...}``;
- ``GET /api/v2.2/films?imdbId=tt…`` → ``{"total", "totalPages", "items": [{"kinopoiskId",
  "imdbId", "nameRu", "nameEn", "nameOriginal", "countries", "genres",
  "ratingKinopoisk", "ratingImdb", "year", "type", "posterUrl", "posterUrlPreview"}]}``
  (no length: the film's own answer gives it).

Kinopoisk's titles are Russian first: ``nameRu`` is the ``localized_title``,
``nameOriginal`` (else ``nameEn``) the original; ``titles`` holds ``nameRu`` as ``ru``
and ``nameEn`` as ``en`` (``nameOriginal`` may be in any language, so it is not taken
for English).  Its ``description`` is Russian: ``overviews["ru"]``.  Its film answer
names no director (that is another endpoint, ``/api/v1/staff``), so ``directors`` stays empty.
401 is a bad key, 402 the daily quota, 429 the per-second limit (``transport.py``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import msgspec

from server.filmdata.details import FilmDataError, FilmDetails, checked, decode_answer, usable
from server.filmdata.transport import ProviderHttp, TransportSettings

__all__ = ["REQUESTS_PER_SECOND", "KinopoiskProvider"]

REQUESTS_PER_SECOND = 20.0
"""The pace unless configured: the unofficial API allows about 20 requests a second."""


class _Genre(msgspec.Struct):
    genre: str


class _Found(msgspec.Struct):
    filmId: int  # the API names its fields in camelCase
    nameRu: str | None = None
    nameEn: str | None = None
    year: str | int | None = None
    filmLength: str | None = None
    description: str | None = None
    genres: list[_Genre] = []
    posterUrl: str | None = None
    posterUrlPreview: str | None = None


class _Search(msgspec.Struct):
    films: list[_Found]
    keyword: str | None = None
    pagesCount: int | None = None
    searchFilmsCountResult: int | None = None


class _Film(msgspec.Struct):
    kinopoiskId: int
    imdbId: str | None = None
    nameRu: str | None = None
    nameEn: str | None = None
    nameOriginal: str | None = None
    posterUrl: str | None = None
    posterUrlPreview: str | None = None
    year: int | None = None
    filmLength: int | None = None
    description: str | None = None
    genres: list[_Genre] = []


class _Listed(msgspec.Struct):
    """An item of the ``/api/v2.2/films`` list: fewer fields than a film, and looser types."""

    kinopoiskId: int
    imdbId: str | None = None
    nameRu: str | None = None
    nameEn: str | None = None
    nameOriginal: str | None = None
    year: str | int | None = None
    posterUrl: str | None = None


class _FilmList(msgspec.Struct):
    items: list[_Listed]
    total: int | None = None
    totalPages: int | None = None


def _year(value: str | int | None) -> int | None:
    """``"1999"`` or 1999 → 1999; a series' ``"1999-2003"`` → its first year; else None."""
    if isinstance(value, int):
        return value
    head = (value or "")[:4]
    return int(head) if len(head) == 4 and head.isdigit() else None


def _minutes(text: str | None) -> int | None:
    """``"2:16"`` → 136 (the search's ``h:mm``); ``"136"`` → 136."""
    if not text:
        return None
    hours, _, minutes = text.partition(":")
    if not minutes:
        return int(hours) if hours.isdigit() else None
    if hours.isdigit() and minutes.isdigit():
        return int(hours) * 60 + int(minutes)
    return None


def _titles(russian: str | None, english: str | None) -> dict[str, str]:
    titles = {"ru": russian, "en": english}
    return {language: title for language, title in titles.items() if title}


class KinopoiskProvider:
    """The ``kinopoisk`` provider."""

    name = "kinopoisk"

    def __init__(self, base_url: str, key: str, transport: TransportSettings) -> None:
        self._http = ProviderHttp(base_url, {"X-API-KEY": key}, transport, provider="kinopoisk")
        parts = urlsplit(base_url)
        # Posters are served by the API's own host (``/images/posters/kp/{id}.jpg``).
        self.image_origin: str | None = f"{parts.scheme}://{parts.netloc}"

    async def prepare(self) -> None:
        return None

    @staticmethod
    def _hit(found: _Found) -> FilmDetails:
        title = found.nameRu or found.nameEn
        if not title:
            raise FilmDataError("malformed")
        return checked(
            FilmDetails(
                source="kinopoisk",
                title=title,
                original_title=found.nameEn,
                localized_title=found.nameRu,
                titles=_titles(found.nameRu, found.nameEn),
                year=_year(found.year),
                runtime_minutes=_minutes(found.filmLength),
                genres=tuple(g.genre for g in found.genres),
                overview=found.description,
                poster_url=found.posterUrl,
                kinopoisk_id=found.filmId,
            )
        )

    @staticmethod
    def _film(film: _Film) -> FilmDetails:
        title = film.nameRu or film.nameEn or film.nameOriginal
        if not title:
            raise FilmDataError("malformed")
        return checked(
            FilmDetails(
                source="kinopoisk",
                title=title,
                original_title=film.nameOriginal or film.nameEn,
                localized_title=film.nameRu,
                titles=_titles(film.nameRu, film.nameEn),
                overviews={"ru": film.description} if film.description else {},
                year=film.year,
                runtime_minutes=film.filmLength,
                genres=tuple(g.genre for g in film.genres),
                overview=film.description,
                poster_url=film.posterUrl,
                imdb_id=film.imdbId,
                kinopoisk_id=film.kinopoiskId,
            )
        )

    @staticmethod
    def _listed(item: _Listed) -> FilmDetails:
        title = item.nameRu or item.nameEn or item.nameOriginal
        if not title:
            raise FilmDataError("malformed")
        return checked(
            FilmDetails(
                source="kinopoisk",
                title=title,
                original_title=item.nameOriginal or item.nameEn,
                localized_title=item.nameRu,
                titles=_titles(item.nameRu, item.nameEn),
                year=_year(item.year),
                poster_url=item.posterUrl,
                imdb_id=item.imdbId,
                kinopoisk_id=item.kinopoiskId,
            )
        )

    async def search(self, title: str, year: int | None) -> list[FilmDetails]:
        body = await self._http.get_json(
            "/api/v2.1/films/search-by-keyword", {"keyword": title, "page": 1}
        )
        return usable(self._hit, decode_answer(body, _Search).films)

    async def find_by_imdb(self, imdb_id: str) -> FilmDetails | None:
        body = await self._http.get_json("/api/v2.2/films", {"imdbId": imdb_id})
        films = usable(self._listed, decode_answer(body, _FilmList).items)
        exact = [f for f in films if f.imdb_id == imdb_id]
        return exact[0] if len(exact) == 1 else None

    async def details(self, provider_id: int) -> FilmDetails:
        body = await self._http.get_json(f"/api/v2.2/films/{int(provider_id)}")
        return self._film(decode_answer(body, _Film))

    async def aclose(self) -> None:
        await self._http.aclose()
