"""The watch party in real Chromium: two screens follow one clock, with a real video."""

from __future__ import annotations

import functools
import http.server
import io
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.browser


def make_video(path: Path, seconds: int = 30, fps: int = 10) -> None:
    """A tiny VP8 WebM (160x120) with a moving bar, made here so nothing is downloaded."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libvpx", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(seconds * fps):
            image = np.zeros((120, 160, 3), dtype=np.uint8)
            image[:, (i * 3) % 160, :] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves byte ranges as media hosts do; without them a browser cannot seek."""

    def send_head(self):
        header = self.headers.get("Range", "")
        path = Path(self.translate_path(self.path))
        if not header.startswith("bytes=") or not path.is_file():
            return super().send_head()
        data = path.read_bytes()
        start_text, _, end_text = header[6:].partition("-")
        start = int(start_text or 0)
        end = min(int(end_text) if end_text else len(data) - 1, len(data) - 1)
        self.send_response(206)
        self.send_header("Content-Type", "video/webm")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        return io.BytesIO(data[start : end + 1])

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def media_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("media")
    make_video(folder / "film.webm")
    handler = functools.partial(RangeHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/film.webm"
    server.shutdown()
    server.server_close()


def video_ms(page: Page) -> float:
    return float(page.eval_on_selector("#party-video", "v => v.currentTime * 1000"))


def paused(page: Page) -> bool:
    return bool(page.eval_on_selector("#party-video", "v => v.paused"))


def both_positions(host: Page, guest: Page) -> tuple[float, float]:
    # Read both as close together as this process can; the clocks of both pages are this machine's.
    return video_ms(host), video_ms(guest)


def test_two_screens_play_pause_seek_together_and_a_reload_rejoins(
    browser: Browser, server: ServerProcess, media_url: str
) -> None:
    host_ctx, guest_ctx = browser.new_context(), browser.new_context()
    host = host_ctx.new_page()
    host.goto(server.base_url)
    host.get_by_label("Your name").fill("Ana")
    host.get_by_role("button", name="Start a film night").click()
    expect(host.get_by_role("status").filter(has_text="Live")).to_be_visible()
    invite = host.get_by_label("Invite link", exact=True).input_value()

    guest = guest_ctx.new_page()
    guest.goto(invite)
    guest.get_by_label("Your name").fill("Ben")
    guest.get_by_role("button", name="Join").click()
    expect(guest.locator(".member")).to_have_count(2)

    host.locator('[data-stage-tab="watch"]').click()
    host.get_by_label("Film", exact=True).fill("Test pattern")
    host.get_by_label("Video address").fill(media_url)
    host.get_by_role("button", name="Save party settings").click()
    expect(guest.locator("#party-video")).to_be_visible()
    expect(guest.locator("#party-status")).to_contain_text("Now showing: Test pattern")
    # a guest cannot control playback in a host-controlled party
    expect(guest.get_by_role("button", name="Play")).to_have_count(0)
    # a chat line or a presence tick leaves the host's Play button in place (not rebuilt
    # under her pointer, where a click would be lost)
    host.get_by_role("button", name="Play").evaluate("b => { b.dataset.kept = '1'; }")
    guest.get_by_label("Chat message").fill("ready when you are")
    guest.keyboard.press("Enter")
    expect(host.locator(".chat-log li")).to_contain_text("ready when you are")
    expect(host.locator("button[data-kept]")).to_have_count(1)

    host.get_by_role("button", name="Play").click()
    guest.wait_for_function("() => !document.querySelector('#party-video').paused", timeout=10_000)
    host.wait_for_function(
        "() => document.querySelector('#party-video').currentTime > 3", timeout=15_000
    )
    samples = [both_positions(host, guest) for _ in range(5)]
    assert all(abs(h - g) < 300 for h, g in samples), samples

    host.get_by_role("button", name="Pause").click()
    guest.wait_for_function("() => document.querySelector('#party-video').paused", timeout=10_000)
    host.wait_for_timeout(400)
    h, g = both_positions(host, guest)
    assert paused(host) and abs(h - g) < 300, (h, g)

    host.get_by_role("button", name="+10 s").click()
    moved = f"() => document.querySelector('#party-video').currentTime * 1000 > {g + 9000}"
    for page in (guest, host):  # each screen applies the seek on its next sync tick
        page.wait_for_function(moved, timeout=10_000)
    h, g = both_positions(host, guest)
    assert abs(h - g) < 300, (h, g)

    # the guest reloads and comes back at the right position, playing along
    host.get_by_role("button", name="Play").click()
    guest.wait_for_function("() => !document.querySelector('#party-video').paused", timeout=10_000)
    guest.reload()
    expect(guest.locator(".member")).to_have_count(2)
    guest.wait_for_function("() => !document.querySelector('#party-video').paused", timeout=15_000)
    guest.wait_for_timeout(1500)
    samples = [both_positions(host, guest) for _ in range(3)]
    assert all(abs(h - g) < 300 for h, g in samples), samples
    host_ctx.close()
    guest_ctx.close()


def test_ready_check_and_countdown_in_the_browser(browser: Browser, server: ServerProcess) -> None:
    host_ctx, guest_ctx = browser.new_context(), browser.new_context()
    host = host_ctx.new_page()
    host.goto(server.base_url)
    host.get_by_label("Your name").fill("Ana")
    host.get_by_role("button", name="Start a film night").click()
    expect(host.get_by_role("status").filter(has_text="Live")).to_be_visible()
    guest = guest_ctx.new_page()
    guest.goto(host.get_by_label("Invite link", exact=True).input_value())
    guest.get_by_label("Your name").fill("Ben")
    guest.get_by_role("button", name="Join").click()
    expect(host.locator(".member.online")).to_have_count(2)
    # No film, no ready check: the Watch stage asks for a film first.
    host.locator('[data-stage-tab="watch"]').click()
    expect(host.locator('[data-stage="watch"]')).to_contain_text("Choose the film first")
    expect(host.get_by_role("button", name="I'm ready")).to_have_count(0)
    expect(host.get_by_role("button", name="Start anyway")).to_have_count(0)
    host.get_by_label("Film", exact=True).fill("Test pattern")
    host.get_by_role("button", name="Save party settings").click()
    # Setting the film takes everyone to the Watch stage, with a notice.
    expect(guest.locator("[data-stage]")).to_have_attribute("data-stage", "watch")
    expect(guest.locator(".notice[role=status]")).to_contain_text("Ana started the watch party")
    expect(guest.locator("#party-status")).to_contain_text("Now showing: Test pattern")

    # Ben getting ready redraws Ana's controls; her keyboard focus stays on the countdown button.
    host.get_by_role("button", name="Start anyway").focus()
    guest.get_by_role("button", name="I'm ready").click()
    expect(host.locator(".badge.ready")).to_have_count(1)
    expect(host.get_by_role("button", name="Start anyway")).to_be_focused()
    guest.get_by_role("button", name="I'm not ready").click()
    expect(host.locator(".badge.ready")).to_have_count(0)
    host.get_by_role("button", name="I'm ready").click()
    guest.get_by_role("button", name="I'm ready").click()
    expect(host.locator(".badge.ready")).to_have_count(2)
    # everyone is ready: the countdown starts by itself, then playback
    expect(guest.locator(".countdown")).to_contain_text("Starting in")
    expect(host.get_by_role("button", name="Cancel countdown")).to_be_visible()
    guest.get_by_role("button", name="I'm not ready").click()
    expect(guest.locator(".countdown")).to_have_text("")
    expect(host.get_by_role("button", name="Start anyway")).to_be_visible()

    # At zero without a video everyone is told to start their copy; the ready check and the
    # countdown buttons are gone while the film plays; a pause names who paused.
    host.get_by_role("button", name="Start anyway").click()
    expect(host.get_by_role("button", name="Cancel countdown")).to_be_visible()
    # the host gives everyone more time (WCAG 2.2.1): the guest's countdown grows
    host.get_by_role("button", name="10 more seconds").click()
    expect(guest.locator(".countdown")).to_have_text(re.compile(r"Starting in 1[0-5]…"))
    expect(guest.locator(".notice[role=status]")).to_contain_text("Ana added more time")
    expect(guest.locator(".start-now")).to_have_text(
        "Start your copy of Test pattern now", timeout=20_000
    )
    for page in (host, guest):
        expect(page.locator(".ready-row button")).to_have_count(0)
        expect(page.locator(".countdown-row button")).to_have_count(0)
    host.get_by_role("button", name="Pause").click()
    expect(guest.locator(".notice[role=status]")).to_contain_text("Paused by Ana")
    expect(guest.get_by_role("button", name="I'm ready")).to_be_visible()
    host_ctx.close()
    guest_ctx.close()
