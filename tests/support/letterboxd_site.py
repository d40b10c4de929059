"""A local fake of letterboxd.com's watchlist pages, faithful to the real markup of each era.

It serves ``/{user}/watchlist/`` and ``/{user}/watchlist/page/N/`` (28 films a page
by default) with the count in the heading (``1,234&nbsp;films``) and in
``data-num-entries``, the pagination (``a.next``, a disabled ``span.next`` on the
last page, ``li.paginate-page`` with ``unseen-pages`` gaps; none for one page),
the site header's own ``react-component``, member profiles, ``robots.txt``, and the
real failure pages: 404 for unknown members and past the last page, the "Professor
Falken" 403 for a hidden list, Cloudflare's challenge 403 for a blocked client, and
"Error 1015" 429s.  See the project's notes on Letterboxd's markup.

A hostile site, too: watchlist pages or robots.txt sent as decompression bombs
(:func:`bomb`, gzip, deflate or brotli bodies that inflate to 1.5 GiB), and pages
padded to tens of MiB, with or without a ``Content-Length``.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import html
import json
import threading
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

__all__ = [
    "BOMB_SIZE",
    "CHALLENGE",
    "NOT_FOUND",
    "PRIVATE",
    "RATE_LIMITED",
    "ROBOTS",
    "Encoding",
    "FakeFilm",
    "FakeSite",
    "FakeUser",
    "Markup",
    "bomb",
    "letterboxd_site",
    "make_films",
    "render_page",
]

Markup = Literal["current", "2025", "2023", "2022"]
Encoding = Literal["gzip", "deflate", "br"]
BOMB_SIZE = 1536 * 1024 * 1024
"""What a bomb inflates to: 1.5 GiB of zeros."""
_MiB = 1024 * 1024


@dataclass(frozen=True)
class FakeFilm:
    title: str
    year: int | None
    slug: str
    lid: str
    film_id: int
    cache_key: str = "a1b2c3"

    @property
    def name(self) -> str:
        """``Title (Year)``, as ``data-item-name`` shows it."""
        return f"{self.title} ({self.year})" if self.year else self.title


@dataclass
class FakeUser:
    films: list[FakeFilm] = field(default_factory=list)
    markup: Markup = "current"
    private: bool = False
    """The watchlist answers the "Professor Falken" 403 (the profile stays 200)."""
    blocked: bool = False
    """Every page of this member answers Cloudflare's challenge 403."""
    rate_limit_every: int = 0
    """Answer 429 to every Nth watchlist request of this member (0: never)."""
    retry_after: str | None = None
    """The 429's ``Retry-After`` (seconds or an HTTP date); Letterboxd usually sends none."""
    hang_page: int | None = None
    """This page is never answered."""
    truncate_page: int | None = None
    """This page's HTML is cut in the middle of the grid."""
    empty_page: int | None = None
    """This page has the watchlist's frame but no films."""
    redirect_to: str | None = None
    """The watchlist answers 301 to this address."""
    per_page: int = 28
    show_count: bool = True
    """False: no ``data-num-entries`` nor heading count (the pagination tells the pages)."""
    bomb: Encoding | None = None
    """Every watchlist page is a body in this ``Content-Encoding`` inflating to BOMB_SIZE."""
    padded_to: int = 0
    """Watchlist pages are the real page padded (an HTML comment) to this many bytes."""
    announce_length: bool = True
    """False: a padded page is sent without ``Content-Length``, until the connection closes."""


