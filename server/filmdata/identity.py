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
from dataclasses import dataclass
from typing import Literal

from server.filmdata.details import FilmDetails

__all__ = ["TitleMatch", "match_title_year", "normalize_title"]

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
    names = (film.title, film.original_title, film.localized_title)
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
