"""A local fake of the unofficial Kinopoisk API, answering with its documented JSON shapes.

Serves ``/api/v2.1/films/search-by-keyword``, ``/api/v2.2/films/{id}``, the
``/api/v2.2/films?imdbId=`` list and posters under ``/images/posters/kp/{id}.jpg``.
It wants ``X-API-KEY: <key>``: 401 without it, 402 past the daily quota (the
``quota`` switch), 429 past the per-second limit.  Switches: see ``fake_provider.py``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.support.fake_provider import Answer, FakeMovie, FakeProvider, serve

__all__ = ["FakeKinopoisk", "fake_kinopoisk"]

_MESSAGES = {
    401: "You don't have permissions. See https://kinopoiskapiunofficial.tech",
    402: "You exceeded the quota. You have sent 501 request, but available 500 per day",
    404: "Film not found",
    429: "Too many requests",
}
GENRES_RU = {
    "Action": "боевик",
    "Animation": "мультфильм",
    "Comedy": "комедия",
    "Drama": "драма",
    "Science Fiction": "фантастика",
    "Horror": "ужасы",
}


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class FakeKinopoisk(FakeProvider):
    api_prefix = "/api/"

    def authorized(self, headers: dict[str, str]) -> bool:
        return headers.get("x-api-key") == self.key

    def refused(self, status: int) -> Answer:
        return Answer.json(status, {"message": _MESSAGES[status]})

    def poster_film(self, path: str) -> FakeMovie | None:
        if not path.startswith("/images/posters/kp/"):
            return None
        name = path.split("/")[4] if path.count("/") >= 4 else ""
        for film in self.films:
            if name == f"{film.kinopoisk_id}.jpg":
                return film
        return FakeMovie(tmdb_id=-1, title="", year=1900, poster=None)

    def _poster_url(self, film: FakeMovie) -> str | None:
        return f"{self.base_url}/images/posters/kp/{film.kinopoisk_id}.jpg" if film.poster else None

    def _genres(self, film: FakeMovie) -> list[dict[str, str]]:
        return [{"genre": GENRES_RU.get(g, g.lower())} for g in film.genres]

    def _full(self, film: FakeMovie) -> dict[str, Any]:
        fields = {
            "kinopoiskId": film.kinopoisk_id,
            "kinopoiskHDId": None,
            "imdbId": film.imdb_id,
            "nameRu": film.title_ru,
            "nameEn": film.title if film.title_ru else None,
            "nameOriginal": film.original_title or film.title,
            "posterUrl": self._poster_url(film),
            "posterUrlPreview": self._poster_url(film),
            "coverUrl": None,
            "logoUrl": None,
            "reviewsCount": 10,
            "ratingKinopoisk": 7.9,
            "ratingImdb": 7.5,
            "webUrl": f"https://www.kinopoisk.ru/film/{film.kinopoisk_id}/",
            "year": film.year,
            "filmLength": film.runtime,
            "slogan": None,
            "description": film.overview_ru or film.overview,
            "shortDescription": None,
            "type": "FILM",
            "ratingMpaa": None,
            "ratingAgeLimits": "age16",
            "countries": [{"country": "США"}],
            "genres": self._genres(film),
            "startYear": None,
            "endYear": None,
            "serial": False,
            "shortFilm": False,
            "completed": False,
        }
        return self.film_fields(film.tmdb_id, fields)

    def _listed(self, film: FakeMovie) -> dict[str, Any]:
        """An item of the ``/api/v2.2/films`` list (no length, no description)."""
        full = self._full(film)
        keys = ("kinopoiskId", "imdbId", "nameRu", "nameEn", "nameOriginal", "countries",
                "genres", "ratingKinopoisk", "ratingImdb", "year", "type", "posterUrl",
                "posterUrlPreview")  # fmt: skip
        return {key: full[key] for key in keys if key in full}

    def api(self, path: str, query: dict[str, str]) -> Answer:
        if path == "/api/v2.1/films/search-by-keyword":
            words = _fold(query.get("keyword", "")).split()
            found = [
                f
                for f in self.films
                if words and all(w in _fold(f"{f.title} {f.title_ru or ''}") for w in words)
            ]
            films = [
                self.film_fields(
                    f.tmdb_id,
                    {
                        "filmId": f.kinopoisk_id,
                        "nameRu": f.title_ru,
                        "nameEn": f.original_title or f.title,
                        "type": "FILM",
                        "year": str(f.year),
                        "description": f.overview_ru or f.overview,
                        "filmLength": f"{f.runtime // 60}:{f.runtime % 60:02d}",
                        "countries": [{"country": "США"}],
                        "genres": self._genres(f),
                        "rating": "7.9",
                        "ratingVoteCount": 1000,
                        "posterUrl": self._poster_url(f),
                        "posterUrlPreview": self._poster_url(f),
                    },
                )
                for f in found
            ]
            return Answer.json(
                200,
                {
                    "keyword": query.get("keyword", ""),
                    "pagesCount": 1,
                    "films": films,
                    "searchFilmsCountResult": len(films),
                },
            )
        if path == "/api/v2.2/films":
            imdb_id = query.get("imdbId")
            found = [f for f in self.films if imdb_id and f.imdb_id == imdb_id]
            items = [self._listed(f) for f in found]
            return Answer.json(200, {"total": len(items), "totalPages": 1, "items": items})
        if path.startswith("/api/v2.2/films/"):
            tail = path.rsplit("/", 1)[1]
            film = next((f for f in self.films if str(f.kinopoisk_id) == tail), None)
            if film is None:
                return self.refused(404)
            return Answer.json(200, self._full(film))
        return self.refused(404)


@contextmanager
def fake_kinopoisk(films: list[FakeMovie], key: str = "kp-test-key") -> Iterator[FakeKinopoisk]:
    with serve(FakeKinopoisk(films, key)) as fake:
        yield fake
