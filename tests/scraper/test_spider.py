"""The spider's decisions, page by page, on the fake site's real markup (no network)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import DownloadTimeoutError, IgnoreRequest
from scrapy.http import HtmlResponse
from twisted.python.failure import Failure

from scraper.items import FilmItem
from scraper.spiders.watchlist import WatchlistSpider
from tests.support.letterboxd_site import (
    CHALLENGE,
    NOT_FOUND,
    PRIVATE,
    RATE_LIMITED,
    FakeUser,
    make_films,
    render_page,
)

BASE = "https://letterboxd.com"


def spider(**kwargs: Any) -> WatchlistSpider:
    return WatchlistSpider(**{"username": "ana", "base_url": BASE, "max_pages": 100, **kwargs})


def respond(
    crawl: WatchlistSpider,
    page: int,
    body: str | None = None,
    *,
    user: FakeUser | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    reread: bool = False,
) -> list[Any]:
    """Everything the spider yields for one answer to page ``page``."""
    if body is None and user is not None:
        body = render_page(user, "ana", page)
    url = crawl.page_url(page)
    request = Request(url, meta={"page": page, "redirects": 0, "reread": reread})
    response = HtmlResponse(
        url, status=status, headers=headers or {}, body=(body or "").encode(), request=request
    )
    return list(crawl.parse_page(response))


def requested_pages(output: list[Any]) -> list[int]:
    return [r.meta["page"] for r in output if isinstance(r, Request)]


def films(output: list[Any]) -> list[FilmItem]:
    return [item for item in output if isinstance(item, FilmItem)]


def test_page_one_schedules_every_other_page_then_yields_its_films() -> None:
    crawl = spider()
    user = FakeUser(films=make_films(60))
    output = respond(crawl, 1, user=user)
    assert requested_pages(output) == [2, 3]
    assert [r.url for r in output if isinstance(r, Request)] == [
        "https://letterboxd.com/ana/watchlist/page/2/",
        "https://letterboxd.com/ana/watchlist/page/3/",
    ]
    assert len(films(output)) == 28
    assert (crawl.pages_done, crawl.pages_total, crawl.films_so_far) == (1, 3, 28)
    assert crawl.films_expected == 60 and crawl.failure is None
    # Later pages never ask for more (the count already said how many there are).
    assert requested_pages(respond(crawl, 3, user=user)) == []
    assert (crawl.pages_done, crawl.films_so_far) == (2, 32)


def test_films_seen_on_an_earlier_page_are_not_yielded_again() -> None:
    crawl = spider()
    listed = make_films(60)
    respond(crawl, 1, user=FakeUser(films=listed))
    # Two films were added at the top meanwhile: page 2 now starts with page 1's last two.
    shifted = FakeUser(films=make_films(2, start=500) + listed)
    second = films(respond(crawl, 2, user=shifted))
    assert len(second) == 26
    assert {f.lid for f in second}.isdisjoint({f.lid for f in listed[:28]})


@pytest.mark.parametrize(
    ("limits", "films_listed"), [({"max_pages": 2}, 57), ({"max_films": 50}, 51)]
)
def test_a_list_over_a_limit_is_refused_from_page_one(
    limits: dict[str, int], films_listed: int
) -> None:
    crawl = spider(**limits)
    output = respond(crawl, 1, user=FakeUser(films=make_films(films_listed)))
    assert output == [] and crawl.failure == "too_large"


def without_page_numbers(user: FakeUser, page: int) -> str:
    """The page with only the next/previous links left of its pagination."""
    html = render_page(user, "ana", page) or ""
    start = html.find('<div class="paginate-pages">')
    if start < 0:
        return html
    end = html.index("</div>", start) + len("</div>")
    return html[:start] + html[end:]


def test_without_a_count_the_pagination_tells_the_pages_or_is_walked() -> None:
    user = FakeUser(films=make_films(60), show_count=False)
    numbered = spider()
    assert requested_pages(respond(numbered, 1, user=user)) == [2, 3]
    assert numbered.pages_total == 3
    walked = spider()
    assert requested_pages(respond(walked, 1, without_page_numbers(user, 1))) == [2]
    assert walked.pages_total is None
    assert requested_pages(respond(walked, 2, without_page_numbers(user, 2))) == [3]
    assert requested_pages(respond(walked, 3, without_page_numbers(user, 3))) == []
    assert walked.films_so_far == 60 and walked.failure is None
    assert walked.pages_total == 3  # known once the last page is reached


def test_walking_past_the_page_limit_is_too_large() -> None:
    crawl = spider(max_pages=2)
    user = FakeUser(films=make_films(90), show_count=False)
    assert requested_pages(respond(crawl, 1, without_page_numbers(user, 1))) == [2]
    assert requested_pages(respond(crawl, 2, without_page_numbers(user, 2))) == []
    assert crawl.failure == "too_large"


@pytest.mark.parametrize(
    ("status", "body", "headers", "reason"),
    [
        (404, NOT_FOUND, {}, "not_found"),
        (403, PRIVATE, {}, "private"),
        (403, CHALLENGE, {"cf-mitigated": "challenge"}, "blocked"),
        (403, "<html>Forbidden</html>", {}, "blocked"),
        (429, RATE_LIMITED, {}, "rate_limited"),
        (503, "<html>down</html>", {}, "timeout"),
        (400, "<html>bad</html>", {}, "blocked"),
    ],
)
def test_failed_first_pages_are_typed(
    status: int, body: str, headers: dict[str, str], reason: str
) -> None:
    crawl = spider()
    assert respond(crawl, 1, body, status=status, headers=headers) == []
    assert crawl.failure == reason


def test_an_empty_list_is_empty() -> None:
    crawl = spider()
    assert respond(crawl, 1, user=FakeUser()) == []
    assert crawl.failure == "empty"


def test_a_page_past_the_end_after_the_list_shrank_is_not_a_failure() -> None:
    crawl = spider()
    respond(crawl, 1, user=FakeUser(films=make_films(60)))
    assert respond(crawl, 3, NOT_FOUND, status=404) == []
    assert crawl.failure is None and crawl.pages_done == 2 and crawl.pages_skipped == 0


def test_a_broken_page_is_asked_for_once_more_then_kept_for_what_it_holds() -> None:
    crawl = spider()
    user = FakeUser(films=make_films(84), truncate_page=2)
    respond(crawl, 1, user=user)
    first = respond(crawl, 2, user=user)
    assert requested_pages(first) == [2] and films(first) == []
    again = first[0]
    assert again.dont_filter and again.meta["reread"]
    second = respond(crawl, 2, user=user, reread=True)
    assert 0 < len(films(second)) < 28
    assert crawl.pages_skipped == 1 and crawl.failure is None


def test_a_first_page_that_is_no_watchlist_at_all_ends_as_blocked() -> None:
    crawl = spider()
    nothing = "<html><body><p>Hello</p></body></html>"
    assert requested_pages(respond(crawl, 1, nothing)) == [1]
    assert respond(crawl, 1, nothing, reread=True) == []
    assert crawl.failure == "blocked" and crawl.failure_message


def test_redirects_stay_on_the_site_or_the_import_stops() -> None:
    crawl = spider()
    moved = respond(crawl, 1, "", status=301, headers={"Location": "/ana_new/watchlist/"})
    assert [r.url for r in moved] == ["https://letterboxd.com/ana_new/watchlist/"]
    assert moved[0].meta["redirects"] == 1
    for elsewhere in (
        "https://evil.example/ana/watchlist/",
        "//evil.example/ana/",
        "http://letterboxd.com/ana/watchlist/",
        "https://letterboxd.com:8443/ana/watchlist/",
    ):
        away = spider()
        assert respond(away, 1, "", status=302, headers={"Location": elsewhere}) == []
        assert away.failure == "invalid_source"


def test_a_bad_username_never_starts_a_request() -> None:
    crawl = WatchlistSpider(username="../etc/passwd", base_url=BASE)
    assert crawl.failure == "invalid_source" and crawl.username is None

    async def first_requests() -> list[Request]:
        return [request async for request in crawl.start()]

    assert asyncio.run(first_requests()) == []


def test_the_base_url_comes_from_the_environment_and_must_be_a_site(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FILMNIGHT_LETTERBOXD_URL", "http://127.0.0.1:8765/")
    crawl = WatchlistSpider(username="http://127.0.0.1:8765/ana/")
    assert crawl.page_url(2) == "http://127.0.0.1:8765/ana/watchlist/page/2/"
    monkeypatch.delenv("FILMNIGHT_LETTERBOXD_URL")
    assert WatchlistSpider(username="ana").page_url(1) == "https://letterboxd.com/ana/watchlist/"
    for bad in ("file:///etc", "letterboxd.com", "https://user@letterboxd.com"):
        with pytest.raises(ValueError, match="base_url"):
            WatchlistSpider(username="ana", base_url=bad)


def test_download_errors_are_typed() -> None:
    robots = spider()
    robots.page_failed(Failure(IgnoreRequest("Forbidden by robots.txt")))  # type: ignore[no-untyped-call]
    assert robots.failure == "blocked"
    slow = spider()
    slow.page_failed(Failure(DownloadTimeoutError("took longer than 20 s")))  # type: ignore[no-untyped-call]
    assert slow.failure == "timeout"


def test_a_crawl_stopped_from_outside_did_not_finish() -> None:
    stopped = spider()
    stopped.closed("shutdown")
    assert stopped.failure == "timeout"
    finished = spider()
    finished.closed("finished")
    assert finished.failure is None
