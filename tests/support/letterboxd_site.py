"""A local fake of letterboxd.com's watchlist pages, faithful to the real markup of each era.

It serves ``/{user}/watchlist/`` and ``/{user}/watchlist/page/N/`` with 28 films a
page, the count in the heading and ``data-num-entries``, pagination with gaps, the
site header's own ``react-component``, ``robots.txt``, and the real failure pages:
404 for unknown users and past the last page, the "Professor Falken" 403 for a
hidden list, Cloudflare's challenge 403 for a blocked client, and "Error 1015" 429s.
"""

from __future__ import annotations

import contextlib
import html
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

__all__ = ["FakeFilm", "FakeSite", "FakeUser", "letterboxd_site", "make_films"]

Markup = Literal["current", "2025", "2023", "2022"]


@dataclass(frozen=True)
class FakeFilm:
    title: str
    year: int | None
    slug: str
    lid: str
    film_id: int
    cache_key: str = "a1b2c3"


@dataclass
class FakeUser:
    films: list[FakeFilm] = field(default_factory=list)
    markup: Markup = "current"
    private: bool = False
    blocked: bool = False
    rate_limit_every: int = 0
    """Answer 429 to every Nth watchlist request (0: never)."""
    retry_after: str | None = "0"
    hang_page: int | None = None
    truncate_page: int | None = None
    empty_page: int | None = None
    """Serve this page with the frame but no films (a broken page)."""
    redirect_to: str | None = None
    per_page: int = 28


TRICKY = [
    ("(500) Days of Summer", 2009),
    ("Birdman or (The Unexpected Virtue of Ignorance)", 2014),
    ("1917", 2019),
    ("1984", 1984),
    ('"Crocodile" Dundee', 1986),
    ("Amélie", 2001),
    ("Leo", 2023),
    ("Leo", 2023),
    ("Untitled Project", None),
]

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _lid(n: int) -> str:
    out = ""
    n += 1000
    while n:
        n, rest = divmod(n, len(_ALPHABET))
        out = _ALPHABET[rest] + out
    return out


def make_films(count: int, start: int = 0) -> list[FakeFilm]:
    """``count`` distinct films; the first ones have tricky titles (parentheses, numbers…)."""
    films = []
    used: set[str] = set()
    for i in range(start, start + count):
        title, year = TRICKY[i] if i < len(TRICKY) else (f"Film Number {i}", 1950 + i % 70)
        base = "-".join("".join(c for c in w.lower() if c.isalnum()) for w in title.split())
        slug = base.strip("-") or f"film-{i}"
        if slug in used:
            slug = f"{slug}-{year}" if f"{slug}-{year}" not in used else f"{slug}-{year}-1"
        used.add(slug)
        films.append(FakeFilm(title, year, slug, _lid(i), 100_000 + i))
    return films


HEADER = (
    '<header class="site-header"><div class="react-component" data-component-class="Nav" '
    'data-item-name="Not a film (2000)" data-item-slug="not-a-film"></div></header>'
)
ROBOTS = "User-agent: *\nDisallow: /*/by/*\nDisallow: /*/genre/*\nDisallow: /*/decade/*\n"
NOT_FOUND = (
    "<html><head><title>Letterboxd</title></head><body>"
    "<section class='message'><p>Sorry, we can’t find the page you’ve requested.</p>"
    "</section></body></html>"
)
PRIVATE = (
    "<html><body><section class='message'><h2>Access denied</h2><p>Sorry, Professor Falken"
    " has made this watchlist classified.</p></section></body></html>"
)
CHALLENGE = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
    "<script>window._cf_chl_opt={cvId: '3'};</script></body></html>"
)
RATE_LIMITED = (
    "<html><head><title>Error 1015</title></head><body><h1>You are being rate limited</h1>"
    "</body></html>"
)


def _item(film: FakeFilm, markup: Markup) -> str:
    esc = html.escape
    name = f"{film.title} ({film.year})" if film.year else film.title
    if markup in ("current", "2025"):
        identifier = json.dumps({"lid": film.lid, "uid": f"film:{film.film_id}", "type": "film"})
        poster = json.dumps(
            {"postered": {"uid": f"film:{film.film_id}"}, "cacheBustingKey": film.cache_key}
        )
        extra = f' data-film-id="{film.film_id}"' if markup == "2025" else ""
        return (
            '<li class="griditem"><div class="react-component" data-component-class="LazyPoster"'
            f' data-item-slug="{esc(film.slug)}" data-item-name="{esc(name)}"'
            f' data-item-link="/film/{esc(film.slug)}/"'
            f" data-postered-identifier='{esc(identifier)}'"
            f" data-resolvable-poster-path='{esc(poster)}'{extra}>"
            f'<img alt="{esc(film.title)}" src="/empty.png"></div></li>'
        )
    slug_attr = film.slug if markup == "2023" else f"/film/{film.slug}/"
    return (
        '<li class="poster-container"><div class="film-poster"'
        f' data-film-id="{film.film_id}" data-film-slug="{esc(slug_attr)}"'
        f' data-target-link="/film/{esc(film.slug)}/"><img alt="{esc(film.title)}"></div></li>'
    )


