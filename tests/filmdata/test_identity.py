"""One film across sources: the title-and-year rule, and what it refuses to link."""

from __future__ import annotations

import pytest

from server.filmdata import FilmDetails, match_title_year, normalize_title


def tmdb(tmdb_id: int, title: str, year: int | None, **more: object) -> FilmDetails:
    return FilmDetails(source="tmdb", title=title, year=year, tmdb_id=tmdb_id, **more)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Amélie", "AMELIE"),
        ("WALL·E", "Wall-E"),
        ("The Matrix", "matrix"),
        ("A Quiet Place", "Quiet Place"),
        ("Fast & Furious", "Fast and Furious"),
        ("Léon: The Professional", "leon the professional"),
        ("Ёлки", "Елки"),
        ("  Spaced   Out ", "spaced out"),
    ],
)
def test_titles_that_are_the_same_normalize_alike(a: str, b: str) -> None:
    assert normalize_title(a) == normalize_title(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Die Hard", "Hard"),  # only English articles are dropped
        ("Rocky II", "Rocky 2"),
        ("Heat", "Heath"),
        ("The", "A"),  # a title that is only an article keeps it
    ],
)
def test_titles_that_differ_stay_apart(a: str, b: str) -> None:
    assert normalize_title(a) != normalize_title(b)


def test_one_film_with_the_same_title_and_year_links() -> None:
    hits = [tmdb(1, "Leon: The Professional", 1994), tmdb(2, "Leon", 2010)]
    match = match_title_year("Léon: The Professional", 1994, hits)
    assert match.outcome == "linked"
    assert match.film is not None and match.film.tmdb_id == 1


def test_the_original_or_the_translated_title_links() -> None:
    hits = [tmdb(7, "Амели", 2001, original_title="Le Fabuleux Destin d'Amélie Poulain")]
    assert match_title_year("Le fabuleux destin d'Amelie Poulain", 2001, hits).outcome == "linked"
    assert match_title_year("амели", 2001, hits).outcome == "linked"
    ru = FilmDetails(source="kinopoisk", title="Матрица", localized_title="Матрица",
                     original_title="The Matrix", year=1999, kinopoisk_id=301)  # fmt: skip
    assert match_title_year("Matrix", 1999, [ru]).film == ru


def test_two_films_with_the_same_title_and_year_stay_apart() -> None:
    """Letterboxd lists more than one *Leo* (2023): neither is linked."""
    hits = [tmdb(1_075_794, "Leo", 2023), tmdb(1_103_333, "Leo", 2023), tmdb(9, "Leo", 2012)]
    match = match_title_year("Leo", 2023, hits)
    assert match.outcome == "ambiguous"
    assert match.film is None


def test_the_same_film_listed_twice_by_a_search_is_one_film() -> None:
    hits = [tmdb(5, "Leo", 2023), tmdb(5, "Leo", 2023)]
    assert match_title_year("Leo", 2023, hits).outcome == "linked"


@pytest.mark.parametrize(
    ("title", "year", "outcome"),
    [
        ("Heat", None, "no_year"),  # no year: never linked on a title alone
        ("Heat", 1996, "no_match"),  # a year off by one
        ("Heat 2", 1995, "no_match"),  # a search's fuzzy neighbour
        ("!!!", 1995, "no_match"),
    ],
)
def test_anything_less_than_exact_stays_unlinked(
    title: str, year: int | None, outcome: str
) -> None:
    hits = [tmdb(949, "Heat", 1995)]
    assert match_title_year(title, year, hits).outcome == outcome


def test_a_film_the_search_does_not_return_stays_unlinked() -> None:
    assert match_title_year("Heat", 1995, []).outcome == "no_match"
