"""The provider interface, the ``none`` provider, and the choice made by configuration.

``film_data`` in ``litestar.toml`` picks ``none`` (the default: no calls, films keep
what their import gave them), ``tmdb`` or ``kinopoisk``.  The provider's key comes
only from the environment variable :data:`KEY_VARIABLE`: it is not a setting, so it
cannot be written in ``litestar.toml``, and nothing in this package stores, logs or
repeats it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from server.filmdata.details import FilmDataError, FilmDetails
from server.filmdata.transport import TransportSettings
from server.settings import Settings, SettingsError

__all__ = [
    "KEY_VARIABLE",
    "FilmProvider",
    "NoFilmData",
    "create_provider",
    "film_data_key",
    "transport_settings",
]

KEY_VARIABLE = "FILMNIGHT_FILM_DATA_KEY"


@runtime_checkable
class FilmProvider(Protocol):
    """Where film details come from.  Every method raises only :class:`FilmDataError`."""

    name: str
    image_origin: str | None
    """``scheme://host[:port]`` posters are fetched from (None: no posters)."""

    async def search(self, title: str, year: int | None) -> list[FilmDetails]:
        """Films the provider finds for a title (and year): partial details, best first."""
        ...

    async def find_by_imdb(self, imdb_id: str) -> FilmDetails | None:
        """The film with this IMDb id (partial details), or None."""
        ...

    async def details(self, provider_id: int) -> FilmDetails:
        """Full details of the provider's film ``provider_id``."""
        ...

    async def prepare(self) -> None:
        """Read what every poster address needs (TMDb's image base); once, lazily."""
        ...

    async def aclose(self) -> None: ...


class NoFilmData:
    """``film_data = "none"``: today's behaviour, not a single outside call."""

    name = "none"
    image_origin: str | None = None

    async def search(self, title: str, year: int | None) -> list[FilmDetails]:
        return []

    async def find_by_imdb(self, imdb_id: str) -> FilmDetails | None:
        return None

    async def details(self, provider_id: int) -> FilmDetails:
        raise FilmDataError("not_found")

    async def prepare(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


def film_data_key(settings: Settings, environ: Mapping[str, str]) -> str:
    """The provider's key from the environment; start-up stops without one."""
    if settings.film_data == "none":
        return ""
    key = environ.get(KEY_VARIABLE, "").strip()
    if not key:
        raise SettingsError(
            f"film_data = {settings.film_data!r} needs the provider's key in the environment "
            f"variable {KEY_VARIABLE} (it is never read from litestar.toml)"
        )
    return key


def transport_settings(settings: Settings, pace: float) -> TransportSettings:
    """The HTTP settings; ``pace``: the provider's requests per second unless configured."""
    return TransportSettings(
        timeout_s=settings.film_data_timeout_s,
        concurrency=settings.film_data_concurrency,
        attempts=settings.film_data_attempts,
        max_retry_after_s=settings.film_data_max_retry_after_s,
        requests_per_second=settings.film_data_requests_per_second or pace,
    )


def create_provider(settings: Settings, environ: Mapping[str, str]) -> FilmProvider:
    """The provider ``settings.film_data`` names; :class:`SettingsError` without its key."""
    key = film_data_key(settings, environ)
    if settings.film_data == "tmdb":
        from server.filmdata import tmdb

        return tmdb.TmdbProvider(
            settings.tmdb_url,
            key,
            transport_settings(settings, tmdb.REQUESTS_PER_SECOND),
            language=settings.film_data_language,
            region=settings.film_data_region,
            poster_size=settings.poster_size,
        )
    if settings.film_data == "kinopoisk":
        from server.filmdata import kinopoisk

        return kinopoisk.KinopoiskProvider(
            settings.kinopoisk_url, key, transport_settings(settings, kinopoisk.REQUESTS_PER_SECOND)
        )
    return NoFilmData()
