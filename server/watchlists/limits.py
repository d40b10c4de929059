"""Limits for tonight: the host bounds candidates and rounds by runtime, genres and years.

Pure: no framework, no database.  The service reads each film's facts (runtime,
genres, year) from the catalogue and asks :func:`admits`; :func:`check_limits`
refuses absurd limits with stable codes before anything is stored.

Rules (docs/protocol.md quotes them):

- ``max_runtime_minutes``: films longer than this are left out.
- ``exclude_genres``: films with any of these genres are left out (genres compare
  case-insensitively, so ``Horror`` from an IMDb export and ``horror`` match).
- ``year_from`` / ``year_to``: films released before / after are left out.
- **A film without the fact a limit asks about is kept.**  A runtime, a genre or a
  year nobody knows cannot prove the film breaks the limit, and with
  ``film_data = "none"`` no Letterboxd row has a runtime or genres at all: leaving
  unknowns out would empty the candidates.  Members see how many films the limits
  left out, never a film vanishing silently.
- The genres the host may exclude are the ones the session's films have
  (:func:`genres_of`): excluding a genre no film has is a mistake worth saying.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from server.errors import DomainError

__all__ = [
    "MAX_EXCLUDED_GENRES",
    "MAX_RUNTIME_LIMIT",
    "MAX_YEAR",
    "MIN_YEAR",
    "FilmFacts",
    "LimitsError",
    "TonightLimits",
    "admits",
    "admitter",
    "check_limits",
    "genres_of",
]

MAX_RUNTIME_LIMIT = 600
"""Minutes: a bound above ten hours bounds nothing on a film night."""
MIN_YEAR = 1870
MAX_YEAR = 2100
MAX_EXCLUDED_GENRES = 20


class LimitsError(DomainError):
    """Limits that cannot be set: ``bad_runtime``, ``bad_years``, ``unknown_genre``,
    ``too_many_genres``."""


@dataclass(frozen=True, slots=True)
class TonightLimits:
    """The host's bounds; ``None`` / empty means no bound."""

    max_runtime_minutes: int | None = None
    exclude_genres: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None

    @property
    def active(self) -> bool:
        return bool(
            self.max_runtime_minutes is not None
            or self.exclude_genres
            or self.year_from is not None
            or self.year_to is not None
        )


@dataclass(frozen=True, slots=True)
class FilmFacts:
    """What the limits look at; ``None`` / empty: not known."""

    runtime_minutes: int | None = None
    genres: tuple[str, ...] = ()
    year: int | None = None


def _genre_key(genre: str) -> str:
    return " ".join(genre.casefold().split())


def genres_of(films: Iterable[FilmFacts]) -> list[str]:
    """Every genre the films have, once (case-insensitively), sorted for people."""
    found: dict[str, str] = {}
    for film in films:
        for genre in film.genres:
            key = _genre_key(genre)
            if key and key not in found:
                found[key] = " ".join(genre.split())
    return sorted(found.values(), key=_genre_key)


def check_limits(limits: TonightLimits, known_genres: Iterable[str]) -> TonightLimits:
    """``limits`` with genres spelled as the films spell them, or :class:`LimitsError`."""
    runtime = limits.max_runtime_minutes
    if runtime is not None and not 1 <= runtime <= MAX_RUNTIME_LIMIT:
        raise LimitsError(
            "bad_runtime", f"The longest runtime must be 1 to {MAX_RUNTIME_LIMIT} minutes."
        )
    for year in (limits.year_from, limits.year_to):
        if year is not None and not MIN_YEAR <= year <= MAX_YEAR:
            raise LimitsError("bad_years", f"Years must be {MIN_YEAR} to {MAX_YEAR}.")
    if (
        limits.year_from is not None
        and limits.year_to is not None
        and limits.year_from > limits.year_to
    ):
        raise LimitsError("bad_years", "The first year comes after the last one.")
    wanted = list(dict.fromkeys(_genre_key(g) for g in limits.exclude_genres))
    if len(wanted) > MAX_EXCLUDED_GENRES:
        raise LimitsError("too_many_genres", f"Leave out at most {MAX_EXCLUDED_GENRES} genres.")
    spelled = {_genre_key(g): g for g in known_genres}
    unknown = [g for g in wanted if g not in spelled]
    if unknown:
        raise LimitsError(
            "unknown_genre", "None of tonight's films has that genre: pick one from the list."
        )
    return TonightLimits(
        max_runtime_minutes=runtime,
        exclude_genres=tuple(spelled[g] for g in wanted),
        year_from=limits.year_from,
        year_to=limits.year_to,
    )


def admitter(limits: TonightLimits) -> Callable[[FilmFacts], bool]:
    """:func:`admits` for one set of limits, its genre keys worked out once (for many films)."""
    runtime = limits.max_runtime_minutes
    year_from, year_to = limits.year_from, limits.year_to
    excluded = frozenset(_genre_key(g) for g in limits.exclude_genres)

    def check(film: FilmFacts) -> bool:
        minutes = film.runtime_minutes
        if runtime is not None and minutes is not None and minutes > runtime:
            return False
        if film.year is not None:
            if year_from is not None and film.year < year_from:
                return False
            if year_to is not None and film.year > year_to:
                return False
        if excluded and film.genres:
            return not any(_genre_key(g) in excluded for g in film.genres)
        return True

    return check


def admits(limits: TonightLimits, film: FilmFacts) -> bool:
    """Whether the film stays within the limits (an unknown fact never leaves it out)."""
    return admitter(limits)(film)
