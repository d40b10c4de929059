"""Three friends in real Chromium: import lists, see the candidates, run a match and a poll."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from tests.server.test_watchlists_http import ALIEN, HEAT, PARASITE, SOLARIS, lb_csv
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.browser


def upload(page: Page, films: list[tuple[str, int | None, str]], count: int) -> None:
    payload: FilePayload = {
        "name": "watchlist.csv",
        "mimeType": "text/csv",
        "buffer": lb_csv(*films),
    }
    page.set_input_files("#import-file", files=[payload])
    expect(page.locator(".import-status")).to_have_text(f"{count} films imported")


def test_three_friends_import_then_match_then_poll(browser: Browser, server: ServerProcess) -> None:
    pages: list[Page] = []
    host = browser.new_context().new_page()
    host.goto(server.base_url)
    host.get_by_label("Your name").fill("Ana")
    host.get_by_role("button", name="Start a film night").click()
    expect(host.get_by_role("status").filter(has_text="Live")).to_be_visible()
    invite = host.get_by_label("Invite link", exact=True).input_value()
    pages.append(host)
    for name in ("Ben", "Cleo"):
        page = browser.new_context().new_page()
        page.goto(invite)
        page.get_by_label("Your name").fill(name)
        page.get_by_role("button", name="Join").click()
        expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()
        pages.append(page)

    # Everyone imports; the host sees each friend's list size in the member list.
    upload(host, [HEAT, PARASITE, ALIEN, SOLARIS], 4)
    upload(pages[1], [HEAT, PARASITE, ALIEN], 3)
    expect(host.locator(".member", has_text="Cleo")).to_contain_text("no list yet")
    # Two lists of three members: a film on both is not yet "everyone"'s.
    expect(host.locator(".candidate").nth(0)).to_contain_text("all 2 lists so far")
    expect(host.locator(".candidate.everyone")).to_have_count(0)
    upload(pages[2], [HEAT, PARASITE, ALIEN], 3)
    expect(host.locator(".member", has_text="Ben")).to_contain_text("3 films")
    for page in pages:
        candidates = page.locator(".candidate")
        expect(candidates).to_have_count(4)
        expect(candidates.nth(0)).to_contain_text("Heat")
        expect(candidates.nth(0)).to_contain_text("everyone")
        expect(candidates.nth(3)).to_contain_text("Solaris")
        expect(candidates.nth(3)).to_contain_text("1/3")
    # Guests see no host tools.
    expect(pages[1].get_by_role("button", name="Start the round")).to_be_hidden()

    # A match round of the top three: all say no to Heat (arrow key or button), yes to Parasite.
    host.get_by_label("How many films").fill("3")
    host.get_by_role("button", name="Start the round").click()
    for page in pages:
        expect(page.locator(".deck")).to_contain_text("Heat")
    # Ana sits on "No" while Ben votes: the tally redraws her deck and she keeps her place.
    no = host.locator(".deck").get_by_role("button", name="← No")
    no.focus()
    host.eval_on_selector(".deck", "deck => { deck.dataset.before = '1'; }")
    pages[1].locator(".deck").get_by_role("button", name="← No").click()
    expect(pages[1].locator(".deck")).to_contain_text("Parasite")
    expect(host.locator(".deck[data-before]")).to_have_count(0)
    expect(no).to_be_focused()
    # Everyone sees how far each member is, never what they said.
    expect(host.locator(".round .progress")).to_contain_text("Ben 1/3")
    expect(host.locator(".round .progress")).to_contain_text("Ana 0/3")
    for page in (host, pages[2]):
        deck = page.locator(".deck")
        deck.get_by_role("button", name="← No").focus()
        page.keyboard.press("ArrowLeft")
        expect(deck).to_contain_text("Parasite")
    for page in pages:
        page.locator(".deck").get_by_role("button", name="Yes →").click()
    for page in pages:
        expect(page.locator(".winner-title")).to_have_text("Parasite")
        expect(page.locator(".round")).to_contain_text("It's a match!")
        expect(page.locator(".explanation")).to_contain_text("Yes votes")  # "kind": "match"

    # A poll: Ana and Ben put Alien first with the keyboard and buttons; Cleo keeps the order.
    host.get_by_label("Round", exact=True).select_option("poll")
    host.get_by_label("How many films").fill("3")
    host.get_by_role("button", name="Start the round").click()
    for page in pages:
        expect(page.locator(".ranking li")).to_have_count(3)
    host.locator(".ranking li", has_text="Alien").focus()
    host.keyboard.press("Alt+ArrowUp")
    host.keyboard.press("Alt+ArrowUp")
    expect(host.locator(".ranking li").nth(0)).to_contain_text("Alien")
    pages[1].get_by_role("button", name="Move Alien up").click()
    pages[1].get_by_role("button", name="Move Alien up").click()
    expect(pages[1].locator(".ranking li").nth(0)).to_contain_text("Alien")
    for page in pages:
        page.get_by_role("button", name="Submit my ballot").click()
    for page in pages:
        expect(page.locator(".winner-title")).to_have_text("Alien")
        expect(page.locator(".matrix")).to_be_visible()
    for page in pages:
        page.context.close()
