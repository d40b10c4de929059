"""Film details from a provider (TMDb, Kinopoisk, or none): the film-data layer.

Small modules, re-exported here:

- ``details``: :class:`FilmDetails` and the typed failures (:class:`FilmDataError`);
- ``provider``: the :class:`FilmProvider` interface, ``none``, and the choice by settings;
- ``transport``: timeouts, bounded concurrency, retries honouring ``Retry-After``;
- ``tmdb``, ``kinopoisk``: the two clients;
- ``identity``: when a provider's film is the film a list names (pure);
- ``posters``: fetching, checking and keeping posters;
- ``enrichment``: details for imported films, in the background.
"""

from server.filmdata.details import FailureKind, FilmDataError, FilmDetails
from server.filmdata.identity import TitleMatch, match_title_year, normalize_title
from server.filmdata.posters import PosterRefused, PosterStore
from server.filmdata.provider import KEY_VARIABLE, FilmProvider, NoFilmData, create_provider

__all__ = [
    "KEY_VARIABLE",
    "FailureKind",
    "FilmDataError",
    "FilmDetails",
    "FilmProvider",
    "NoFilmData",
    "PosterRefused",
    "PosterStore",
    "TitleMatch",
    "create_provider",
    "match_title_year",
    "normalize_title",
]
