"""Reading watchlist pages of every markup era, and what a member may type as a source."""

from __future__ import annotations

import pytest

from scraper.parsing import classify_forbidden, is_not_found, parse_watchlist_page, split_title
from scraper.source import InvalidSource, parse_source
from tests.support.letterboxd_site import (
    CHALLENGE,
    NOT_FOUND,
    PRIVATE,
    FakeUser,
    make_films,
    render_page,
)

BASE = "https://letterboxd.com"


@pytest.mark.parametrize("markup", ["current", "2025", "2023", "2022"])
def test_every_markup_era_gives_slug_title_and_ids(markup: str) -> None:
    films = make_films(40)
    html = render_page(FakeUser(films=films, markup=markup), "ana", 1)  # type: ignore[arg-type]
    assert html is not None
    page = parse_watchlist_page(html)
    assert [f.slug for f in page.films] == [f.slug for f in films[:28]]
    assert (page.total, page.pages_total, page.has_next) == (40, 2, True)
    first = page.films[0]
    if markup in ("current", "2025"):
        # Titles, years and ids come from the item; the header's react-component is ignored.
        assert [(f.title, f.year) for f in page.films[:9]] == [(f.title, f.year) for f in films[:9]]
        assert [f.lid for f in page.films] == [f.lid for f in films[:28]]
        assert first.film_id == str(films[0].film_id)
        assert first.poster_url == (
            "https://a.ltrbxd.com/resized/film-poster/1/0/0/0/0/0/"
            f"100000-{films[0].slug}-0-230-0-345-crop.jpg?v=a1b2c3"
        )
    else:
        # Older pages carry the title alone (no year) and no lid.
        assert first.title == films[0].title and first.year is None and first.lid is None
        assert first.film_id == str(films[0].film_id)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("(500) Days of Summer (2009)", ("(500) Days of Summer", 2009)),
        (
            "Birdman or (The Unexpected Virtue of Ignorance) (2014)",
            ("Birdman or (The Unexpected Virtue of Ignorance)", 2014),
        ),
        ("1917 (2019)", ("1917", 2019)),
        ("1984 (1984)", ("1984", 1984)),
        ("1984", ("1984", None)),
        ("Untitled Project", ("Untitled Project", None)),
        ("Leo  (2023)", ("Leo", 2023)),
    ],
)
def test_titles_split_from_years_at_the_end(name: str, expected: tuple[str, int | None]) -> None:
    assert split_title(name) == expected


def test_counts_pagination_and_single_pages() -> None:
    one = render_page(FakeUser(films=make_films(1)), "ana", 1)
    assert one is not None and "1&nbsp;film<" in one
    page = parse_watchlist_page(one)
    assert (page.total, page.pages_total, page.has_next, page.last_page) == (1, 1, False, None)
    many = render_page(FakeUser(films=make_films(1234)), "ana", 20)
    assert many is not None and "1,234&nbsp;films" in many
    parsed = parse_watchlist_page(many)
    assert (parsed.total, parsed.pages_total, parsed.last_page) == (1234, 45, 45)
    # Without data-num-entries the heading's count is read; without both, the pagination.
    no_entries = many.replace('data-num-entries="1234"', "")
    assert parse_watchlist_page(no_entries).total == 1234
    no_count = no_entries.replace("1,234&nbsp;films", "")
    assert parse_watchlist_page(no_count).pages_total == 45
    last = render_page(FakeUser(films=make_films(60)), "ana", 3)
    assert last is not None and '<span class="next">' in last
    assert parse_watchlist_page(last).has_next is False
    empty = parse_watchlist_page(render_page(FakeUser(), "ana", 1) or "")
    assert (empty.total, empty.films) == (0, [])


def test_broken_pages_give_what_they_hold() -> None:
    html = render_page(FakeUser(films=make_films(28), truncate_page=1), "ana", 1)
    assert html is not None
    page = parse_watchlist_page(html)
    assert 0 < len(page.films) < 28
    assert (
        parse_watchlist_page("<html><body><p>nothing</p></body></html>").looks_like_watchlist
        is False
    )


def test_forbidden_pages_are_told_apart() -> None:
    assert classify_forbidden({"cf-mitigated": "challenge"}, "") == "blocked"
    assert classify_forbidden({}, CHALLENGE) == "blocked"
    assert classify_forbidden({}, PRIVATE) == "private"
    assert classify_forbidden({}, "<html>Forbidden</html>") == "blocked"
    assert is_not_found(NOT_FOUND) and not is_not_found(PRIVATE)


@pytest.mark.parametrize(
    ("text", "username"),
    [
        ("Ana_92", "ana_92"),
        ("  ana  ", "ana"),
        ("https://letterboxd.com/ana/", "ana"),
        ("https://letterboxd.com/ana", "ana"),
        ("https://www.letterboxd.com/Ana/watchlist/", "ana"),
        ("http://letterboxd.com/ana/watchlist/page/3/", "ana"),
        ("letterboxd.com/ana/watchlist/", "ana"),
    ],
)
def test_usernames_and_letterboxd_links_are_accepted(text: str, username: str) -> None:
    assert parse_source(text, BASE) == username


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "../etc/passwd",
        "ana/../bob",
        "ana%2Fwatchlist",
        "@evil.com",
        "ana@evil.com",
        "https://ana@letterboxd.com/ana/",
        "https://letterboxd.com.evil.com/ana/",
        "https://evil.com/letterboxd.com/ana/",
        "https://letterboxd.com:8443/ana/",
        "https://letterboxd.com/ana/watchlist/?redirect=https://evil.com",
        "https://letterboxd.com/ana/watchlist/#x",
        "https://letterboxd.com/ana/list/top/",
        "https://letterboxd.com/film/alien/",
        "https://letterboxd.com/ana/watchlist/by/rating/",
        "https://letterboxd.com/%2e%2e/ana/",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "ftp://letterboxd.com/ana/",
        "https://letterboxd.com\\@evil.com/ana/",
        "https://127.0.0.1/ana/",
        "a" * 41,
        "ana bob",
        "settings",
    ],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(InvalidSource) as refused:
        parse_source(text, BASE)
    assert text.strip() not in str(refused.value) or not text.strip()


def test_the_configured_base_host_is_accepted_exactly() -> None:
    local = "http://127.0.0.1:8765"
    assert parse_source("http://127.0.0.1:8765/ana/watchlist/", local) == "ana"
    with pytest.raises(InvalidSource):
        parse_source("http://127.0.0.1:8766/ana/watchlist/", local)
