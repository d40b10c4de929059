"""Reading watchlist pages of every markup era: films, counts, pagination, broken and 403 pages."""

from __future__ import annotations

import pytest
from scrapy.http import Headers

from scraper.parsing import (
    WatchlistPage,
    classify_forbidden,
    expected_on_page,
    is_not_found,
    lacks_films,
    parse_watchlist_page,
    poster_url,
    split_title,
)
from tests.support.letterboxd_site import (
    CHALLENGE,
    NOT_FOUND,
    PRIVATE,
    RATE_LIMITED,
    FakeUser,
    Markup,
    make_films,
    render_page,
)

BASE = "https://letterboxd.com"


def page_html(user: FakeUser, number: int = 1) -> str:
    html = render_page(user, "ana", number)
    assert html is not None
    return html


@pytest.mark.parametrize("markup", ["current", "2025", "2023", "2022"])
def test_every_markup_era_gives_each_film_of_the_page(markup: Markup) -> None:
    films = make_films(40)
    page = parse_watchlist_page(page_html(FakeUser(films=films, markup=markup)), BASE)
    assert [f.slug for f in page.films] == [f.slug for f in films[:28]]
    assert [f.film_id for f in page.films] == [str(f.film_id) for f in films[:28]]
    assert (page.total, page.pages_total, page.has_next, page.last_page) == (40, 2, True, 2)
    assert not page.truncated and not lacks_films(page, 1)


@pytest.mark.parametrize("markup", ["current", "2025"])
def test_the_current_grid_gives_titles_years_short_ids_and_posters(markup: Markup) -> None:
    films = make_films(28)
    page = parse_watchlist_page(page_html(FakeUser(films=films, markup=markup)), BASE)
    assert [(f.title, f.year) for f in page.films] == [(f.title, f.year) for f in films]
    assert [f.lid for f in page.films] == [f.lid for f in films]
    first = page.films[0]
    assert first.poster_url == (
        "https://a.ltrbxd.com/resized/film-poster/1/0/0/0/0/0/"
        f"100000-{films[0].slug}-0-230-0-345-crop.jpg?v={films[0].cache_key}"
    )
    # The header's react-component (with a name and a slug of its own) is not a film.
    assert "letterboxd" not in {f.slug for f in page.films}


@pytest.mark.parametrize("markup", ["2023", "2022"])
def test_older_grids_give_the_title_alone_and_no_short_id(markup: Markup) -> None:
    films = make_films(12)
    page = parse_watchlist_page(page_html(FakeUser(films=films, markup=markup)), BASE)
    assert [f.title for f in page.films] == [f.title for f in films]
    assert all(f.year is None and f.lid is None and f.poster_url is None for f in page.films)


def test_tricky_titles_survive_the_markup() -> None:
    films = make_films(14)
    page = parse_watchlist_page(page_html(FakeUser(films=films)), BASE)
    by_slug = {f.slug: (f.title, f.year) for f in page.films}
    assert by_slug["500-days-of-summer"] == ("(500) Days of Summer", 2009)
    assert by_slug["birdman-or-the-unexpected-virtue-of-ignorance"] == (
        "Birdman or (The Unexpected Virtue of Ignorance)",
        2014,
    )
    assert by_slug["1917"] == ("1917", 2019) and by_slug["1984"] == ("1984", 1984)
    assert by_slug["crocodile-dundee"] == ('"Crocodile" Dundee', 1986)
    assert by_slug["amelie"] == ("Amélie", 2001)
    assert by_slug["spirited-away"] == ("千と千尋の神隠し", 2001)
    assert by_slug["untitled-project"] == ("Untitled Project", None)
    assert by_slug["tom-jerry-special"] == ("Tom & Jerry <Special>", None)
    # Same title, same year: told apart by slug and short id, never by title.
    assert {"leo", "leo-2023", "leo-2023-1"} <= set(by_slug)
    assert len({f.lid for f in page.films}) == 14


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
        ("(2019)", ("(2019)", None)),
        ("Untitled Project", ("Untitled Project", None)),
        ("Leo  (2023)", ("Leo", 2023)),
        ("Film (2019) Redux", ("Film (2019) Redux", None)),
    ],
)
def test_titles_split_from_years_at_the_end(name: str, expected: tuple[str, int | None]) -> None:
    assert split_title(name) == expected


