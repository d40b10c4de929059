"""The Pick stage's other rounds, checked by axe-core: a poll (ranking, then the head-to-head
table) and a veto (strikes in turn, then the last film standing), for a host on a desktop and
two friends on phones, one of them Russian.  No serious or critical violation, nothing
scrolling sideways on the phones."""

from __future__ import annotations

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
    stage,
    upload_list,
)
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.browser

# Long titles: on a phone the head-to-head table is wider than the screen and scrolls inside
# its own region, which must then be reachable by keyboard (axe: scrollable-region-focusable).
FILMS = [
    ("The Discreet Charm of the Bourgeoisie", 1972, "dcob"),
    ("Eternal Sunshine of the Spotless Mind", 2004, "esot"),
    ("Once Upon a Time in Anatolia", 2011, "ouat"),
    ("Portrait of a Lady on Fire", 2019, "polf"),
]


def check(pages: dict[str, Page], where: str) -> None:
    for who, page in pages.items():
        expect(stage(page)).to_have_attribute("data-stage", "pick")
        assert_accessible(page, f"{where}, {who}'s page")
        assert_no_horizontal_scroll(page, f"{where}, {who}'s page")


def start(host: Page, mode: str, size: int, method: str | None = None) -> None:
    host.locator("#round-mode").select_option(mode)
    host.locator("#round-size").fill(str(size))
    if method:
        host.locator("#round-method").select_option(method)
    host.locator("#start-round").click()


@pytest.mark.timeout(240)
def test_a_poll_and_a_veto_pass_axe_on_a_desktop_and_on_phones(
    browser: Browser, server: ServerProcess
) -> None:
    contexts = [
        new_member_context(browser, DESKTOP, "en-US"),
        new_member_context(browser, PHONE, "en-US"),
        new_member_context(browser, PHONE, "ru-RU"),
    ]
    ana, ben, cleo = (context.new_page() for context in contexts)
    everyone = {"Ana (desktop)": ana, "Ben (phone)": ben, "Cleo (phone, ru)": cleo}
    invite = create_session(ana, server.base_url, "Ana", "Rounds")
    join_session(ben, invite, "Ben")
    join_session(cleo, invite, "Cleo")
    # The guests' Invite stage too (the host's is checked in the stage walk-through).
    for page in (ben, cleo):
        open_stage(page, "invite")
        assert_accessible(page, "the invite stage, a guest's phone")
        assert_no_horizontal_scroll(page, "the invite stage, a guest's phone")
    open_stage(ana, "lists")
    for page in everyone.values():
        upload_list(page, FILMS)

    # A poll by Schulze: ranking, then the result with its head-to-head table.
    open_stage(ana, "pick")
    start(ana, "poll", 3, "schulze")
    for page in everyone.values():
        expect(page.locator(".ranking li")).to_have_count(3)
    check(everyone, "a poll's ranking")
    for page in everyone.values():
        page.locator("#submit-ballot").click()
    for page in everyone.values():
        expect(page.locator(".matrix")).to_be_visible()
    scrolls = "el => el.scrollWidth > el.clientWidth"
    assert ben.locator(".table-scroll").evaluate(scrolls), "the table fits: nothing to check"
    check(everyone, "a poll's result with the head-to-head table")

    # A veto: strikes in turn (Ana, Ben, Cleo), then the last film standing.
    start(ana, "veto", 3)
    for page in everyone.values():
        expect(page.locator(".veto li")).to_have_count(3)
    check(everyone, "a veto round")
    ana.locator(".veto li button:not([disabled])").first.click()
    expect(ben.locator(".veto li.struck")).to_have_count(1)
    check({"Ben (phone)": ben}, "a veto after a strike, on his turn")
    ben.locator(".veto li button:not([disabled])").first.click()
    for page in everyone.values():
        expect(page.locator(".result-sentence")).to_be_visible()
    check(everyone, "a veto's result")
    for context in contexts:
        context.close()
