"""The web client's socket (web-client/js/live.js) in real Chromium: a restart's 1012
brings it back within the window the close names, and it resumes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright

from realtime.connection import restart_reason
from tests.conftest import LiveServer
from tests.e2e.conftest import CHROMIUM_ARGS
from tests.live.test_socket import http_create
from tests.support.services import chromium_path

pytestmark = pytest.mark.browser


async def welcomes(page: Page, count: int, timeout: float = 10.0) -> None:
    """Wait until the page has seen ``count`` welcomes (polled: the page's CSP forbids
    the string evaluation ``wait_for_function`` uses)."""
    deadline = time.monotonic() + timeout
    while await page.evaluate("() => window.seen.welcomes.length") < count:
        assert time.monotonic() < deadline, f"no welcome #{count}"
        await asyncio.sleep(0.02)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        launched = await p.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()


OPEN = """async ([sessionId, token]) => {
  const { LiveSession } = await import("/static/js/live.js");
  window.seen = { welcomes: [], closes: [] };
  const live = new LiveSession(sessionId, token, {
    welcome: (event) =>
      window.seen.welcomes.push({ at: performance.now(), resumed: event.resumed }),
  });
  const closed = live.closed.bind(live);
  live.closed = (event) => {
    window.seen.closes.push({ at: performance.now(), code: event.code, reason: event.reason });
    closed(event);
  };
  live.start();
}"""


async def test_the_web_client_comes_back_within_the_restart_window_and_resumes(
    live: LiveServer, browser: Browser
) -> None:
    host = await http_create(live)
    page = await browser.new_page()
    await page.goto(f"{live.base_url}/healthz")  # the server's origin, for the module
    await page.evaluate(OPEN, [host["session_id"], host["token"]])
    await welcomes(page, 1)
    connections = live.app.state.connections
    started = time.monotonic()
    assert await connections.restart_all(restart_reason(1500, 1700), timeout=5) == 0
    connections.restarting, connections.draining = None, False  # "the new process"
    await welcomes(page, 2)
    assert time.monotonic() - started < 5
    seen = await page.evaluate("() => window.seen")
    [close] = seen["closes"]
    assert close["code"] == 1012 and close["reason"] == restart_reason(1500, 1700)
    waited = seen["welcomes"][1]["at"] - close["at"]
    assert 1500 <= waited < 2200, waited  # not the 250-500 ms of a first back-off
    assert seen["welcomes"][1]["resumed"] is True
    await page.close()
