"""Friday night through the stages with three browsers, on a desktop and on phones.

Ana hosts (English), Ben joins (English) and Cleo joins with a Russian browser
(``locale="ru-RU"``).  They go Invite → Lists → Pick → Watch: each imports a list, a match
round takes everyone to Pick with a notice, the match is celebrated, "Watch it together"
takes everyone to Watch, where the ready check and the countdown appear only once the film
is set.  On every stage axe-core finds no serious or critical violation and nothing scrolls
sideways; on the phones Ben judges cards by touch, the card and its buttons fit one screen,
and so do the party timer and the chat.  Cleo reloads and still has the conversation.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.checks import assert_accessible, assert_no_horizontal_scroll
from tests.e2e.friday import (
    DESKTOP,
    PHONE,
    celebration,
    create_session,
    join_session,
    new_member_context,
    open_stage,
    stage,
    start_match,
    swipe_by_touch,
    upload_list,
    watch_it_together,
)
from tests.server.test_watchlists_http import ALIEN, HEAT, PARASITE, SOLARIS
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.browser

# Enough films that the candidate list scrolls (axe's scrollable-region-focusable applies).
SHELF = [(f"Double feature {n}", 1960 + n, f"df{n}") for n in range(1, 31)]
TWELVE_HOUR = re.compile(r"^\d{1,2}:\d{2}\s?[AP]M$")
TWENTY_FOUR_HOUR = re.compile(r"^\d{1,2}:\d{2}$")


def check_page(page: Page, where: str) -> None:
    """axe-core and the sideways-scroll check, on the page as it is now."""
    assert_accessible(page, where)
    assert_no_horizontal_scroll(page, where)


def check_stage(pages: dict[str, Page], name: str, device: str) -> None:
    for who, page in pages.items():
        expect(stage(page)).to_have_attribute("data-stage", name)
        tab = page.locator(f'[data-stage-tab="{name}"]')
        expect(tab).to_have_attribute("aria-current", "step")
        expect(page.locator("nav [aria-current=step]")).to_have_count(1)
        check_page(page, f"the {name} stage, {who}'s {device} page")


def on_one_screen(page: Page, top_selector: str, bottom_selector: str) -> None:
    """From the top of one element to the bottom of the other fits in the viewport's height."""
    span: dict[str, float] = page.evaluate(
        """([a, b]) => {
            const top = document.querySelector(a).getBoundingClientRect().top;
            const bottom = document.querySelector(b).getBoundingClientRect().bottom;
            return { span: bottom - top, height: window.innerHeight };
        }""",
        [top_selector, bottom_selector],
    )
    assert 0 < span["span"] <= span["height"], (
        f"{top_selector} to {bottom_selector} is {span['span']:.0f} px, "
        f"more than one screen ({span['height']} px)"
    )


