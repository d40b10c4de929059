"""A Letterboxd username import on a server that cannot reach Letterboxd fails fast, in the
browser: within 5 s the member reads why, in their language, and is pointed to the export
upload (the file chooser gets the focus), instead of "Importing… 0 films" for a minute."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.checks import assert_accessible
from tests.e2e.friday import DESKTOP, create_session, new_member_context, open_stage
from tests.support.server_process import server_process
from tests.support.services import free_port

pytestmark = pytest.mark.browser

FAST_S = 15.0
"""A bound that tells a failure without retries (1-2 s here, the issue asks for under 5 s)
from the old backed-off one (about 63 s), with room for a loaded machine: the speed itself
is the server test's business, which counts the attempts made."""
TEXTS = {
    "en-US": (
        "filmnight can't reach Letterboxd right now.",
        "Upload your export instead",
        "import failed",
    ),
    "ru-RU": (
        "filmnight сейчас не может связаться с Letterboxd.",
        "Загрузите экспорт",
        "ошибка загрузки",
    ),
}


@pytest.mark.parametrize(
    ("cause", "locale"),
    [("refused", "en-US"), ("unresolvable", "ru-RU")],
)
def test_an_unreachable_letterboxd_fails_within_seconds_and_points_to_the_export(
    browser: Browser, tmp_path: Path, cause: str, locale: str
) -> None:
    # Nothing listens on a port just found free; a name under .invalid never resolves (RFC 6761).
    url = f"http://127.0.0.1:{free_port()}" if cause == "refused" else "http://letterboxd.invalid"
    reason, pointer, badge = TEXTS[locale]
    with server_process(tmp_path, {"FILMNIGHT_LETTERBOXD_URL": url}) as server:
        context = new_member_context(browser, DESKTOP, locale)
        page = context.new_page()
        create_session(page, server.base_url, "Ana", "Unreachable night")
        open_stage(page, "lists")
        page.locator("#letterboxd-input").fill("cinephile_ana")
        started = time.monotonic()
        page.locator("#letterboxd-input").press("Enter")
        error = page.locator(".imports .form-error")
        expect(error).to_have_text(reason, timeout=FAST_S * 1000)
        elapsed = time.monotonic() - started
        assert elapsed < FAST_S, f"the failure took {elapsed:.1f} s"
        help_text = page.locator(".imports .hint")
        expect(help_text).to_be_visible()
        expect(help_text).to_contain_text(pointer)
        expect(help_text).to_contain_text("Settings → Data → Export your data")
        # The way forward has the focus: the export's file chooser, in the drop area.
        page.wait_for_function("() => document.activeElement?.id === 'import-file'")
        expect(page.locator(".import-status")).to_have_text("")
        expect(page.locator(".imports progress")).to_be_hidden()
        expect(page.locator(".member .badge.failed")).to_have_text(badge)
        assert_accessible(page, f"the lists stage after an unreachable import ({locale})")
        context.close()
