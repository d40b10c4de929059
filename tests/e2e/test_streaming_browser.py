"""Where we can all watch it, in the browser: two members pick their streaming services,
each candidate says who can stream it ("Netflix · 2 of 2 of you"), and the filter keeps
the films all of them can stream.  English on a desktop, Russian on a phone; a server
without TMDb says plainly that the feature needs it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.checks import assert_accessible, assert_no_horizontal_scroll
from tests.e2e.friday import (
    DESKTOP,
    PHONE,
    create_session,
    join_session,
    new_member_context,
    open_stage,
    upload_list,
)
from tests.support.fake_provider import FakeMovie
from tests.support.fake_tmdb import FakeTmdb, fake_tmdb
from tests.support.server_process import ServerProcess, server_process

pytestmark = pytest.mark.browser

NETFLIX, MUBI, APPLE = 8, 11, 2
FILMS = [
    FakeMovie(tmdb_id=603, title="The Matrix", year=1999, imdb_id="tt0133093",
              streaming=(("US", "flatrate", (NETFLIX,)), ("GB", "flatrate", (NETFLIX,)),
                         ("US", "rent", (APPLE,)))),
    FakeMovie(tmdb_id=194, title="Amelie", year=2001, imdb_id="tt0211915",
              streaming=(("US", "flatrate", (MUBI,)), ("GB", "buy", (APPLE,)))),
    FakeMovie(tmdb_id=949, title="Heat", year=1995, imdb_id="tt0113277",
              streaming=(("US", "rent", (APPLE,)), ("US", "buy", (APPLE,)))),
]  # fmt: skip
LIST = [("The Matrix", 1999, "ey1a"), ("Amelie", 2001, "ey1b"), ("Heat", 1995, "ey1c")]
TEXTS = {
    "en-US": {
        "line": "Netflix · 2 of 2 of you",
        "rent": "Rent: Apple TV",
        "needs": "needs TMDb film data",
        "credit": "Streaming data: JustWatch",
    },
    "ru-RU": {
        "line": "Netflix · есть у 2 из 2",
        "rent": "Аренда: Apple TV",
        "needs": "нужны данные TMDb",
        "credit": "Данные о стриминге: JustWatch",
    },
}


@pytest.fixture(scope="module")
def tmdb_site() -> Iterator[FakeTmdb]:
    with fake_tmdb(FILMS) as fake:
        yield fake


@pytest.fixture(scope="module")
def tmdb_server(
    tmp_path_factory: pytest.TempPathFactory, tmdb_site: FakeTmdb
) -> Iterator[ServerProcess]:
    env = {
        "FILMNIGHT_FILM_DATA": "tmdb",
        "FILMNIGHT_TMDB_URL": tmdb_site.base_url,
        "FILMNIGHT_FILM_DATA_KEY": tmdb_site.key,
    }
    with server_process(Path(tmp_path_factory.mktemp("streaming")), env) as running:
        yield running


def pick_services(page: Page, region: str, *service_ids: int, shot: str | None = None) -> None:
    """Open the picker, choose the region and tick the services (by keyboard-reachable
    controls only), then save."""
    picker = page.locator("details.streaming-picker")
    picker.locator("summary").click()
    page.locator("#streaming-region").select_option(region)
    for service in service_ids:
        box = page.locator(f"#streaming-service-{service}")
        expect(box).to_be_visible()
        box.check()
    if shot:
        page.locator(".streaming").screenshot(path=shot)
    page.locator("#streaming-save").click()
    expect(picker).not_to_have_attribute("open", "")


def pick_by_keyboard(page: Page, query: str) -> None:
    """The same with the keyboard alone: open the picker, keep the guessed country (the
    browser's, en-US: the United States), search, tick the one match, save."""
    summary = page.locator("details.streaming-picker summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(page.locator("details.streaming-picker")).to_have_attribute("open", "")
    expect(page.locator("#streaming-services li")).not_to_have_count(0)
    page.keyboard.press("Tab")
    expect(page.locator("#streaming-region")).to_be_focused()
    expect(page.locator("#streaming-region")).to_have_value("US")
    page.keyboard.press("Tab")
    expect(page.locator("#streaming-search")).to_be_focused()
    page.keyboard.type(query)
    expect(page.locator("#streaming-services li:visible")).to_have_count(1)
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    expect(page.locator(f"#streaming-service-{NETFLIX}")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.locator("#streaming-save")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("details.streaming-picker")).not_to_have_attribute("open", "")
    expect(summary).to_be_focused()


def row(page: Page, title: str) -> Any:
    return page.locator(".candidates .candidate").filter(has_text=title)


@pytest.mark.parametrize(("locale", "device"), [("en-US", DESKTOP), ("ru-RU", PHONE)])
def test_two_members_pick_services_and_the_filter_keeps_what_all_can_stream(
    browser: Browser, tmdb_server: ServerProcess, locale: str, device: dict[str, Any]
) -> None:
    texts = TEXTS[locale]
    host_context = new_member_context(browser, device, locale)
    guest_context = new_member_context(browser, device, locale)
    host, guest = host_context.new_page(), guest_context.new_page()
    invite = create_session(host, tmdb_server.base_url, "Ana", "Streaming night")
    join_session(guest, invite, "Ben")
    for page in (host, guest):
        open_stage(page, "lists")
        upload_list(page, LIST)
    # Details arrive in the background; then the cards know where each film streams.
    expect(host.locator(".candidates .candidate")).to_have_count(3)
    expect(host.locator(".streaming-summary")).not_to_contain_text("…")
    expect(host.locator("#streaming-filter")).to_be_disabled()  # nobody has chosen yet

    pick_services(host, "US", NETFLIX, MUBI, shot=f"/tmp/streaming-picker-{locale}.png")
    if device is PHONE:
        pick_services(guest, "US", NETFLIX)
    else:
        pick_by_keyboard(guest, "netf")
    for page in (host, guest):
        matrix = row(page, "The Matrix").locator(".services")
        expect(matrix).to_contain_text(texts["line"], timeout=15_000)
        expect(matrix).to_contain_text(texts["rent"])
        expect(page.locator(".streaming .credit")).to_have_text(texts["credit"])
    expect(row(host, "Amelie").locator(".services")).to_contain_text("MUBI")

    filter_box = guest.locator("#streaming-filter")
    expect(filter_box).to_be_enabled()
    filter_box.check()
    expect(guest.locator(".candidates .candidate")).to_have_count(1)
    expect(guest.locator(".candidates .candidate")).to_contain_text("The Matrix")
    expect(host.locator(".candidates .candidate")).to_have_count(3)  # a filter is one's own
    where = f"the lists stage with streaming services ({locale})"
    assert_accessible(guest, where)
    if device is PHONE:
        assert_no_horizontal_scroll(guest, where)
    guest.screenshot(path=f"/tmp/streaming-{locale}.png", full_page=True)
    filter_box.uncheck()
    expect(guest.locator(".candidates .candidate")).to_have_count(3)
    host_context.close()
    guest_context.close()


@pytest.mark.parametrize("locale", ["en-US", "ru-RU"])
def test_without_tmdb_the_feature_says_it_needs_it(
    browser: Browser, server: ServerProcess, locale: str
) -> None:
    context = new_member_context(browser, DESKTOP, locale)
    page = context.new_page()
    create_session(page, server.base_url, "Ana", "Plain night")
    open_stage(page, "lists")
    upload_list(page, LIST[:1])
    expect(page.locator(".streaming-summary")).to_contain_text(TEXTS[locale]["needs"])
    expect(page.locator("details.streaming-picker")).to_be_hidden()
    expect(page.locator(".candidates .candidate .services")).to_have_count(0)
    context.close()