def names_on_one_line(page: Page) -> None:
    lines: list[dict[str, Any]] = page.evaluate(
        """() => [...document.querySelectorAll('.member .name')].map((el) => {
            const style = getComputedStyle(el);
            const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.5;
            return { name: el.textContent, height: el.getBoundingClientRect().height, line };
        })"""
    )
    assert lines
    for entry in lines:
        assert entry["height"] < entry["line"] * 1.5, f"{entry} wraps"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_three_members_move_through_the_stages_together(
    browser: Browser, server: ServerProcess, device: str
) -> None:
    settings = PHONE if device == "phone" else DESKTOP
    contexts = [
        new_member_context(browser, settings, locale) for locale in ("en-US", "en-GB", "ru-RU")
    ]
    ana, ben, cleo = (context.new_page() for context in contexts)
    everyone = {"Ana": ana, "Ben": ben, "Cleo": cleo}

    # Invite: Ana alone, with the link to share. No film yet: the Watch stage has no
    # ready check and no countdown, only a request for a film.
    invite = create_session(ana, server.base_url, "Ana", f"Friday on the {device}")
    check_stage({"Ana": ana}, "invite", device)
    open_stage(ana, "watch")
    expect(ana.locator(".party .empty")).to_be_visible()
    expect(ana.locator(".ready-row button")).to_have_count(0)
    expect(ana.locator(".countdown-row button")).to_have_count(0)
    expect(ana.locator("#party-timer")).to_be_hidden()
    check_page(ana, f"the watch stage before a film, Ana's {device} page")

    # Lists: the friends join and land on Lists; Cleo's browser asks for Russian.
    join_session(ben, invite, "Ben")
    join_session(cleo, invite, "Cleo")
    expect(cleo.locator("html")).to_have_attribute("lang", "ru")
    expect(cleo.locator('[data-stage-tab="lists"]')).to_contain_text("Списки")
    expect(ana.locator(".member")).to_have_count(3)
    open_stage(ana, "lists")
    check_stage(everyone, "lists", device)  # before any list: the "no list yet" badges

    upload_list(ana, [HEAT, PARASITE, ALIEN, SOLARIS, *SHELF])
    upload_list(ben, [HEAT, PARASITE, ALIEN])
    # Two of three lists: Heat is on all lists so far, not yet "everyone".
    heat = ana.locator(".candidate", has_text="Heat")
    expect(heat.locator(".wanted")).to_have_text("all 2 lists so far")
    ben.locator("#chat-input").fill("popcorn at mine?")
    ben.locator("#chat-input").press("Enter")
    upload_list(cleo, [HEAT, PARASITE, ALIEN])
    expect(cleo.locator(".import-status")).to_have_text("Загружено 3 фильма")
    expect(heat.locator(".wanted")).to_have_text("everyone")
    expect(cleo.locator(".candidate", has_text="Heat").locator(".wanted")).to_have_text("все")
    expect(cleo.locator(".member", has_text="Ben")).to_contain_text("3 фильма")
    cleo.locator("#chat-input").fill("Привет!")
    cleo.locator("#chat-input").press("Enter")
    for page in everyone.values():
        expect(page.locator(".chat-log li")).to_have_count(2)
    scroller = ana.locator(".scroll-region")
    assert scroller.evaluate("el => el.scrollHeight > el.clientHeight"), "the list does not scroll"
    check_stage(everyone, "lists", device)  # with the film list, scrolling
    if device == "phone":
        names_on_one_line(ana)

    # Pick: Ana starts a match of the three most wanted; everyone is taken there.
    start_match(ana, 3)
    expect(ben.locator(".notice[role=status]")).to_contain_text("Ana started a match")
    expect(cleo.locator(".notice[role=status]")).to_contain_text("Ana начинает подбор")
    for page in everyone.values():
        expect(page.locator(".swipe-card")).to_have_attribute("aria-label", re.compile("^Heat"))
    expect(ana.locator(".swipe-card")).to_contain_text("On 3 of 3 lists")
    expect(cleo.locator(".swipe-card")).to_contain_text("В 3 списках из 3")
    check_stage(everyone, "pick", device)
    if device == "phone":
        for page in everyone.values():
            on_one_screen(page, ".swipe-card", ".vote-buttons")

    # Ben: no to Heat, yes to Parasite; by touch on the phone (the card follows the finger).
    if device == "phone":
        swipe_by_touch(ben, ben.locator(".swipe-card"), -180)
        expect(ben.locator(".swipe-card")).to_have_attribute("aria-label", re.compile("^Parasite"))
        expect(ana.locator(".round .progress")).to_contain_text("Ben 1/3")
        swipe_by_touch(ben, ben.locator(".swipe-card"), 180)
    else:
        ben.locator(".deck .no").click()
        expect(ben.locator(".swipe-card")).to_have_attribute("aria-label", re.compile("^Parasite"))
        ben.locator(".deck .yes").click()
    expect(ben.locator(".swipe-card")).to_have_attribute("aria-label", re.compile("^Alien"))
    # Ana with the arrow keys, Cleo with the buttons.
    ana.locator("#round-heading").focus()
    ana.keyboard.press("ArrowLeft")
    expect(ana.locator(".swipe-card")).to_have_attribute("aria-label", re.compile("^Parasite"))
    ana.keyboard.press("ArrowRight")
    cleo.locator(".deck .no").click()
    expect(cleo.locator(".swipe-card")).to_have_attribute("aria-label", re.compile("^Parasite"))
    cleo.locator(".deck .yes").click()

    # A match: everyone gets the celebration; only Ana can start the party from it.
    for page in everyone.values():
        expect(celebration(page)).to_be_visible()
        expect(celebration(page)).to_contain_text("Parasite")
    check_page(ana, f"the match celebration, Ana's {device} page")
    check_page(cleo, f"the match celebration, Cleo's {device} page")
    for page in (ben, cleo):
        celebration(page).locator("button").click()  # their only button: the details
        expect(celebration(page)).to_be_hidden()
        expect(page.locator(".result-sentence")).to_be_visible()
    # The answered cards with their yes counts: Heat 0 (Ben's "no" counted), Parasite 3.
    bars = ben.locator(".explanation .bar-row")
    expect(bars).to_have_count(2)
    expect(bars.filter(has_text="Heat").locator(".bar-value")).to_have_text("0")
    expect(bars.filter(has_text="Parasite").locator(".bar-value")).to_have_text("3")
    check_stage({"Ben": ben, "Cleo": cleo}, "pick", device)

    # Watch: "Watch it together" takes everyone there, at 0:00, paused, nobody ready.
    watch_it_together(ana)
    expect(ben.locator(".notice[role=status]")).to_contain_text(
        "Ana started the watch party: Parasite"
    )
    expect(cleo.locator(".notice[role=status]")).to_contain_text(
        "Ana начинает совместный просмотр: Parasite"
    )
    for page in everyone.values():
        expect(stage(page)).to_have_attribute("data-stage", "watch")
        expect(page.locator("#party-timer")).to_have_text("0:00")
        expect(page.locator("#party-timer")).to_have_attribute("data-state", "paused")
        expect(page.locator(".ready-row button")).to_have_count(1)
        expect(page.locator(".countdown")).to_have_text("")
    expect(ana.locator(".countdown-row button")).to_have_count(1)
    expect(ben.locator(".countdown-row button")).to_have_count(0)
    check_stage(everyone, "watch", device)
    if device == "phone":
        for page in everyone.values():
            on_one_screen(page, "#party-timer", "#chat-input")

    # Everyone ready: the countdown starts by itself; at zero, with no video, everyone is told
    # to start their copy, and the ready check and countdown buttons are gone while it plays.
    for page in everyone.values():
        page.locator(".ready-row button").click()
    expect(ben.locator(".countdown")).to_contain_text("Starting in")
    expect(cleo.locator(".countdown")).to_contain_text("Начинаем через")
    expect(ben.locator(".start-now")).to_have_text(
        "Start your copy of Parasite now", timeout=15_000
    )
    expect(cleo.locator(".start-now")).to_have_text("Включайте «Parasite» у себя — сейчас!")
    for page in everyone.values():
        expect(page.locator("#party-timer")).to_have_attribute("data-state", "playing")
        expect(page.locator(".ready-row button")).to_have_count(0)
        expect(page.locator(".countdown-row button")).to_have_count(0)
    # the stage bar says so too, though no event marked the scheduled start passing
    expect(ben.locator('[data-stage-tab="watch"] .tab-hint')).to_have_text("playing")
    expect(cleo.locator('[data-stage-tab="watch"] .tab-hint')).to_have_text("идёт")
    check_stage(everyone, "watch", device)

    # Cleo reloads: the conversation is still there, her times on the 24-hour clock, Ana's
    # on the 12-hour clock of her English (US) browser.
    cleo.reload()
    expect(cleo.locator(".connection[data-state=connected]")).to_be_visible()
    log = cleo.locator(".chat-log li")
    expect(log).to_have_count(2)
    expect(log.nth(0)).to_contain_text("Ben popcorn at mine?")
    expect(log.nth(1)).to_contain_text("Cleo Привет!")
    expect(log.nth(0).locator("time")).to_have_text(TWENTY_FOUR_HOUR)
    expect(ana.locator(".chat-log li time").first).to_have_text(TWELVE_HOUR)
    for context in contexts:
        context.close()
