"""Limits for tonight in the browser: the host sets them with the keyboard, another member
sees them and the shorter candidate list at once, and again when a round starts.
English and Russian, desktop and phone (each run puts the two members on different ones)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from tests.e2e.checks import assert_accessible, assert_no_horizontal_scroll
from tests.e2e.friday import (
    DESKTOP,
    PHONE,
    create_session,
    join_session,
    new_member_context,
    open_stage,
)
from tests.live.test_limits import imdb_csv
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.browser

ALL = ("Alien", "Heat", "Parasite", "Amélie", "Short Cuts")
# What the other member reads, per language: the runtime bound and the films left out.
SAYS = {
    "en": ("Tonight:", "up to 2 hr 30 min", "no horror", "3 films left out"),
    "ru": ("Сегодня:", "не длиннее 2 ч 30 мин", "без жанров: horror", "отсеяно 3 фильма"),
}


def upload_imdb(page: Page) -> None:
    open_stage(page, "lists")
    payload: FilePayload = {"name": "imdb.csv", "mimeType": "text/csv", "buffer": imdb_csv(*ALL)}
    page.set_input_files("#import-file", files=[payload])
    expect(page.locator(".import-status")).to_contain_text("5")


@pytest.mark.parametrize(
    ("host_device", "host_locale", "guest_device", "guest_locale"),
    [(DESKTOP, "en", PHONE, "ru"), (PHONE, "ru", DESKTOP, "en")],
    ids=["host-desktop-en+guest-phone-ru", "host-phone-ru+guest-desktop-en"],
)
def test_the_host_sets_limits_and_the_other_member_sees_them_and_fewer_films(
    browser: Browser,
    server: ServerProcess,
    host_device: dict[str, Any],
    host_locale: str,
    guest_device: dict[str, Any],
    guest_locale: str,
) -> None:
    host_context = new_member_context(browser, host_device, host_locale)
    guest_context = new_member_context(browser, guest_device, guest_locale)
    try:
        host = host_context.new_page()
        guest = guest_context.new_page()
        invite = create_session(host, server.base_url, "Ana", "Friday")
        join_session(guest, invite, "Вера" if guest_locale == "ru" else "Ben")
        upload_imdb(host)
        upload_imdb(guest)
        expect(guest.locator(".candidate")).to_have_count(5)
        expect(guest.locator("#limits-bar")).to_be_hidden()
        expect(guest.locator(".limits-editor")).to_be_hidden()  # only the host edits

        # The host, by keyboard: open the editor, type a runtime, tick a genre, apply.
        summary = host.locator("#limits-summary")
        summary.focus()
        host.keyboard.press("Enter")
        expect(host.locator("#limit-runtime")).to_be_visible()
        horror = host.locator('.genre-choice input[value="Horror"]')
        expect(horror).to_be_visible()  # the genres tonight's films have, from the export
        host.locator("#limit-runtime").fill("150")
        horror.focus()
        host.keyboard.press("Space")
        expect(horror).to_be_checked()
        host.locator("#limits-save").focus()
        host.keyboard.press("Enter")
        expect(host.locator(".limits .form-error")).to_have_text("")

        # The other member sees the limits and the shorter list without reloading.
        bar = guest.locator("#limits-bar")
        expect(bar).to_be_visible()
        for text in SAYS[guest_locale]:
            expect(bar).to_contain_text(text)
        expect(guest.locator(".candidate")).to_have_count(2)
        titles = sorted(guest.locator(".candidate .film-title").all_inner_texts())
        assert [t.split()[0] for t in titles] == ["Amélie", "Parasite"], titles
        expect(host.locator("#limits-bar")).to_contain_text(SAYS[host_locale][1])
        guest.screenshot(path=f"/tmp/i19-limits-guest-{guest_locale}.png", full_page=True)
        host.screenshot(path=f"/tmp/i19-limits-host-{host_locale}.png", full_page=True)
        for page, name in ((host, "host"), (guest, "guest")):
            assert_no_horizontal_scroll(page, name)
            assert_accessible(page, f"{name}: lists with limits")

        # A round starts: its shortlist respects the limits, and says so in the Pick stage.
        open_stage(host, "pick")
        host.locator("#round-mode").select_option("poll")
        host.locator("#round-size").fill("5")
        host.locator("#start-round").click()
        expect(guest.locator("[data-stage]")).to_have_attribute("data-stage", "pick")
        round_bar = guest.locator("#round-limits")
        expect(round_bar).to_be_visible()
        expect(round_bar).to_contain_text(SAYS[guest_locale][1])
        expect(guest.locator(".ranking li")).to_have_count(2)
        guest.screenshot(path=f"/tmp/i19-limits-round-{guest_locale}.png", full_page=True)
    finally:
        host_context.close()
        guest_context.close()
