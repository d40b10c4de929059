"""The stages on a phone (390×844, touch): nothing wider than the screen, a name on one line,
the card and its buttons on one screen, a touch swipe, the party timer beside the chat."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.checks import assert_no_horizontal_scroll
from tests.e2e.friday import PHONE, csv_file, swipe_by_touch
from tests.server.test_watchlists_http import ALIEN, HEAT, PARASITE
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.browser

LONG_NAME = "Maximiliana Rosalind Featherstonehaugh"
HEIGHT = PHONE["viewport"]["height"]


def on_screen(page: Page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT


def test_every_stage_fits_a_phone_and_a_card_is_swiped_by_touch(
    browser: Browser, server: ServerProcess
) -> None:
    host = browser.new_context().new_page()
    host.goto(server.base_url)
    host.get_by_label("Your name").fill("Ana")
    host.get_by_role("button", name="Start a film night").click()
    invite = host.get_by_label("Invite link", exact=True).input_value()

    phone = browser.new_context(**PHONE).new_page()
    phone.goto(invite)
    assert_no_horizontal_scroll(phone, "phone")
    phone.get_by_label("Your name").fill(LONG_NAME)
    phone.get_by_role("button", name="Join").click()
    expect(phone.get_by_role("status").filter(has_text="Live")).to_be_visible()

    # The long name stays on one line (cut with an ellipsis); its badges wrap below it.
    name = phone.locator(".member .name", has_text="Maximiliana")
    height = name.evaluate("n => n.getBoundingClientRect().height")
    line = name.evaluate("n => parseFloat(getComputedStyle(n).lineHeight)")
    assert height < 1.5 * line, (height, line)
    for stage in ("invite", "lists", "pick", "watch"):
        phone.locator(f'[data-stage-tab="{stage}"]').click()
        expect(phone.locator("[data-stage]")).to_have_attribute("data-stage", stage)
        assert_no_horizontal_scroll(phone, "phone")

    phone.locator('[data-stage-tab="lists"]').click()
    phone.set_input_files("#import-file", files=[csv_file([HEAT, PARASITE, ALIEN])])
    host.locator('[data-stage-tab="lists"]').click()
    host.set_input_files("#import-file", files=[csv_file([HEAT, PARASITE, ALIEN])])
    expect(phone.locator(".candidate")).to_have_count(3)
    assert_no_horizontal_scroll(phone, "phone")

    host.locator('[data-stage-tab="pick"]').click()
    host.get_by_label("How many films").fill("3")
    host.get_by_role("button", name="Start the round").click()
    expect(phone.locator(".swipe-card")).to_contain_text("Heat")
    assert_no_horizontal_scroll(phone, "phone")
    # The card and both buttons are on the screen together.
    phone.locator(".deck").evaluate("d => d.scrollIntoView({block: 'center'})")
    for part in (".swipe-card", ".deck .no", ".deck .yes"):
        assert on_screen(phone, part), part

    # A touch swipe to the left is a no, to the right a yes.
    swipe_by_touch(phone, phone.locator(".swipe-card"), -200)
    expect(phone.locator(".swipe-card")).to_contain_text("Parasite")
    swipe_by_touch(phone, phone.locator(".swipe-card"), 200)
    expect(phone.locator(".swipe-card")).to_contain_text("Alien")
    expect(host.locator(".round .progress")).to_contain_text("2/3")

    # The party: the timer and the chat on one screen.
    host.locator('[data-stage-tab="watch"]').click()
    host.get_by_label("Film", exact=True).fill("Heat")
    host.get_by_role("button", name="Save party settings").click()
    expect(phone.locator("[data-stage]")).to_have_attribute("data-stage", "watch")
    assert_no_horizontal_scroll(phone, "phone")
    phone.evaluate("() => window.scrollTo(0, 0)")
    phone.locator("#party-timer").evaluate("t => t.scrollIntoView({block: 'start'})")
    phone.evaluate("() => window.scrollBy(0, -80)")  # below the sticky stage bar
    assert on_screen(phone, "#party-timer")
    assert on_screen(phone, "#chat-input")
    host.context.close()
    phone.context.close()
