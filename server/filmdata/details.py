"""What the film-data layer answers: typed film details, and typed failures.

Everything a provider sends is checked here before it leaves the layer: a value no
film has (a runtime of -5 minutes, a year of 30000, a title of 5,000 characters)
makes the answer ``malformed``, so a broken or hostile provider can cost a film its
details but never put nonsense in the catalogue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal, TypeVar

import msgspec

from server.streaming.offers import FilmOffers

T = TypeVar("T")
Item = TypeVar("Item")

__all__ = [
    "FAILURE_MESSAGES",
    "TITLE_LANGUAGES",
    "FailureKind",
    "FilmDataError",
    "FilmDetails",
    "checked",
    "decode_answer",
    "usable",
]

FailureKind = Literal["bad_key", "quota", "down", "malformed", "not_found"]
"""Why a provider gave no details: its key was refused, its quota (daily or per
second) is spent, it did not answer in time or at all, it answered something that is
not the documented JSON, or it does not know the film."""

FAILURE_MESSAGES: dict[str, str] = {
    "bad_key": "The film-data provider refused the server's key. Films show without details.",
    "quota": "The film-data provider's quota is used up for now. Details will come later.",
    "down": "The film-data provider is not answering. Films show without details for now.",
    "malformed": "The film-data provider sent something unreadable for some films.",
    "not_found": "The film-data provider does not know this film.",
}
"""Plain words for the host; never a status line, URL or key from the provider."""

TITLE_LANGUAGES: tuple[str, ...] = ("en", "ru")
"""The web client's languages: a film's title is kept in each, so every member reads it in
their own (``FilmDetails.titles``), whatever ``film_data_language`` the server asks in."""

MIN_YEAR = 1870
MAX_YEAR = 2100
MAX_RUNTIME_MINUTES = 1500
"""Longer than any released feature (the longest run about 14 hours)."""
MAX_TITLE = 300
MAX_OVERVIEW = 4000
MAX_NAMES = 20
MAX_NAME = 120
MAX_POSTER_URL = 500


class FilmDataError(Exception):
    """A provider call failed; ``kind`` is stable, the message is plain words.

    The message is chosen from :data:`FAILURE_MESSAGES` and never carries what the
    provider or the HTTP library said, so no key or URL can reach a log or a member.
    """

    def __init__(self, kind: FailureKind, *, retry_after_s: float | None = None) -> None:
        super().__init__(FAILURE_MESSAGES[kind])
        self.kind: FailureKind = kind
        self.retry_after_s = retry_after_s


class FilmDetails(msgspec.Struct, kw_only=True, frozen=True):
    """One film as a provider describes it (every field but ``title`` may be unknown)."""

    source: Literal["tmdb", "kinopoisk"]
    title: str
    """The provider's title in the configured language (else its original title)."""
    original_title: str | None = None
    localized_title: str | None = None
    """The title in ``film_data_language``, when the provider has one."""
    titles: dict[str, str] = {}
    """The title in each of :data:`TITLE_LANGUAGES` the provider knows (``{"ru": "Матрица"}``)."""
    overviews: dict[str, str] = {}
    """The overview in each of :data:`TITLE_LANGUAGES` the provider knows."""
    year: int | None = None
    runtime_minutes: int | None = None
    genres: tuple[str, ...] = ()
    overview: str | None = None
    directors: tuple[str, ...] = ()
    poster_url: str | None = None
    """The provider's own poster address (fetched by the server, never by a browser)."""
    tmdb_id: int | None = None
    imdb_id: str | None = None
    kinopoisk_id: int | None = None
    streaming: FilmOffers | None = None
    """Streaming offers per region (TMDb's watch providers); None: not asked."""

    @property
    def provider_id(self) -> int | None:
        """The id :meth:`FilmProvider.details` takes."""
        return self.tmdb_id if self.source == "tmdb" else self.kinopoisk_id


def _text(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    clean = " ".join(value.split())
    if len(clean) > limit or any(ord(ch) < 32 for ch in clean):
        raise FilmDataError("malformed")
    return clean or None


def _overview(value: str | None) -> str | None:
    if not value:
        return None
    clean = " ".join(value.split())
    return clean[:MAX_OVERVIEW] or None


def _titles(titles: dict[str, str]) -> dict[str, str]:
    """The titles in the client's languages; an odd one is dropped, not the film."""
    kept: dict[str, str] = {}
    for language in TITLE_LANGUAGES:
        try:
            title = _text(titles.get(language), MAX_TITLE)
        except FilmDataError:
            continue
        if title:
            kept[language] = title
    return kept


def checked(details: FilmDetails) -> FilmDetails:
    """``details`` with whitespace tidied, or ``FilmDataError("malformed")`` for absurd values."""
    title = _text(details.title, MAX_TITLE)
    if title is None:
        raise FilmDataError("malformed")
    if details.year is not None and not MIN_YEAR <= details.year <= MAX_YEAR:
        raise FilmDataError("malformed")
    runtime = details.runtime_minutes
    if runtime is not None and not 0 <= runtime <= MAX_RUNTIME_MINUTES:
        raise FilmDataError("malformed")
    for number in (details.tmdb_id, details.kinopoisk_id):
        if number is not None and not 0 < number < 2**31:
            raise FilmDataError("malformed")
    imdb = details.imdb_id or None
    if imdb is not None and not (imdb.startswith("tt") and imdb[2:].isdigit() and len(imdb) < 16):
        imdb = None  # TMDb sends "" or null for films IMDb lacks; a junk id is just unknown
    names = (details.genres, details.directors)
    if any(len(group) > MAX_NAMES for group in names):
        raise FilmDataError("malformed")
    poster = details.poster_url
    if poster is not None and (
        len(poster) > MAX_POSTER_URL or not poster.startswith(("https://", "http://"))
    ):
        poster = None  # the poster is optional: an odd address only costs the picture
    return msgspec.structs.replace(
        details,
        title=title,
        original_title=_text(details.original_title, MAX_TITLE),
        localized_title=_text(details.localized_title, MAX_TITLE),
        titles=_titles(details.titles),
        overviews={
            language: text
            for language in TITLE_LANGUAGES
            if (text := _overview(details.overviews.get(language)))
        },
        runtime_minutes=runtime or None,  # providers send 0 for "unknown"
        genres=tuple(g for g in (_text(x, MAX_NAME) for x in details.genres) if g),
        directors=tuple(d for d in (_text(x, MAX_NAME) for x in details.directors) if d),
        overview=_overview(details.overview),
        imdb_id=imdb,
        poster_url=poster,
    )


def decode_answer(data: bytes, kind: type[T]) -> T:
    """A provider's JSON as ``kind``; HTML, an empty body or a wrong shape: ``malformed``."""
    try:
        return msgspec.json.decode(data, type=kind)
    except msgspec.DecodeError:  # a ValidationError is a DecodeError too
        raise FilmDataError("malformed") from None


def usable(make: Callable[[Item], FilmDetails], items: Iterable[Item]) -> list[FilmDetails]:
    """Search hits that pass the checks: a broken hit is left out, not the whole answer."""
    films: list[FilmDetails] = []
    for item in items:
        try:
            films.append(make(item))
        except FilmDataError:
            continue
    return films
