"""A Friday night in the browser, step by step: shared by the stage tests and scripts/screenshots.

Every step finds elements by id, class or data attribute, never by visible text, so the same
steps drive an English and a Russian browser.  Viewports: the desktop and phone sizes of
issue reports (1280×800, and 390×844 as a touch phone).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from playwright.sync_api import Browser, BrowserContext, FilePayload, Locator, Page, expect

from tests.server.test_watchlists_http import lb_csv

__all__ = [
    "DESKTOP",
    "PHONE",
    "STAGES",
    "celebration",
    "create_session",
    "csv_file",
    "join_session",
    "new_member_context",
    "open_stage",
    "stage",
    "start_match",
    "swipe_by_touch",
    "upload_list",
    "watch_it_together",
]

STAGES = ("invite", "lists", "pick", "watch")
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}

Film = tuple[str, int | None, str]


def new_member_context(browser: Browser, device: dict[str, Any], locale: str) -> BrowserContext:
    # Device scale 1: the screenshots stay small; the layout is the same at any scale.
    return browser.new_context(**device, locale=locale, device_scale_factor=1)


def stage(page: Page) -> Locator:
    return page.locator("[data-stage]")


def create_session(page: Page, base_url: str, name: str, title: str) -> str:
    """The host starts a night from the home page; returns the invite link."""
    page.goto(base_url)
    page.locator("#host-name").fill(name)
    page.locator("#title").fill(title)
    page.locator("form button[type=submit]").click()
    expect(page.locator(".connection[data-state=connected]")).to_be_visible()
    invite = page.locator("#invite-link").input_value()
    assert "/join/" in invite
    return invite


def join_session(page: Page, invite: str, name: str) -> None:
    page.goto(invite)
    page.locator("#join-name").fill(name)
    page.locator("form button[type=submit]").click()
    expect(page.locator(".connection[data-state=connected]")).to_be_visible()


def open_stage(page: Page, name: str) -> None:
    page.locator(f'[data-stage-tab="{name}"]').click()
    expect(stage(page)).to_have_attribute("data-stage", name)


def csv_file(films: Sequence[Film], name: str = "watchlist.csv") -> FilePayload:
    return {"name": name, "mimeType": "text/csv", "buffer": lb_csv(*films)}


def upload_list(page: Page, films: Sequence[Film]) -> None:
    """Choose a watchlist.csv in the Lists stage's upload area; wait for the result."""
    page.set_input_files("#import-file", files=[csv_file(films)])
    expect(page.locator(".import-status")).to_contain_text(str(len(films)))
    expect(page.locator(".imports .form-error")).to_have_text("")


def start_match(host: Page, size: int) -> None:
    open_stage(host, "pick")
    host.locator("#round-mode").select_option("match")
    host.locator("#round-size").fill(str(size))
    host.locator("#start-round").click()


def celebration(page: Page) -> Locator:
    return page.locator("dialog[data-celebration]")


def watch_it_together(host: Page) -> None:
    """The host's main button in the match celebration hands the winner to the party."""
    celebration(host).locator("button.primary").click()
    expect(celebration(host)).to_be_hidden()


def swipe_by_touch(page: Page, target: Locator, dx: float, steps: int = 8) -> None:
    """A finger on ``target`` moves ``dx`` px sideways and lifts: real touch input through
    the DevTools protocol, which Chromium turns into pointer events (pointerType "touch"),
    honouring the element's touch-action as a phone does."""
    target.scroll_into_view_if_needed()  # as the finger must find it on screen
    box = target.bounding_box()
    assert box is not None, "the card is not shown"
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send(
            "Input.dispatchTouchEvent",
            {"type": "touchStart", "touchPoints": [{"x": x, "y": y, "id": 1}]},
        )
        for step in range(1, steps + 1):
            point = {"x": x + dx * step / steps, "y": y + step, "id": 1}
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    finally:
        cdp.detach()