def test_film_links_may_be_absolute_or_relative_to_the_site() -> None:
    html = page_html(FakeUser(films=make_films(2)))
    html = html.replace('data-item-slug="500-days-of-summer"', "")
    html = html.replace(
        'data-item-link="/film/500-days-of-summer/"',
        'data-item-link="https://letterboxd.com/film/500-days-of-summer/"',
    )
    html = html.replace('data-item-slug="birdman-or-the-unexpected-virtue-of-ignorance"', "")
    films = parse_watchlist_page(html, BASE).films
    assert [f.slug for f in films] == [
        "500-days-of-summer",
        "birdman-or-the-unexpected-virtue-of-ignorance",
    ]


def test_counts_pagination_and_single_pages() -> None:
    one = page_html(FakeUser(films=make_films(1)))
    assert "1&nbsp;film<" in one and "pagination" not in one
    page = parse_watchlist_page(one, BASE)
    assert (page.total, page.pages_total, page.has_next, page.last_page) == (1, 1, False, None)
    many = page_html(FakeUser(films=make_films(1234)), 20)
    assert "1,234&nbsp;films" in many and "unseen-pages" in many
    parsed = parse_watchlist_page(many, BASE)
    assert (parsed.total, parsed.pages_total, parsed.last_page, parsed.has_next) == (
        1234,
        45,
        45,
        True,
    )
    # Without data-num-entries the heading's count is read; without both, the pagination.
    no_entries = many.replace(' data-num-entries="1234"', "")
    assert parse_watchlist_page(no_entries, BASE).total == 1234
    hidden = page_html(FakeUser(films=make_films(1234), show_count=False), 20)
    assert parse_watchlist_page(hidden, BASE).total is None
    assert parse_watchlist_page(hidden, BASE).pages_total == 45
    last = page_html(FakeUser(films=make_films(60)), 3)
    assert '<span class="next">' in last
    assert parse_watchlist_page(last, BASE).has_next is False
    empty = parse_watchlist_page(page_html(FakeUser()), BASE)
    assert (empty.total, empty.films, empty.pages_total) == (0, [], 1)


def test_truncated_and_filmless_pages_are_told_from_short_ones() -> None:
    films = make_films(84)
    truncated = parse_watchlist_page(page_html(FakeUser(films=films, truncate_page=2), 2), BASE)
    assert truncated.truncated and 0 < len(truncated.films) < 28
    assert lacks_films(truncated, 2)
    filmless = parse_watchlist_page(page_html(FakeUser(films=films, empty_page=2), 2), BASE)
    assert filmless.films == [] and lacks_films(filmless, 2)
    not_a_watchlist = parse_watchlist_page("<html><body><p>Hello</p></body></html>", BASE)
    assert not not_a_watchlist.looks_like_watchlist and lacks_films(not_a_watchlist, 1)
    # A short last page, or an empty list, is not broken.
    assert not lacks_films(parse_watchlist_page(page_html(FakeUser(films=films), 3), BASE), 3)
    assert not lacks_films(parse_watchlist_page(page_html(FakeUser()), BASE), 1)
    # Page 3 of a list page 1 said had 56 films may be empty: the list shrank.
    shrunk = WatchlistPage(looks_like_watchlist=True)
    assert not lacks_films(shrunk, 3, total=56) and lacks_films(shrunk, 2, total=56)
    assert [expected_on_page(n, 60) for n in (1, 2, 3, 4)] == [28, 28, 4, 0]


def test_forbidden_pages_are_told_apart() -> None:
    challenge = Headers({"CF-Mitigated": "challenge", "Content-Type": "text/html"})
    assert classify_forbidden(challenge, "<html><body>Forbidden</body></html>") == "blocked"
    assert classify_forbidden({"cf-mitigated": "challenge"}, PRIVATE) == "blocked"
    assert classify_forbidden({b"Cf-Mitigated": [b"challenge"]}, "") == "blocked"
    assert classify_forbidden({}, CHALLENGE) == "blocked"
    assert classify_forbidden(Headers({"Server": "cloudflare"}), PRIVATE) == "private"
    assert classify_forbidden({}, "<html><body>Forbidden</body></html>") == "blocked"
    assert classify_forbidden({}, RATE_LIMITED) == "blocked"
    assert is_not_found(NOT_FOUND) and not is_not_found(PRIVATE)


def test_a_poster_needs_an_id_a_slug_and_a_cache_key() -> None:
    assert poster_url("51568", "amelie", "x1") == (
        "https://a.ltrbxd.com/resized/film-poster/5/1/5/6/8/51568-amelie-0-230-0-345-crop.jpg?v=x1"
    )
    assert poster_url(None, "amelie", "x1") is None
    assert poster_url("51568", "amelie", None) is None
    assert poster_url("film:1", "amelie", "x1") is None
