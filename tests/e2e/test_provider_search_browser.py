"""The host's nomination search in the browser also finds films on the film database (the
fake TMDb), with posters from our own origin, and nominates one nobody listed."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.friday import DESKTOP, PHONE, create_session, new_member_context, open_stage
from tests.support.fake_provider import FakeMovie
from tests.support.fake_tmdb import FakeTmdb, fake_tmdb
from tests.support.server_process import ServerProcess, server_process

pytestmark = pytest.mark.browser


def real_png(width: int = 20, height: int = 30) -> bytes:
    """A small PNG a browser decodes (the fakes' default posters only pass the server's checks)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80\x20\x20" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


NOSFERATU = FakeMovie(tmdb_id=653, title="Nosferatu", year=1922, runtime=94,
                      genres=("Horror",), imdb_id="tt0013442", poster=real_png())  # fmt: skip


@pytest.fixture(scope="module")
def tmdb_site() -> Iterator[FakeTmdb]:
    with fake_tmdb([NOSFERATU]) as fake:
        yield fake


@pytest.fixture(scope="module")
def tmdb_server(
    tmp_path_factory: pytest.TempPathFactory, tmdb_site: FakeTmdb
) -> Iterator[ServerProcess]:
    env = {
        "FILMNIGHT_FILM_DATA": "tmdb",
        "FILMNIGHT_TMDB_URL": tmdb_site.base_url,
        "FILMNIGHT_FILM_DATA_KEY": tmdb_site.key,
    }
    with server_process(Path(tmp_path_factory.mktemp("e2e-tmdb")), env=env) as running:
        yield running


@pytest.mark.parametrize(
    ("device", "locale"), [(DESKTOP, "en"), (PHONE, "ru")], ids=["desktop-en", "phone-ru"]
)
def test_the_host_finds_a_film_nobody_listed_and_nominates_it_with_its_poster(
    browser: Browser, tmdb_server: ServerProcess, device: dict[str, object], locale: str
) -> None:
    context = new_member_context(browser, device, locale)
    try:
        host: Page = context.new_page()
        third_party: list[str] = []
        host.on(
            "request",
            lambda request: (
                third_party.append(request.url)
                if not request.url.startswith(tmdb_server.base_url)
                else None
            ),
        )
        create_session(host, tmdb_server.base_url, "Ana", "Friday")
        open_stage(host, "pick")
        host.locator("details.nominate summary").click()
        host.locator("#nominate-search").fill("nosferatu")
        result = host.locator(".provider-film").first
        expect(result).to_be_visible()
        expect(result).to_contain_text("Nosferatu")
        expect(host.locator(".provider-heading")).to_have_text(
            "From TMDb" if locale == "en" else "Из TMDb"
        )
        poster = result.locator("img.poster")
        src = poster.get_attribute("src") or ""
        assert src.startswith("/posters/"), src
        # the poster really loaded, from our own origin
        poster.scroll_into_view_if_needed()  # a lazy image loads once on screen
        host.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=poster.element_handle()
        )
        host.screenshot(path=f"/tmp/i19-provider-search-{locale}.png", full_page=True)
        result.locator("button").click()
        open_stage(host, "lists")
        candidate = host.locator(".candidate", has_text="Nosferatu")
        expect(candidate).to_be_visible()
        expect(candidate.locator(".badge.host")).to_be_visible()  # nominated
        assert third_party == [], third_party  # the browser asked nobody but our server
    finally:
        context.close()