TRICKY: list[tuple[str, int | None, str | None]] = [
    ("(500) Days of Summer", 2009, None),
    ("Birdman or (The Unexpected Virtue of Ignorance)", 2014, None),
    ("1917", 2019, None),
    ("1984", 1984, None),
    ('"Crocodile" Dundee', 1986, None),
    ("Amélie", 2001, None),
    ("Leo", 1962, None),
    ("Leo", 2023, None),
    ("Leo", 2023, None),
    ("Untitled Project", None, None),
    ("Ocean's Eleven", 2001, None),
    ("2001: A Space Odyssey", 1968, None),
    ("千と千尋の神隠し", 2001, "spirited-away"),
    ("Tom & Jerry <Special>", None, None),
]
"""Titles that break naive parsing: parentheses, numbers, quotes, repeats, no year."""

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _lid(n: int) -> str:
    out = ""
    n += 100_000
    while n:
        n, rest = divmod(n, len(_ALPHABET))
        out = _ALPHABET[rest] + out
    return out


def _slugify(title: str) -> str:
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = ["".join(c for c in word.lower() if c.isalnum()) for word in plain.split()]
    return "-".join(word for word in words if word)


def make_films(count: int, start: int = 0) -> list[FakeFilm]:
    """``count`` distinct films; the first ones have tricky titles (see :data:`TRICKY`).

    Slugs follow Letterboxd's rule: a repeated title gets ``-{year}``, a repeated
    title and year ``-1`` (*Leo* is ``leo``, ``leo-2023`` and ``leo-2023-1``).
    """
    films = []
    used: set[str] = set()
    for i in range(start, start + count):
        if i < len(TRICKY):
            title, year, slug = TRICKY[i]
        else:
            title, year, slug = f"Film Number {i}", 1920 + i % 100, None
        slug = slug or _slugify(title) or f"film-{i}"
        if slug in used:
            slug = f"{slug}-{year}" if f"{slug}-{year}" not in used else f"{slug}-{year}-1"
        used.add(slug)
        films.append(FakeFilm(title, year, slug, _lid(i), 100_000 + i, f"{i:x}k"))
    return films


HEADER = (
    '<header class="site-header js-hide-in-app" id="header"><section>'
    '<div class="react-component" data-component-class="GlobalNavigation"'
    ' data-item-name="Letterboxd (2011)" data-item-slug="letterboxd"'
    ' data-item-link="/film/letterboxd/"></div></section></header>'
)
"""The site header: a ``react-component`` outside the grid that must not become a film."""
FOOTER = '<footer class="site-footer"><p>© Letterboxd Limited.</p></footer>'
ROBOTS = (
    "User-agent: *\n"
    "Disallow: /*/by/*\n"
    "Disallow: /*/genre/*\n"
    "Disallow: /*/decade/*\n"
    "Disallow: /*/on/*\n"
    "Disallow: /*/year/*\n"
    "Disallow: /search/\n"
    "Disallow: /settings/\n"
)
NOT_FOUND = (
    '<!DOCTYPE html><html lang="en"><head><title>Letterboxd • Social film discovery.</title>'
    f"</head><body>{HEADER}<section class='message'><h1 class='title'>Page not found</h1>"
    "<p>Sorry, we can’t find the page you’ve requested.</p></section>"
    f"{FOOTER}</body></html>"
)
PRIVATE = (
    '<!DOCTYPE html><html lang="en"><head><title>Letterboxd • Social film discovery.</title>'
    f"</head><body>{HEADER}<section class='message'><h1 class='title'>Access denied</h1>"
    "<p>Sorry, Professor Falken has made this watchlist classified.</p></section>"
    f"{FOOTER}</body></html>"
)
CHALLENGE = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
    '<meta http-equiv="refresh" content="360"></head><body><div class="main-wrapper">'
    "<noscript>Enable JavaScript and cookies to continue</noscript></div>"
    "<script>(function(){window._cf_chl_opt={cvId: '3',cZone: 'letterboxd.com',"
    "cType: 'managed'};var cpo=document.createElement('script');"
    "cpo.src='/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1';"
    "document.getElementsByTagName('head')[0].appendChild(cpo);}());</script></body></html>"
)
RATE_LIMITED = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Access denied | letterboxd.com used'
    " Cloudflare to restrict access</title></head><body><div id='cf-error-details'>"
    "<h1><span class='cf-error-type'>Error</span> <span class='cf-error-code'>1015</span></h1>"
    "<h2 class='cf-subheadline'>You are being rate limited</h2></div></body></html>"
)


