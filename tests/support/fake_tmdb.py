"""A local fake of TMDb's API v3, answering with TMDb's documented JSON shapes.

Serves ``/3/configuration``, ``/3/search/movie``, ``/3/find/{imdb_id}``,
``/3/movie/{id}`` (with ``append_to_response=external_ids,credits,watch/providers,translations``),
``/3/movie/{id}/watch/providers``, ``/3/watch/providers/regions``,
``/3/watch/providers/movie?watch_region=`` (:data:`REGIONS`, :data:`SERVICES`) and the posters
under ``/t/p/{size}/{file}`` (the ``secure_base_url`` it announces is itself).  It
wants ``Authorization: Bearer <key>``; a wrong key gets TMDb's 401 ``status_code`` 7.
Switches: see ``fake_provider.py``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.support.fake_provider import Answer, FakeMovie, FakeProvider, serve

__all__ = ["FakeTmdb", "fake_tmdb"]

_STATUS = {
    401: (7, "Invalid API key: You must be granted a valid key."),
    402: (25, "Your request count (41) is over the allowed limit of 40."),
    404: (34, "The resource you requested could not be found."),
    429: (25, "Your request count (41) is over the allowed limit of 40."),
}

REGIONS = {
    "DE": ("Germany", "Deutschland"),
    "GB": ("United Kingdom", "United Kingdom"),
    "RU": ("Russia", "Россия"),
    "US": ("United States of America", "United States"),
}
SERVICES: dict[int, tuple[str, dict[str, int]]] = {
    8: ("Netflix", {"DE": 0, "GB": 0, "US": 0}),
    337: ("Disney Plus", {"DE": 1, "GB": 2, "US": 1}),
    119: ("Amazon Prime Video", {"DE": 2, "GB": 1, "US": 2}),
    11: ("MUBI", {"DE": 9, "GB": 8, "US": 9}),
    2: ("Apple TV", {"DE": 5, "GB": 5, "US": 5, "RU": 3}),
    3: ("Google Play Movies", {"DE": 6, "GB": 6, "US": 6, "RU": 4}),
    1803: ("Kion", {"RU": 0}),
}
"""TMDb's ``provider_id`` → name and display priority per region (the real ids)."""

