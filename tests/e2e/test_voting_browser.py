"""Three friends in real Chromium: import lists, see the candidates, run a match and a poll."""

from __future__ import annotations

import re

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

    # Guests land on the Lists stage; the host, who was alone, on the Invite stage.
    expect(host.locator("[data-stage]")).to_have_attribute("data-stage", "invite")
    for page in pages[1:]:
        expect(page.locator("[data-stage]")).to_have_attribute("data-stage", "lists")
    host.locator('[data-stage-tab="lists"]').click()
    expect(host.locator('[data-stage-tab="lists"]')).to_have_attribute("aria-current", "step")

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
    # With her list in, the Lists stage offers the next step.
    host.get_by_role("button", name="Next: pick a film →").click()
    expect(host.locator("[data-stage]")).to_have_attribute("data-stage", "pick")
    host.get_by_label("How many films").fill("3")
    host.get_by_role("button", name="Start the round").click()
    for page in pages:
        expect(page.locator(".deck")).to_contain_text("Heat")
        # everyone is taken to the round, focus on the card (never on "No")
        expect(page.locator("[data-stage]")).to_have_attribute("data-stage", "pick")
        # (document.activeElement: a page in the background reports no focus to expect())
        page.wait_for_function("() => document.activeElement?.classList.contains('swipe-card')")
    expect(pages[1].locator(".notice[role=status]")).to_contain_text("Ana started a match")
    # Ana sits on "No" while Ben votes: the tally updates her round in place (the deck is not
    # rebuilt) and she keeps her place.
    no = host.locator(".deck").get_by_role("button", name="← No")
    no.focus()
    host.eval_on_selector(".deck", "deck => { deck.dataset.before = '1'; }")
    pages[1].locator(".deck").get_by_role("button", name="← No").click()
    expect(pages[1].locator(".deck")).to_contain_text("Parasite")
    # Everyone sees how far each member is, never what they said.
    expect(host.locator(".round .progress")).to_contain_text("Ben 1/3")
    expect(host.locator(".round .progress")).to_contain_text("Ana 0/3")
    expect(host.locator(".deck[data-before]")).to_have_count(1)
    expect(no).to_be_focused()
    expect(host.locator(".swipe-card")).to_contain_text("On 3 of 3 lists")
    deck = host.locator(".deck")
    deck.get_by_role("button", name="← No").focus()
    host.keyboard.press("ArrowLeft")
    expect(deck).to_contain_text("Parasite")
    # ← → work anywhere in the round, but not while typing in the chat.
    cleo = pages[2]
    cleo.locator("#chat-input").focus()
    cleo.keyboard.press("ArrowLeft")
    cleo.wait_for_timeout(300)
    expect(cleo.locator(".deck")).to_contain_text("Heat")
    cleo.locator("#round-heading").focus()
    cleo.keyboard.press("ArrowLeft")
    expect(cleo.locator(".deck")).to_contain_text("Parasite")
    # Cleo swipes the card to the right (pointer events: the card follows, then it is a yes).
    box = cleo.locator(".swipe-card").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    cleo.mouse.move(x, y)
    cleo.mouse.down()
    for step in range(1, 9):
        cleo.mouse.move(x + step * 25, y + 2)
    expect(cleo.locator(".swipe-card")).to_have_attribute("data-lean", "yes")
    cleo.mouse.up()
    expect(cleo.locator(".deck")).to_contain_text("Alien")
    for page in pages[:2]:
        page.locator(".deck").get_by_role("button", name="Yes →").click()
    # A match: a full-screen celebration for everyone; only the host may start the party.
    for page in pages:
        celebration = page.locator("dialog[data-celebration]")
        expect(celebration).to_be_visible()
        expect(celebration).to_contain_text("Parasite")
        expect(celebration.get_by_role("button", name="Watch it together")).to_have_count(
            1 if page is host else 0
        )
        celebration.get_by_role("button", name="See the details").click()
        expect(celebration).to_be_hidden()
        expect(page.locator(".winner-title")).to_have_text("Parasite")
        expect(page.locator(".round")).to_contain_text("It's a match!")
        # one sentence first, then the answered cards (Heat, Parasite) with their yes counts
        expect(page.locator(".result-sentence")).to_have_text("Everyone said yes to Parasite.")
        expect(page.locator(".explanation .bar-row")).to_have_count(2)
        expect(page.locator(".explanation")).not_to_contain_text("Alien")
        expect(page.locator(".explanation")).to_contain_text("Yes votes")  # "kind": "match"

    # A poll: Ana and Ben put Alien first with the keyboard and buttons; Cleo keeps the order.
    host.get_by_label("Round", exact=True).select_option("poll")
    host.get_by_label("How many films").fill("3")
    host.get_by_label("Deadline (s)").fill("120")
    host.get_by_role("button", name="Start the round").click()
    for page in pages:
        expect(page.locator(".ranking li")).to_have_count(3)
        expect(page.locator(".round .deadline")).to_contain_text(re.compile(r"Closes in 1:[45]\d"))
    expect(pages[1].get_by_role("button", name="One more minute")).to_have_count(0)
    # the host gives everyone a minute more (WCAG 2.2.1)
    host.get_by_role("button", name="One more minute").click()
    expect(pages[1].locator(".round .deadline")).to_contain_text(re.compile(r"Closes in 2:[45]\d"))
    expect(pages[1].locator(".notice[role=status]")).to_contain_text(
        "Ana gave everyone more time to vote"
    )
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
        expect(page.locator(".result-sentence")).to_have_text(
            "Alien beat every other film head-to-head."
        )
        expect(page.locator(".matrix")).to_be_visible()
        # a result moves focus to its sentence
        page.wait_for_function(
            "() => document.activeElement?.classList.contains('result-sentence')"
        )
    # no empty header cell in the head-to-head table
    assert all(t.strip() for t in host.locator(".matrix th").all_inner_texts())

    # A veto of three films in turn (Ana, Ben, Cleo): after a strike, focus moves to the next
    # member's strike buttons, and after the last one to the result.
    host.get_by_label("Round", exact=True).select_option("veto")
    host.get_by_label("How many films").fill("3")
    host.get_by_role("button", name="Start the round").click()
    for page in pages:
        expect(page.locator(".veto li")).to_have_count(3)
    host.get_by_role("button", name="Strike Heat").click()
    expect(pages[1].locator(".veto li.struck")).to_have_count(1)
    pages[1].wait_for_function("() => document.activeElement?.textContent.startsWith('Strike')")
    pages[1].keyboard.press("Enter")
    for page in pages:
        expect(page.locator(".result-sentence")).to_contain_text("last film standing")
    pages[2].wait_for_function(
        "() => document.activeElement?.classList.contains('result-sentence')"
    )
    for page in pages:
        page.context.close()