def _item(film: FakeFilm, markup: Markup) -> str:
    esc = html.escape
    if markup in ("current", "2025"):
        identifier = json.dumps(
            {"lid": film.lid, "uid": f"film:{film.film_id}", "type": "film", "typeName": "film"}
        )
        poster = json.dumps(
            {
                "postered": {"type": "film", "lid": film.lid, "uid": f"film:{film.film_id}"},
                "cacheBustingKey": film.cache_key,
                "hasDefaultPoster": False,
            }
        )
        film_id = f' data-film-id="{film.film_id}"' if markup == "2025" else ""
        return (
            '<li class="griditem"><div class="react-component" data-component-class="LazyPoster"'
            f' data-item-name="{esc(film.name)}" data-item-slug="{esc(film.slug)}"'
            f' data-item-link="/film/{esc(film.slug)}/"'
            f" data-postered-identifier='{esc(identifier)}'"
            f" data-resolvable-poster-path='{esc(poster)}'{film_id}"
            ' data-poster-class="-p125" data-image-width="125" data-image-height="187">'
            f'<div class="poster film-poster"><img alt="{esc(film.title)}"'
            ' src="https://s.ltrbxd.com/static/img/empty-poster-125.png" width="125"'
            ' height="187" class="image"></div></div></li>'
        )
    slug = film.slug if markup == "2023" else f"/film/{film.slug}/"
    return (
        '<li class="poster-container"><div class="really-lazy-load poster film-poster"'
        f' data-film-id="{film.film_id}" data-film-slug="{esc(slug)}"'
        f' data-target-link="/film/{esc(film.slug)}/" data-image-width="125">'
        f'<img alt="{esc(film.title)}" src="https://s.ltrbxd.com/static/img/empty-poster-125.png"'
        ' class="image" width="125" height="187"></div></li>'
    )


def _pagination(page: int, pages: int, username: str) -> str:
    if pages <= 1:
        return ""
    base = f"/{username}/watchlist"

    def href(n: int) -> str:
        return f"{base}/" if n == 1 else f"{base}/page/{n}/"

    def link(kind: str, label: str, target: int, enabled: bool) -> str:
        if enabled:
            inner = f'<a class="{kind}" href="{href(target)}">{label}</a>'
            return f'<div class="paginate-nextprev">{inner}</div>'
        inner = f'<span class="{kind}">{label}</span>'
        return f'<div class="paginate-nextprev paginate-disabled">{inner}</div>'

    newer = link("previous", "Newer", page - 1, page > 1)
    older = link("next", "Older", page + 1, page < pages)
    shown = sorted({1, 2, page - 1, page, page + 1, pages - 1, pages} & set(range(1, pages + 1)))
    items: list[str] = []
    last = 0
    for n in shown:
        if n - last > 1:
            items.append('<li class="paginate-page unseen-pages">&hellip;</li>')
        if n == page:
            items.append(f'<li class="paginate-page paginate-current"><span>{n}</span></li>')
        else:
            items.append(f'<li class="paginate-page"><a href="{href(n)}">{n}</a></li>')
        last = n
    return (
        f'<div class="pagination">{newer}{older}'
        f'<div class="paginate-pages"><ul>{"".join(items)}</ul></div></div>'
    )


