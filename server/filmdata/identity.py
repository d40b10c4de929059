"""One film across sources: when a provider's film is the film a list names.  Pure, no I/O.

- An IMDb id (``tt…``) links exactly: TMDb's ``/find`` and Kinopoisk's ``imdbId``
  filter look the id up, and nothing is guessed.
- A row with only a title and a year (every Letterboxd export row) links only when
  the provider's search returns **exactly one** film whose normalized title (its
  title, original title or localized title) equals the row's and whose year equals
  the row's.  No year, no hit, or two or more such films: the row stays unlinked.
  Several films share a title and a year (Letterboxd lists more than one *Leo*
  (2023)), and a wrong link would show a group a film nobody wanted, which is
  worse than a film that stays bare.

Normalized title (:func:`normalize_title`): Unicode NFKD with the accents dropped,
case folded, ``&`` read as ``and``, every punctuation mark or symbol read as a
space, spaces collapsed, and one leading English article (``the``, ``a``, ``an``)
dropped.  So *Amélie* = *Amelie*, *WALL·E* = *Wall-E* = *WALL E*, *The Matrix* =
*Matrix*.  Limits: other languages' articles are kept (dropping *Die* would make
*Die Hard* into *Hard*), digits and Roman numerals differ (*Rocky 2* ≠ *Rocky II*),
and a year off by one (a festival year against a release year) does not link.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from server.filmdata.details import FilmDetails

__all__ = ["TitleMatch", "match_title_year", "normalize_title", "seen_films_worth_linking"]

ARTICLES = ("the ", "a ", "an ")


def normalize_title(title: str) -> str:
    """The form titles are compared in (see the module's docstring)."""
    decomposed = unicodedata.normalize("NFKD", title.casefold())
    kept: list[str] = []
    for ch in decomposed:
        if unicodedata.combining(ch):
            continue
        if ch == "&":
            kept.append(" and ")
        elif unicodedata.category(ch)[0] in "PSZC":
            kept.append(" ")
        else:
            kept.append(ch)
    words = " ".join("".join(kept).split())
    for article in ARTICLES:
        if words.startswith(article) and len(words) > len(article):
            return words[len(article) :]
    return words


@dataclass(frozen=True, slots=True)
class TitleMatch:
    """The outcome of matching one title-and-year row against a search's films."""

    outcome: Literal["linked", "no_year", "no_match", "ambiguous"]
    film: FilmDetails | None = None
    """The one film, when ``outcome`` is ``linked``."""


def _titles(film: FilmDetails) -> set[str]:
    names = (film.title, film.original_title, film.localized_title, *film.titles.values())
    return {normalize_title(name) for name in names if name}


def match_title_year(title: str, year: int | None, films: list[FilmDetails]) -> TitleMatch:
    """Link ``title`` (``year``) to the one film of ``films`` that has both, or to none."""
    if year is None:
        return TitleMatch("no_year")
    wanted = normalize_title(title)
    if not wanted:
        return TitleMatch("no_match")
    same: dict[tuple[str, int | None], FilmDetails] = {}
    for film in films:
        if film.year == year and wanted in _titles(film):
            # One film listed twice by a search is still one film.
            same.setdefault((film.source, film.provider_id), film)
    if not same:
        return TitleMatch("no_match")
    if len(same) > 1:
        return TitleMatch("ambiguous")
    return TitleMatch("linked", next(iter(same.values())))


def seen_films_worth_linking(
    listed: Iterable[tuple[int, Iterable[str | None], int | None]],
    seen: Iterable[tuple[int, str, int | None]],
) -> list[int]:
    """The films seen (``watched.csv``) that may be another row of a film on a list.

    A film seen leaves the candidates only when it is the listed film's own catalogue
    row, or a row linked to it (``same_as``) by the film-data provider.  A Letterboxd
    row seen and the IMDb row of the same film on someone's list are two rows until
    both are looked up, so those seen rows must be looked up too; but a history holds
    thousands of films, and a provider's quota is small.  Only a seen row with the same
    normalized title (any of the listed row's titles) and the same year as a listed row
    *other than itself* can be linked to it, so only those are worth a look-up.
    ``listed``: ``(id, titles, year)``; ``seen``: ``(id, title, year)``; the ids of
    ``seen`` worth a look-up come back in ``seen``'s order.
    """
    keys: dict[tuple[str, int], set[int]] = {}
    for film_id, names, year in listed:
        if year is None:
            continue
        for name in names:
            if name:
                keys.setdefault((normalize_title(name), year), set()).add(film_id)
    worth: list[int] = []
    for film_id, title, year in seen:
        if year is None:
            continue
        if keys.get((normalize_title(title), year), set()) - {film_id}:
            worth.append(film_id)
    return worth
