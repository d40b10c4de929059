"""What a member may type to import a watchlist: a Letterboxd username, or a link to it.

Only a username (``[A-Za-z0-9_]``, 1–40) or an http(s) URL on ``letterboxd.com``
(or exactly the configured base URL's host, for a local test site) whose path is
``/{user}/`` or ``/{user}/watchlist/`` (optionally ``page/N/``) is accepted.  Any
other host, scheme, port, credentials, query, fragment, encoding or dot-segment is
refused, so no member can make the server fetch an address of their choosing.
The error message never repeats the input.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["InvalidSource", "parse_source"]

USERNAME = re.compile(r"^[A-Za-z0-9_]{1,40}$")
PATH = re.compile(r"^/([A-Za-z0-9_]{1,40})(?:/(?:watchlist(?:/page/[1-9][0-9]{0,3})?/?)?)?$")
LETTERBOXD_HOSTS = frozenset({"letterboxd.com", "www.letterboxd.com"})
RESERVED = frozenset(
    {
        "film", "films", "list", "lists", "settings", "search", "members", "people",
        "journal", "activity", "about", "pro", "patron", "api", "sign-in", "create-account",
        "actor", "director", "studio", "tag", "user", "welcome", "legal", "contact",
    }
)  # fmt: skip


class InvalidSource(ValueError):
    """Not a Letterboxd username or watchlist link."""

    def __init__(self) -> None:
        super().__init__("Use a Letterboxd username or a letterboxd.com profile or watchlist link.")


def _host_of(base_url: str) -> str:
    parts = urlsplit(base_url)
    return (parts.netloc or "").lower()


def parse_source(text: str, base_url: str) -> str:
    """The lower-cased username in ``text``; raise :class:`InvalidSource` otherwise."""
    value = text.strip()
    if not value or len(value) > 300 or any(c.isspace() or c == "\\" for c in value):
        raise InvalidSource
    if USERNAME.match(value):
        username = value.lower()
    else:
        if "://" not in value and value.lower().startswith(
            ("letterboxd.com/", "www.letterboxd.com/")
        ):
            value = "https://" + value
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError:
            raise InvalidSource from None
        host = (parts.hostname or "").lower()
        allowed = host in LETTERBOXD_HOSTS and port is None
        allowed = allowed or (
            parts.netloc.lower() == _host_of(base_url) and "@" not in parts.netloc
        )
        if (
            parts.scheme not in {"http", "https"}
            or not allowed
            or parts.username is not None
            or parts.password is not None
            or parts.query
            or parts.fragment
            or "%" in value
        ):
            raise InvalidSource
        found = PATH.match(parts.path)
        if found is None:
            raise InvalidSource
        username = found.group(1).lower()
    if username in RESERVED:
        raise InvalidSource
    return username