def _pagination(page: int, pages: int, username: str) -> str:
    if pages <= 1:
        return ""
    base = f"/{username}/watchlist"
    nxt = (
        f'<a class="next" href="{base}/page/{page + 1}/">Older</a>'
        if page < pages
        else '<span class="next">Older</span>'
    )
    shown = sorted({1, 2, page - 1, page, page + 1, pages - 1, pages} & set(range(1, pages + 1)))
    items, last = [], 0
    for n in shown:
        if n - last > 1:
            items.append('<li class="paginate-page unseen-pages">…</li>')
        link = f'<a href="{base}/page/{n}/">{n}</a>' if n != page else f"<span>{n}</span>"
        items.append(f'<li class="paginate-page">{link}</li>')
        last = n
    return (
        f'<div class="pagination"><div class="paginate-nextprev">{nxt}</div>'
        f"<ul>{''.join(items)}</ul></div>"
    )


def render_page(user: FakeUser, username: str, page: int) -> str | None:
    """The HTML of one watchlist page, or ``None`` past the end."""
    total = len(user.films)
    pages = max(1, -(-total // user.per_page))
    if page > pages:
        return None
    chunk = user.films[(page - 1) * user.per_page : page * user.per_page]
    if user.empty_page == page:
        chunk = []
    count = f"{total:,}&nbsp;film{'s' if total != 1 else ''}"
    items = "".join(_item(f, user.markup) for f in chunk)
    if user.markup in ("current", "2025"):
        grid = f'<div class="poster-grid"><ul class="grid">{items}</ul></div>'
    else:
        grid = f'<ul class="poster-list">{items}</ul>'
    heading = f'Watchlist <span class="js-watchlist-count">{count}</span>'
    body = (
        f"<html><head><title>{username}’s Watchlist • Letterboxd</title></head><body>{HEADER}"
        f'<h1 class="section-heading">{heading}</h1>'
        f'<div class="js-watchlist-content" data-num-entries="{total}">{grid}</div>'
        f"{_pagination(page, pages, username)}</body></html>"
    )
    if user.truncate_page == page:
        return body[: len(body) // 2]
    return body


class FakeSite:
    def __init__(self, users: dict[str, FakeUser]) -> None:
        self.users = users
        self.requests: list[str] = []
        self.hits: dict[str, int] = {}
        self.lock = threading.Lock()
        self.base_url = ""
        self.release = threading.Event()

    def count(self, username: str) -> int:
        with self.lock:
            self.hits[username] = self.hits.get(username, 0) + 1
            return self.hits[username]


def _handler(site: FakeSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            return

        def answer(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path = self.path
            with site.lock:
                site.requests.append(path)
            if path == "/robots.txt":
                self.answer(200, ROBOTS, {"Content-Type": "text/plain"})
                return
            parts = [p for p in path.split("/") if p]
            if len(parts) < 2 or parts[1] != "watchlist":
                self.answer(404, NOT_FOUND)
                return
            username, page = parts[0], 1
            if len(parts) == 4 and parts[2] == "page" and parts[3].isdigit():
                page = int(parts[3])
            elif len(parts) != 2:
                self.answer(404, NOT_FOUND)
                return
            user = site.users.get(username)
            if user is None:
                self.answer(404, NOT_FOUND)
                return
            if user.blocked:
                self.answer(403, CHALLENGE, {"cf-mitigated": "challenge"})
                return
            if user.private:
                self.answer(403, PRIVATE)
                return
            if user.redirect_to:
                self.answer(301, "", {"Location": user.redirect_to})
                return
            if user.rate_limit_every and site.count(username) % user.rate_limit_every == 0:
                headers = {"Retry-After": user.retry_after} if user.retry_after is not None else {}
                self.answer(429, RATE_LIMITED, headers)
                return
            if user.hang_page == page:
                site.release.wait(30)
                return
            body = render_page(user, username, page)
            if body is None:
                self.answer(404, NOT_FOUND)
                return
            self.answer(200, body)

    return Handler


@contextlib.contextmanager
def letterboxd_site(users: dict[str, FakeUser]) -> Iterator[FakeSite]:
    """Serve the fake site on a free loopback port until the block ends."""
    site = FakeSite(users)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    server.daemon_threads = True
    site.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.release.set()
        server.shutdown()
        server.server_close()
        time.sleep(0)
