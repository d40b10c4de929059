"""The limits for tonight, as pure rules: checks, what they leave out, unknown facts kept."""

from __future__ import annotations

import pytest

from server.watchlists.candidates import MemberList, rank_candidates
from server.watchlists.limits import (
    MAX_EXCLUDED_GENRES,
    FilmFacts,
    LimitsError,
    TonightLimits,
    admits,
    check_limits,
    genres_of,
)
from server.watchlists.uploads import parse_upload

GENRES = ["Drama", "Horror", "Sci-Fi"]


def test_no_limits_admit_every_film_and_are_not_active() -> None:
    assert not TonightLimits().active
    assert admits(TonightLimits(), FilmFacts(900, ("Horror",), 1900))


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (FilmFacts(runtime_minutes=120), True),
        (FilmFacts(runtime_minutes=121), False),
        (FilmFacts(year=1990), True),
        (FilmFacts(year=1989), False),
        (FilmFacts(year=2011), False),
        (FilmFacts(genres=("Comedy", "horror")), False),  # case does not matter
        (FilmFacts(genres=("Comedy",)), True),
        # unknown runtime, year and genres: kept (nothing shows the film breaks a limit)
        (FilmFacts(), True),
        (FilmFacts(runtime_minutes=None, genres=(), year=None), True),
    ],
)
def test_a_film_is_left_out_only_by_a_fact_that_breaks_a_limit(
    facts: FilmFacts, expected: bool
) -> None:
    limits = TonightLimits(
        max_runtime_minutes=120, exclude_genres=("Horror",), year_from=1990, year_to=2010
    )
    assert admits(limits, facts) is expected


@pytest.mark.parametrize(
    ("limits", "code"),
    [
        (TonightLimits(max_runtime_minutes=0), "bad_runtime"),
        (TonightLimits(max_runtime_minutes=-5), "bad_runtime"),
        (TonightLimits(max_runtime_minutes=601), "bad_runtime"),
        (TonightLimits(year_from=2010, year_to=1990), "bad_years"),
        (TonightLimits(year_from=1500), "bad_years"),
        (TonightLimits(year_to=30000), "bad_years"),
        (TonightLimits(exclude_genres=("Western",)), "unknown_genre"),
        (
            TonightLimits(exclude_genres=tuple(f"g{n}" for n in range(MAX_EXCLUDED_GENRES + 1))),
            "too_many_genres",
        ),
    ],
)
def test_absurd_limits_are_refused_with_a_stable_code(limits: TonightLimits, code: str) -> None:
    known = [*GENRES, *(f"g{n}" for n in range(MAX_EXCLUDED_GENRES + 1))]
    with pytest.raises(LimitsError) as refused:
        check_limits(limits, known)
    assert refused.value.code == code
    assert refused.value.status == 400


def test_checked_limits_spell_genres_as_the_films_do_and_drop_repeats() -> None:
    checked = check_limits(
        TonightLimits(max_runtime_minutes=600, exclude_genres=("horror", "HORROR", " sci-fi ")),
        GENRES,
    )
    assert checked.exclude_genres == ("Horror", "Sci-Fi")
    assert checked.max_runtime_minutes == 600
    same_year = check_limits(TonightLimits(year_from=1999, year_to=1999), [])
    assert (same_year.year_from, same_year.year_to) == (1999, 1999)


def test_the_genres_to_pick_from_are_the_films_own_once_each() -> None:
    films = [FilmFacts(genres=("Drama", "horror")), FilmFacts(genres=("Horror",)), FilmFacts()]
    assert genres_of(films) == ["Drama", "horror"]


def test_candidates_leave_out_excluded_films_count_them_and_keep_nominations() -> None:
    lists = {
        "ana": MemberList([1, 2, 3, 4], watched=[3]),
        "ben": MemberList([2, 4, 5]),
    }
    ranking = rank_candidates(lists, nominated=[5], excluded={1, 3, 4, 5})
    # 3 is seen (not a candidate anyway, so not counted), 5 is nominated (kept)
    assert [(r.film_id, r.wanted_by) for r in ranking.films] == [(2, 2), (5, 1)]
    assert ranking.left_out == 2
    assert ranking.total == 2
    assert rank_candidates(lists).left_out == 0


def test_an_imdb_export_keeps_runtime_and_genres_for_the_limits() -> None:
    header = (
        "Position,Const,Created,Modified,Description,Title,URL,Title Type,IMDb Rating,"
        "Runtime (mins),Year,Genres,Num Votes,Release Date,Directors\n"
    )
    rows = [
        '1,tt0078748,2024-01-03,,,"Alien",u,movie,8.5,117,1979,"Horror, Sci-Fi",1,1979-05-25,R\n',
        '2,tt0113277,2024-01-02,,,"Heat",u,movie,8.3,170,1995,"Crime, Drama",1,1995-12-15,M\n',
        '3,tt0000003,2024-01-01,,,"Odd",u,movie,1,-5,1995,"",1,1995-12-15,M\n',
    ]
    result = parse_upload(
        (header + "".join(rows)).encode(),
        "list.csv",
        max_bytes=1 << 20,
        max_uncompressed_bytes=1 << 20,
        max_films=100,
    )
    assert [(f.title, f.runtime_minutes, f.genres) for f in result.films] == [
        ("Alien", 117, ("Horror", "Sci-Fi")),
        ("Heat", 170, ("Crime", "Drama")),
        ("Odd", None, ()),  # an absurd runtime is unknown; the film is still imported
    ]
