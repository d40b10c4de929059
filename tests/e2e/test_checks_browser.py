"""The page checks themselves: axe-core's report names what fails, the scroll check measures."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.e2e.checks import assert_accessible, assert_no_horizontal_scroll, axe_violations

pytestmark = pytest.mark.browser

CLEAN = """<!doctype html><html lang="en"><head><title>ok</title></head>
<body><main><h1>Films</h1><button type="button">Yes</button></main></body></html>"""

# A nameless button (critical: button-name) and grey-on-white 11 px text (serious: color-contrast).
BROKEN = """<!doctype html><html lang="en"><head><title>bad</title></head>
<body><main><h1>Films</h1>
<button type="button" class="nameless"></button>
<p class="faint" style="color:#aaa;background:#fff;font-size:11px">NO LIST YET</p>
</main></body></html>"""


def test_axe_passes_a_clean_page_and_names_rule_impact_and_target_of_a_broken_one(
    browser: Browser,
) -> None:
    page = browser.new_page()
    page.set_content(CLEAN)
    assert_accessible(page, "a clean page")

    page.set_content(BROKEN)
    found = {v["id"]: v for v in axe_violations(page)}
    assert found["button-name"]["impact"] == "critical"
    assert found["color-contrast"]["impact"] == "serious"
    with pytest.raises(AssertionError) as failure:
        assert_accessible(page, "the broken page")
    report = str(failure.value)
    assert "on the broken page" in report
    assert "button-name (critical)" in report
    assert "color-contrast (serious)" in report
    assert "at button" in report  # axe's shortest unique selector, then the element
    assert '<button type="button" class="nameless">' in report
    assert "at p" in report
    assert "insufficient color contrast" in report
    page.close()


def test_the_scroll_check_fails_a_page_wider_than_a_phone(browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.set_content('<main><p style="width:300px">fits</p></main>')
    assert_no_horizontal_scroll(page, "a narrow page")
    page.set_content('<main><p class="wide" style="width:600px">does not fit</p></main>')
    with pytest.raises(AssertionError, match=r"scrollWidth 6\d\d > innerWidth 390.*p\.wide"):
        assert_no_horizontal_scroll(page, "a wide page")
    page.close()