GENRE_IDS = {"Action": 28, "Comedy": 35, "Drama": 18, "Science Fiction": 878, "Animation": 16}


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class FakeTmdb(FakeProvider):
    api_prefix = "/3/"

    def authorized(self, headers: dict[str, str]) -> bool:
        return headers.get("authorization") == f"Bearer {self.key}"

    def refused(self, status: int) -> Answer:
        code, message = _STATUS[402 if status == 402 else status]
        # TMDb has no 402; its "quota" is a 429.  Keep 402 meaning "quota" for the switch.
        return Answer.json(
            429 if status == 402 else status,
            {"status_code": code, "status_message": message, "success": False},
        )

    def poster_film(self, path: str) -> FakeMovie | None:
        if not path.startswith("/t/p/"):
            return None
        name = path.split("/")[4] if path.count("/") >= 4 else ""
        for film in self.films:
            if name == f"poster{film.tmdb_id}.jpg":
                return film
        return FakeMovie(tmdb_id=-1, title="", year=1900, poster=None)

    def _summary(self, film: FakeMovie, language: str) -> dict[str, Any]:
        russian = language.startswith("ru") and film.title_ru
        fields = {
            "adult": False,
            "backdrop_path": None,
            "genre_ids": [GENRE_IDS.get(g, 18) for g in film.genres],
            "id": film.tmdb_id,
            "original_language": "fr" if film.original_title else "en",
            "original_title": film.original_title or film.title,
            "overview": film.overview,
            "popularity": 10.5,
            "poster_path": f"/poster{film.tmdb_id}.jpg" if film.poster else None,
            "release_date": f"{film.year}-06-01",
            "title": film.title_ru if russian else film.title,
            "video": False,
            "vote_average": 7.1,
            "vote_count": 1000,
        }
        return self.film_fields(film.tmdb_id, fields)

    def _watch_providers(self, film: FakeMovie) -> dict[str, Any]:
        results: dict[str, dict[str, Any]] = {}
        slug = film.title.lower().replace(" ", "-")
        for region, kind, ids in film.streaming:
            entry = results.setdefault(
                region,
                {
                    "link": f"https://www.themoviedb.org/movie/{film.tmdb_id}-{slug}/watch?locale={region}"
                },
            )
            entry[kind] = [
                {
                    "logo_path": f"/logo{i}.jpg",
                    "provider_id": i,
                    "provider_name": SERVICES[i][0],
                    "display_priority": SERVICES[i][1].get(region, 50),
                }
                for i in ids
            ]
        return {"results": results}

    def _watch_api(self, path: str, query: dict[str, str]) -> Answer | None:
        if path == "/3/watch/providers/regions":
            return Answer.json(200, {"results": [
                {"iso_3166_1": code, "english_name": english, "native_name": native}
                for code, (english, native) in sorted(REGIONS.items())
            ]})  # fmt: skip
        if path == "/3/watch/providers/movie":
            region = query.get("watch_region", "")
            listed = [
                (i, name, p) for i, (name, p) in SERVICES.items() if not region or region in p
            ]
            return Answer.json(200, {"results": [
                {"display_priorities": priorities, "display_priority": priorities.get(region, 0),
                 "logo_path": f"/logo{i}.jpg", "provider_name": name, "provider_id": i}
                for i, name, priorities in listed
            ]})  # fmt: skip
        if path.startswith("/3/movie/") and path.endswith("/watch/providers"):
            tail = path.split("/")[3]
            film = next((f for f in self.films if str(f.tmdb_id) == tail), None)
            if film is None:
                return self.refused(404)
            return Answer.json(200, {"id": film.tmdb_id, **self._watch_providers(film)})
        return None

    def api(self, path: str, query: dict[str, str]) -> Answer:
        language = query.get("language", "en-US")
        watch = self._watch_api(path, query)
        if watch is not None:
            return watch
        if path == "/3/configuration":
            return Answer.json(
                200,
                {
                    "images": {
                        "base_url": f"{self.base_url}/t/p/",
                        "secure_base_url": f"{self.base_url}/t/p/",
                        "backdrop_sizes": ["w300", "w780", "w1280", "original"],
                        "logo_sizes": ["w45", "w92", "w154", "w185", "w300", "w500", "original"],
                        "poster_sizes": ["w92", "w154", "w185", "w342", "w500", "w780", "original"],
                        "profile_sizes": ["w45", "w185", "h632", "original"],
                        "still_sizes": ["w92", "w185", "w300", "original"],
                    },
                    "change_keys": ["adult", "title"],
                },
            )
        if path == "/3/search/movie":
            words = _fold(query.get("query", "")).split()
            year = query.get("primary_release_year")
            found = [
                f
                for f in self.films
                if words
                and all(
                    w in _fold(f"{f.title} {f.original_title or ''} {f.title_ru or ''}")
                    for w in words
                )
                and (year is None or str(f.year) == year)
            ]
            results = [self._summary(f, language) for f in found]
            return Answer.json(
                200,
                {
                    "page": 1,
                    "results": results,
                    "total_pages": 1 if results else 0,
                    "total_results": len(results),
                },
            )
        if path.startswith("/3/find/"):
            imdb_id = path.rsplit("/", 1)[1]
            found = [f for f in self.films if f.imdb_id and f.imdb_id == imdb_id]
            return Answer.json(
                200,
                {
                    "movie_results": [self._summary(f, language) for f in found],
                    "person_results": [],
                    "tv_results": [],
                    "tv_episode_results": [],
                    "tv_season_results": [],
                },
            )
        if path.startswith("/3/movie/"):
            tail = path.rsplit("/", 1)[1]
            film = next((f for f in self.films if str(f.tmdb_id) == tail), None)
            if film is None:
                return self.refused(404)
            self.delay(film.tmdb_id)
            appended = query.get("append_to_response", "").split(",")
            fields = self._summary(film, language)
            fields.pop("genre_ids")
            fields.update(
                {
                    "belongs_to_collection": None,
                    "budget": 0,
                    "genres": [{"id": GENRE_IDS.get(g, 18), "name": g} for g in film.genres],
                    "homepage": "",
                    "imdb_id": film.imdb_id,
                    "origin_country": ["US"],
                    "runtime": film.runtime,
                    "status": "Released",
                    "tagline": "",
                }
            )
            if "external_ids" in appended:
                fields["external_ids"] = {
                    "imdb_id": film.imdb_id,
                    "wikidata_id": None,
                    "facebook_id": None,
                    "instagram_id": None,
                    "twitter_id": None,
                }
            if "credits" in appended:
                fields["credits"] = {
                    "cast": [{"id": 1, "name": "An Actor", "character": "Lead", "order": 0}],
                    "crew": [
                        {"id": 2, "name": "A Writer", "job": "Screenplay", "department": "Writing"}
                    ]
                    + [
                        {"id": 3 + i, "name": name, "job": "Director", "department": "Directing"}
                        for i, name in enumerate(film.directors)
                    ],
                }
            if "watch/providers" in appended:
                fields["watch/providers"] = self._watch_providers(film)
            if "translations" in appended:
                fields["translations"] = {"translations": self._translations(film)}
            return Answer.json(200, self.film_fields(film.tmdb_id, fields))
        return self.refused(404)

    @staticmethod
    def _translations(film: FakeMovie) -> list[dict[str, Any]]:
        """TMDb's translations: the original language's title is empty (it is the original)."""

        def one(country: str, language: str, name: str, english: str, title: str) -> dict[str, Any]:
            overview = {"en": film.overview, "ru": film.overview_ru or ""}.get(language, "")
            data = {"homepage": "", "overview": overview, "runtime": film.runtime,
                    "tagline": "", "title": title}  # fmt: skip
            return {"iso_3166_1": country, "iso_639_1": language, "name": name,
                    "english_name": english, "data": data}  # fmt: skip

        english = "" if not film.original_title else film.title
        found = [one("US", "en", "English", "English", english)]
        if film.title_ru:
            found.append(one("RU", "ru", "Pусский", "Russian", film.title_ru))
        found.append(one("DE", "de", "Deutsch", "German", ""))
        return found


@contextmanager
def fake_tmdb(films: list[FakeMovie], key: str = "tmdb-test-token") -> Iterator[FakeTmdb]:
    with serve(FakeTmdb(films, key)) as fake:
        yield fake