def render_page(user: FakeUser, username: str, page: int) -> str | None:
    """The HTML of one watchlist page, or ``None`` past the last page."""
    total = len(user.films)
    pages = max(1, -(-total // user.per_page))
    if page > pages:
        return None
    chunk = user.films[(page - 1) * user.per_page : page * user.per_page]
    if user.empty_page == page:
        chunk = []
    items = "".join(_item(film, user.markup) for film in chunk)
    if user.markup in ("current", "2025"):
        grid = f'<div class="poster-grid"><ul class="grid -p125 -scaled128">{items}</ul></div>'
    else:
        grid = f'<ul class="poster-list -p125 -grid film-list clear">{items}</ul>'
    count = f"{total:,}&nbsp;film{'' if total == 1 else 's'}" if user.show_count else ""
    entries = f' data-num-entries="{total}"' if user.show_count else ""
    body = (
        '<!DOCTYPE html><html lang="en" class="no-js"><head><meta charset="UTF-8">'
        f"<title>&lrm;{html.escape(username)}’s Watchlist • Letterboxd</title></head>"
        f'<body class="watchlist">{HEADER}<div id="content" class="site-body">'
        '<div class="content-wrap"><section class="section col-main">'
        f'<h1 class="section-heading">Watchlist <span class="js-watchlist-count">{count}</span>'
        "</h1>"
        f'<div class="js-watchlist-content"{entries}'
        f' data-owner="{html.escape(username)}">{grid}'
        f"{_pagination(page, pages, username)}</div></section></div></div>{FOOTER}</body></html>"
    )
    if user.truncate_page == page:
        grid_at = body.index(grid)
        return body[: grid_at + len(grid) // 2]
    return body


@functools.cache
def bomb(encoding: Encoding) -> bytes:
    """A body in ``encoding`` that inflates to :data:`BOMB_SIZE` zeros (about 1.5 MB, or
    a few KB of brotli), built in a fraction of a second: compressing 1.5 GiB takes
    seconds, so gzip repeats one 16 MiB member (a gzip stream may hold several) and
    deflate repeats one block (after a full flush a block of zeros compresses the same).
    """
    chunk = bytes(16 * _MiB)
    repeats = BOMB_SIZE // len(chunk)
    if encoding == "gzip":
        return gzip.compress(chunk, compresslevel=9, mtime=0) * repeats
    if encoding == "br":
        import brotli  # type: ignore[import-untyped]  # Scrapy's own dependency for "br"

        compressor = brotli.Compressor(quality=5)
        body = b"".join(compressor.process(chunk) for _ in range(repeats))
        return bytes(body + compressor.finish())
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw blocks; zlib's frame added below
    first = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    assert deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH) == block
    end = deflate.flush()
    checksum = 1
    for _ in range(repeats):
        checksum = zlib.adler32(chunk, checksum)
    return b"\x78\xda" + first + block * (repeats - 1) + end + checksum.to_bytes(4, "big")


def _profile(username: str) -> str:
    return (
        f"<!DOCTYPE html><html><head><title>&lrm;{html.escape(username)}’s profile • Letterboxd"
        f'</title></head><body class="profile">{HEADER}<section class="profile-header">'
        f"<h1>{html.escape(username)}</h1></section>{FOOTER}</body></html>"
    )


class FakeSite:
    """The running site: its address and what it was asked for."""

    def __init__(
        self, users: dict[str, FakeUser], robots: str, robots_bomb: Encoding | None = None
    ) -> None:
        self.users = users
        self.robots = robots
        self.robots_bomb = robots_bomb
        self.requests: list[str] = []
        """Every path requested, in order (robots.txt included)."""
        self.user_agents: list[str] = []
        self.base_url = ""
        self.lock = threading.Lock()
        self.release = threading.Event()
        self._hits: dict[str, int] = {}

    def count(self, username: str) -> int:
        with self.lock:
            self._hits[username] = self._hits.get(username, 0) + 1
            return self._hits[username]

    def watchlist_requests(self, username: str) -> list[str]:
        """Paths of this member's watchlist pages requested so far (repeats included)."""
        with self.lock:
            return [p for p in self.requests if p.startswith(f"/{username}/watchlist")]


def _handler(site: FakeSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes: without this, Nagle's algorithm
        # and the client's delayed ACK add ~40 ms to every page (a fake-site artefact).
        disable_nagle_algorithm = True

        def version_string(self) -> str:
            return "cloudflare"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            return

        def answer(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("cf-ray", "8f00000000000000-LHR")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path = self.path
            with site.lock:
                site.requests.append(path)
                site.user_agents.append(self.headers.get("User-Agent", ""))
            if path == "/robots.txt":
                if site.robots_bomb is not None:
                    self.send_bomb(site.robots_bomb, "text/plain; charset=utf-8")
                else:
                    self.answer(200, site.robots, {"Content-Type": "text/plain; charset=utf-8"})
                return
            parts = path.split("?")[0].split("/")[1:]
            user = site.users.get(parts[0]) if parts else None
            if user is not None and user.blocked:
                self.answer(403, CHALLENGE, {"cf-mitigated": "challenge"})
                return
            if user is None or len(parts) < 2:
                self.answer(404, NOT_FOUND)
            elif parts[1:] == [""]:
                self.answer(200, _profile(parts[0]))
            elif parts[1:] == ["watchlist"]:
                self.answer(301, "", {"Location": f"/{parts[0]}/watchlist/"})
            elif parts[1:] == ["watchlist", ""]:
                self.watchlist(parts[0], user, 1)
            elif len(parts) == 5 and parts[1:3] == ["watchlist", "page"] and parts[4] == "":
                number = int(parts[3]) if parts[3].isdigit() else 0
                if number >= 1:
                    self.watchlist(parts[0], user, number)
                else:
                    self.answer(404, NOT_FOUND)
            else:
                self.answer(404, NOT_FOUND)

        def send_bomb(self, encoding: Encoding, content_type: str) -> None:
            data = bomb(encoding)
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Encoding", encoding)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client may stop reading at its cap
                self.wfile.write(data)

        def send_padded(self, body: str, size: int, *, announce_length: bool) -> None:
            """The page with a comment before ``</body>`` making it ``size`` bytes."""
            data = body.encode()
            at = data.rindex(b"</body>")
            head, tail = data[:at] + b"<!--", b"-->" + data[at:]
            padding = max(0, size - len(head) - len(tail))
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            if announce_length:
                self.send_header("Content-Length", str(len(head) + padding + len(tail)))
            else:
                self.close_connection = True
            self.end_headers()
            with contextlib.suppress(OSError):  # the client may stop reading at its cap
                self.wfile.write(head)
                filler = b" " * _MiB
                while padding > 0:
                    self.wfile.write(filler[:padding])
                    padding -= len(filler)
                self.wfile.write(tail)

        def watchlist(self, username: str, user: FakeUser, page: int) -> None:
            if user.private:
                self.answer(403, PRIVATE)
                return
            if user.redirect_to:
                self.answer(301, "", {"Location": user.redirect_to})
                return
            if user.rate_limit_every and site.count(username) % user.rate_limit_every == 0:
                retry = {"Retry-After": user.retry_after} if user.retry_after is not None else {}
                self.answer(429, RATE_LIMITED, retry)
                return
            if user.hang_page == page:
                site.release.wait(120)
                self.close_connection = True
                return
            if user.bomb is not None:
                self.send_bomb(user.bomb, "text/html; charset=utf-8")
                return
            body = render_page(user, username, page)
            if body is None:
                self.answer(404, NOT_FOUND)
            elif user.padded_to:
                self.send_padded(body, user.padded_to, announce_length=user.announce_length)
            else:
                self.answer(200, body)

    return Handler


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog (5) drops connections when a client opens more
    # at once, and each dropped SYN costs a 1 s retransmit (a fake-site artefact).
    request_queue_size = 128
    daemon_threads = True


@contextlib.contextmanager
def letterboxd_site(
    users: dict[str, FakeUser], robots: str = ROBOTS, robots_bomb: Encoding | None = None
) -> Iterator[FakeSite]:
    """Serve the fake site on a free 127.0.0.1 port until the block ends."""
    site = FakeSite(users, robots, robots_bomb)
    server = _Server(("127.0.0.1", 0), _handler(site))
    site.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="fake-letterboxd", daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
