"""What a first visit to an invite link costs, on the embedded default, in real Chromium.

    uv run python bench/bench_client.py [--runs 9]

Starts ``filmnight serve`` (SQLite, in-memory channels) on a free port with a temporary
data dir, creates a session over HTTP, then opens its invite link in fresh browser
contexts (an empty cache, as a friend's first visit).  Prints two tables:

- the bytes of HTML, CSS and JS (and anything else) the browser received until the
  join form is ready, and until the lobby is shown after joining: decoded bytes and
  bytes on the wire, counted from every response Playwright sees;
- the time from opening the invite link to the join form, and to the lobby
  (the script types the name and presses Join at once, so no human delay is
  counted), and a returning member's time from the invite link straight to the
  lobby; medians and p90 over ``--runs`` runs after one warm-up run. Times are the
  page's own ``performance.now()`` (0 = navigation start), read on the first frame
  that shows the form or the lobby.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, Request, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.server_process import server_process

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
_ENV = {"FILMNIGHT_MAX_MEMBERS": "100000"}
# The join form is ready when its name field is; the lobby when a stage section is shown
# (the client keeps data-stage on the visible stage) and the socket is live.
FORM_READY = "() => { const i = document.querySelector('form input[name=name]'); \
return i && i.offsetParent !== null ? performance.now() : false; }"
LOBBY_READY = "() => { const s = document.querySelector('[data-stage]'); \
return s && s.offsetParent !== null && !document.querySelector('form input[name=name]') \
? performance.now() : false; }"
KINDS = {"document": "HTML", "stylesheet": "CSS", "script": "JS"}


@dataclass
class Traffic:
    decoded: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    wire: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    files: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, request: Request) -> None:
        response = request.response()
        if response is None or request.url.startswith("data:"):
            return
        kind = KINDS.get(request.resource_type, "other")
        if request.resource_type in ("fetch", "xhr"):
            kind = "API"
        try:
            body = len(response.body())
        except Exception:  # a redirect or a body the browser did not keep
            body = 0
        sizes = request.sizes()
        self.decoded[kind] += body
        self.wire[kind] += sizes["responseBodySize"] + sizes["responseHeadersSize"]
        self.files[kind] += 1


def _pct(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round((len(ordered) - 1) * pct / 100))]


def _lobby_ms(page: Page) -> float:
    return float(page.wait_for_function(LOBBY_READY, polling="raf", timeout=30_000).json_value())


def visit(browser: Browser, invite: str, name: str) -> tuple[float, float, float, Traffic, Traffic]:
    """One friend's first visit: (form ms, lobby ms, returning ms, traffic to form, to lobby)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    to_form, to_lobby = Traffic(), Traffic()
    page = context.new_page()
    phase = [to_form]
    page.on("requestfinished", lambda request: phase[0].add(request))
    page.goto(invite, wait_until="commit")
    form_ms = float(page.wait_for_function(FORM_READY, polling="raf", timeout=30_000).json_value())
    phase[0] = to_lobby
    page.fill("form input[name=name]", name)
    page.press("form input[name=name]", "Enter")
    lobby_ms = _lobby_ms(page)
    page.wait_for_load_state("networkidle")
    # The same friend opens the invite link again: straight back to the seat.
    again = context.new_page()
    again.goto(invite, wait_until="commit")
    returning_ms = _lobby_ms(again)
    context.close()
    return form_ms, lobby_ms, returning_ms, to_form, to_lobby


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not on PATH")
    with (
        tempfile.TemporaryDirectory() as tmp,
        server_process(Path(tmp), _ENV) as server,
        sync_playwright() as playwright,
    ):
        created = httpx.post(
            f"{server.base_url}/api/v1/sessions",
            json={"host_name": "Ana", "title": "Friday film night"},
            timeout=30,
        )
        created.raise_for_status()
        invite = f"{server.base_url}/join/{created.json()['invite_code']}"
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        visit(browser, invite, "Warm-up")
        runs = [visit(browser, invite, f"Friend {i}") for i in range(args.runs)]
        browser.close()

    _, _, _, to_form, to_lobby = runs[0]
    timings = [(form, lobby, returning) for form, lobby, returning, _, _ in runs]
    print("first visit to an invite link (fresh cache)")
    print(f"{'':<8} {'to the join form':>26} {'+ joining, to the lobby':>26}")
    print(
        f"{'':<8} {'decoded':>9} {'wire':>9} {'files':>6} {'decoded':>9} {'wire':>9} {'files':>6}"
    )
    kinds = ["HTML", "CSS", "JS", "API", "other"]
    for kind in [*kinds, "total"]:
        pick = kinds if kind == "total" else [kind]
        cells = []
        for traffic in (to_form, to_lobby):
            cells += [
                sum(traffic.decoded[k] for k in pick),
                sum(traffic.wire[k] for k in pick),
                sum(traffic.files[k] for k in pick),
            ]
        print(
            f"{kind:<8} {cells[0]:>9,} {cells[1]:>9,} {cells[2]:>6} "
            f"{cells[3]:>9,} {cells[4]:>9,} {cells[5]:>6}"
        )
    html_css_js = sum(
        traffic.decoded[k] for traffic in (to_form, to_lobby) for k in ("HTML", "CSS", "JS")
    )
    print(f"HTML + CSS + JS of a first visit, decoded: {html_css_js:,} bytes")
    print()
    print(f"time from opening the invite link ({args.runs} runs, after one warm-up)")
    print(f"{'':<46} {'median':>10} {'p90':>10}")
    for label, column in [
        ("join form ready", 0),
        ("lobby shown (new friend, name typed at once)", 1),
        ("lobby shown (returning member, cached)", 2),
    ]:
        samples = [times[column] for times in timings]
        print(f"{label:<46} {statistics.median(samples):>8.0f} ms {_pct(samples, 90):>8.0f} ms")


if __name__ == "__main__":
    main()
