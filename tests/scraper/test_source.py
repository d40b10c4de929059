"""What a member may type as a watchlist source: a username or a Letterboxd link, nothing else."""

from __future__ import annotations

import pytest

from scraper.source import InvalidSource, parse_source

BASE = "https://letterboxd.com"
LOCAL = "http://127.0.0.1:8765"


@pytest.mark.parametrize(
    ("text", "username"),
    [
        ("Ana_92", "ana_92"),
        ("  ana\n", "ana"),
        ("a" * 40, "a" * 40),
        ("https://letterboxd.com/ana/", "ana"),
        ("https://letterboxd.com/ana", "ana"),
        ("https://www.letterboxd.com/Ana/watchlist/", "ana"),
        ("https://letterboxd.com/ana/watchlist", "ana"),
        ("http://letterboxd.com/ana/watchlist/page/3/", "ana"),
        ("HTTPS://LETTERBOXD.COM/ana/", "ana"),
        ("letterboxd.com/ana/watchlist/", "ana"),
    ],
)
def test_usernames_and_letterboxd_links_are_accepted(text: str, username: str) -> None:
    assert parse_source(text, BASE) == username


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "a" * 41,
        "ana bob",
        "ana\tbob",
        "ana\x00",
        "ana-bob",
        "anä",
        "../etc/passwd",
        "ana/../bob",
        "https://letterboxd.com/ana/../bob/",
        "https://letterboxd.com/%2e%2e/ana/",
        "ana%2Fwatchlist",
        "https://letterboxd.com/ana%2Fwatchlist/",
        "@evil.com",
        "ana@evil.com",
        "https://ana@letterboxd.com/ana/",
        "https://ana:secret@letterboxd.com/ana/",
        "https://letterboxd.com@evil.com/ana/",
        "https://letterboxd.com.evil.com/ana/",
        "https://evil.com/letterboxd.com/ana/",
        "evil.com/letterboxd.com/x",
        "https://evilletterboxd.com/ana/",
        "https://letterboxd.com./ana/",
        "https://letterboxd.com:443/ana/",
        "https://letterboxd.com:8443/ana/",
        "https://letterboxd.com//evil.com/ana/",
        "https://letterboxd.com/ana/watchlist/?redirect=https://evil.com",
        "https://letterboxd.com/ana/watchlist/?",
        "https://letterboxd.com/ana/watchlist/#x",
        "https://letterboxd.com/ana/watchlist/page/0/",
        "https://letterboxd.com/ana/list/top/",
        "https://letterboxd.com/ana/films/",
        "https://letterboxd.com/ana/watchlist/by/rating/",
        "https://letterboxd.com/film/alien/",
        "https://letterboxd.com/films/",
        "https://letterboxd.com/settings/",
        "https://letterboxd.com/",
        "javascript:alert(1)",
        "javascript://letterboxd.com/%0aalert(1)",
        "file:///etc/passwd",
        "ftp://letterboxd.com/ana/",
        "//letterboxd.com/ana/",
        "https://letterboxd.com\\@evil.com/ana/",
        "https:\\\\letterboxd.com\\ana",
        "https://127.0.0.1/ana/",
        "http://localhost/ana/",
        "http://[::1]/ana/",
        "settings",
        "film",
        "films",
        "list",
        "search",
        "Watchlist",
    ],
)
def test_anything_else_is_refused_without_echoing_it(text: str) -> None:
    with pytest.raises(InvalidSource) as refused:
        parse_source(text, BASE)
    # One fixed sentence, whatever was typed: the input is never echoed.
    assert str(refused.value) == str(InvalidSource())


def test_the_configured_base_host_is_accepted_exactly() -> None:
    assert parse_source("http://127.0.0.1:8765/ana/watchlist/", LOCAL) == "ana"
    assert parse_source("ana", LOCAL) == "ana"
    for other in (
        "http://127.0.0.1:8766/ana/watchlist/",
        "http://127.0.0.1/ana/watchlist/",
        "http://x@127.0.0.1:8765/ana/watchlist/",
        "http://localhost:8765/ana/watchlist/",
    ):
        with pytest.raises(InvalidSource):
            parse_source(other, LOCAL)
    # letterboxd.com links stay valid whatever the base.
    assert parse_source("https://letterboxd.com/ana/", LOCAL) == "ana"


def test_invalid_source_is_a_value_error() -> None:
    assert issubclass(InvalidSource, ValueError)
