"""The watch party's rules in the browser, as a group meets them.

A warm-up reel has played for a while when the group matches on a film: "Watch it together"
must start the new film at 0:00, paused, with a new ready check (the issue's report: the
friend saw the film already at 0:03 and playing).  On the way: a member who goes offline is
not shown as ready; a seek and a pause are announced by name.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.friday import (
    DESKTOP,
    celebration,
    create_session,
    join_session,
    new_member_context,
    open_stage,
    stage,
    start_match,
    upload_list,
    watch_it_together,
)
from tests.server.test_watchlists_http import HEAT, PARASITE
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.browser


def test_watch_it_together_after_a_played_film_restarts_at_zero_with_a_new_ready_check(
    browser: Browser, server: ServerProcess
) -> None:
    ana_ctx, ben_ctx = (new_member_context(browser, DESKTOP, "en-US") for _ in range(2))
    ana, ben = ana_ctx.new_page(), ben_ctx.new_page()
    invite = create_session(ana, server.base_url, "Ana", "Two films")
    join_session(ben, invite, "Ben")
    open_stage(ana, "lists")
    upload_list(ana, [HEAT, PARASITE])
    upload_list(ben, [HEAT, PARASITE])

    # A warm-up reel, named in the party settings: everyone is taken to Watch.
    open_stage(ana, "watch")
    ana.locator("#party-film").fill("Warm-up reel")
    ana.locator(".party-setup form button[type=submit]").click()
    expect(stage(ben)).to_have_attribute("data-stage", "watch")
    expect(ben.locator(".party-film")).to_contain_text("Warm-up reel")

    # Ben is ready, then closes his page: offline, he is no longer shown as ready.
    ben.locator(".ready-row button").click()
    expect(ana.locator(".member .badge.ready")).to_have_count(1)
    ben.close()
    expect(ana.locator(".member.offline")).to_have_count(1)
    expect(ana.locator(".member .badge.ready")).to_have_count(0)
    ben = ben_ctx.new_page()
    ben.goto(invite)  # the same seat
    expect(ben.locator(".connection[data-state=connected]")).to_be_visible()
    open_stage(ben, "watch")

    # Both ready: the countdown starts by itself, then the reel plays.
    ben.locator(".ready-row button").click()
    ana.locator(".ready-row button").click()
    expect(ben.locator(".countdown")).to_contain_text("Starting in")
    expect(ben.locator("#party-timer")).to_have_attribute("data-state", "playing", timeout=15_000)
    ben.wait_for_function(
        "() => Number(document.querySelector('#party-timer').dataset.positionMs) > 2000"
    )
    ana.get_by_role("button", name="+10 s").click()
    expect(ben.locator(".notice[role=status]")).to_contain_text(re.compile(r"Ana jumped to 0:1\d"))
    ana.get_by_role("button", name="Pause").click()
    expect(ben.locator(".notice[role=status]")).to_have_text("Paused by Ana")
    expect(ben.locator("#party-timer")).to_have_attribute("data-state", "paused")
    expect(ben.locator("#party-timer")).to_have_text(re.compile(r"^0:1\d$"))

    # A match on the first card, then "Watch it together".
    start_match(ana, 2)
    for page in (ana, ben):
        expect(stage(page)).to_have_attribute("data-stage", "pick")
        page.locator(".deck .yes").click()
    for page in (ana, ben):
        expect(celebration(page)).to_be_visible()
    film = (celebration(ana).locator("h2").text_content() or "").strip()
    assert film in {"Heat", "Parasite"}
    celebration(ben).locator("button").click()
    watch_it_together(ana)

    # The new film at 0:00, paused, nobody ready, no countdown: a new ready check.
    for page in (ana, ben):
        expect(stage(page)).to_have_attribute("data-stage", "watch")
        expect(page.locator(".party-film")).to_contain_text(film)
        expect(page.locator("#party-timer")).to_have_text("0:00")
        expect(page.locator("#party-timer")).to_have_attribute("data-state", "paused")
        expect(page.locator(".member .badge.ready")).to_have_count(0)
        expect(page.locator(".ready-row button")).to_have_text("I'm ready")
        expect(page.locator(".countdown")).to_have_text("")
    expect(ana.locator(".countdown-row button")).to_have_text("Start anyway")
    ben.wait_for_timeout(1500)  # and it stays there: nothing plays by itself
    expect(ben.locator("#party-timer")).to_have_text("0:00")
    ana_ctx.close()
    ben_ctx.close()
