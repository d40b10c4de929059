"""What a member may type to import a watchlist: a Letterboxd username, or a link to it.

Only a username (``[A-Za-z0-9_]``, 1–40) or an http(s) URL on ``letterboxd.com``
(or exactly the configured base URL's host and port, for a local test site) whose
path is ``/{user}/`` or ``/{user}/watchlist/`` (optionally ``page/N/``) is accepted.
Any other host, scheme, port, credentials, query, fragment, percent-encoding,
backslash or dot-segment is refused, so no member can make the server fetch an
address of their choosing.  The error message never repeats the input.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["InvalidSource", "parse_source"]

USERNAME = re.compile(r"[A-Za-z0-9_]{1,40}")
PATH = re.compile(r"/([A-Za-z0-9_]{1,40})(?:/(?:watchlist(?:/page/[1-9][0-9]{0,4})?/?)?)?")
LETTERBOXD_HOSTS = frozenset({"letterboxd.com", "www.letterboxd.com"})
MAX_INPUT = 300
RESERVED = frozenset(
    {
        "about", "activity", "actor", "api", "apps", "cast", "contact", "country", "crew",
        "decade", "diary", "director", "film", "films", "genre", "journal", "language",
        "legal", "likes", "list", "lists", "members", "network", "news", "people",
        "popular", "pro", "producer", "reviews", "search", "settings", "showdown", "stats",
        "studio", "tag", "tags", "upgrade", "user", "watchlist", "welcome", "writer", "year",
    }
)  # fmt: skip
"""First path segments that are site sections, not members."""


class InvalidSource(ValueError):
    """Not a Letterboxd username or watchlist link (the message never echoes the input)."""

    def __init__(self) -> None:
        super().__init__("Use a Letterboxd username or a letterboxd.com profile or watchlist link.")


def _netloc(base_url: str) -> str:
    try:
        return urlsplit(base_url).netloc.lower()
    except ValueError:
        return ""


def _username_in_url(value: str, base_url: str) -> str:
    if "://" not in value and value.lower().startswith(("letterboxd.com/", "www.letterboxd.com/")):
        value = "https://" + value
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise InvalidSource from None
    netloc = parts.netloc.lower()
    on_letterboxd = (parts.hostname or "") in LETTERBOXD_HOSTS and port is None
    on_base = netloc != "" and netloc == _netloc(base_url)
    if (
        parts.scheme not in {"http", "https"}
        or "@" in netloc
        or not (on_letterboxd or on_base)
        or parts.query
        or parts.fragment
        or value.endswith(("?", "#"))
    ):
        raise InvalidSource
    found = PATH.fullmatch(parts.path)
    if found is None:
        raise InvalidSource
    return found.group(1)


def parse_source(text: str, base_url: str) -> str:
    """The lower-cased username in ``text``; raise :class:`InvalidSource` otherwise."""
    value = text.strip()
    if (
        not value
        or len(value) > MAX_INPUT
        or any(c.isspace() or not c.isprintable() or c in "\\%" for c in value)
    ):
        raise InvalidSource
    username = value if USERNAME.fullmatch(value) else _username_in_url(value, base_url)
    username = username.lower()
    if username in RESERVED:
        raise InvalidSource
    return username
