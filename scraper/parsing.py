"""Reading Letterboxd watchlist pages: pure functions over HTML, for every markup era.

Eras (see the project's notes on Letterboxd's markup):

- since April 2026: ``div.poster-grid ul li.griditem
  div.react-component[data-component-class="LazyPoster"]`` with ``data-item-slug``,
  ``data-item-name`` (``Title (Year)``), ``data-postered-identifier`` (JSON with
  ``lid`` and ``uid``) and ``data-resolvable-poster-path`` (JSON with the poster's
  ``cacheBustingKey``);
- Aug 2025 – Apr 2026: the same, plus a numeric ``data-film-id``;
- 2023 – Aug 2025: ``ul.poster-list li.poster-container div.film-poster`` with
  ``data-film-id``, a bare ``data-film-slug`` and the title in ``img[alt]`` (no year);
- up to 2022: the same, with ``data-film-slug="/film/{slug}/"``.

Items are scoped to the grid: the site header has a ``div.react-component`` too.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

from parsel import Selector

from scraper.items import FilmItem

__all__ = [
    "DEFAULT_BASE_URL",
    "PER_PAGE",
    "WatchlistPage",
    "classify_forbidden",
    "expected_on_page",
    "is_not_found",
    "lacks_films",
    "parse_watchlist_page",
    "poster_url",
    "split_title",
]

DEFAULT_BASE_URL = "https://letterboxd.com"
PER_PAGE = 28
POSTER_SIZE = (230, 345)
POSTER_BASE = "https://a.ltrbxd.com/resized/film-poster"
CURRENT_ITEMS = (
    'div.poster-grid ul li.griditem div.react-component[data-component-class="LazyPoster"]'
)
OLDER_ITEMS = "ul.poster-list li.poster-container div.film-poster"
_TITLE_YEAR = re.compile(r"(?P<title>.*\S)\s+\((?P<year>\d{4})\)", re.DOTALL)
_FILM_PATH = re.compile(r"/film/([^/]+)/?")
_DIGITS = re.compile(r"\d+")
_CLOSING = re.compile(r"</html\s*>", re.IGNORECASE)


@dataclass
class WatchlistPage:
    """What one watchlist page says about the list and which films it shows."""

    films: list[FilmItem] = field(default_factory=list)
    total: int | None = None
    """Films on the whole list: ``data-num-entries``, else the heading's count."""
    last_page: int | None = None
    """The highest page number in the pagination, when there is one."""
    has_next: bool = False
    looks_like_watchlist: bool = False
    """The page has the watchlist's frame (count, grid or pagination)."""
    truncated: bool = False
    """The HTML stops before ``</html>``: films may be missing."""

    @property
    def pages_total(self) -> int | None:
        """Pages of the whole list: from the count, else the pagination, else 1 or unknown."""
        if self.total is not None:
            return max(1, math.ceil(self.total / PER_PAGE))
        if self.last_page is not None:
            return self.last_page
        if self.looks_like_watchlist and not self.has_next:
            return 1
        return None


def split_title(name: str) -> tuple[str, int | None]:
    """``Title (Year)`` → (title, year), anchored at the end: titles hold parentheses too."""
    clean = " ".join(name.split())
    found = _TITLE_YEAR.fullmatch(clean)
    if found is None:
        return clean, None
    return found.group("title"), int(found.group("year"))


def poster_url(film_id: str | None, slug: str | None, cache_key: str | None) -> str | None:
    """Letterboxd's 230×345 poster address, when the id, slug and cache key are all known."""
    if not film_id or not slug or not cache_key or not film_id.isdigit():
        return None
    width, height = POSTER_SIZE
    return (
        f"{POSTER_BASE}/{'/'.join(film_id)}/{film_id}-{slug}-0-{width}-0-{height}-crop.jpg"
        f"?v={cache_key}"
    )


def _json(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _slug_from_link(link: str | None, base_url: str) -> str | None:
    """``/film/{slug}/`` (relative or absolute) → slug."""
    if not link:
        return None
    found = _FILM_PATH.search(urlsplit(urljoin(base_url + "/", link)).path)
    return found.group(1) if found else None


def _bare_slug(value: str | None, base_url: str) -> str | None:
    """``data-film-slug``: a bare slug since 2023, ``/film/{slug}/`` before."""
    if not value or not value.strip("/"):
        return None
    if "/" in value.strip("/"):
        return _slug_from_link(value, base_url)
    return value.strip("/")


def _alt(node: Selector) -> str:
    return " ".join((node.css("img::attr(alt)").get() or "").split())


def _current(node: Selector, base_url: str) -> FilmItem | None:
    attrs = node.attrib
    slug = attrs.get("data-item-slug") or _slug_from_link(
        attrs.get("data-item-link") or attrs.get("data-target-link"), base_url
    )
    name = attrs.get("data-item-name") or _alt(node)
    title, year = split_title(name)
    identifier = _json(attrs.get("data-postered-identifier"))
    uid = str(identifier.get("uid") or "")
    film_id = uid.removeprefix("film:") if uid.startswith("film:") else None
    film_id = film_id or attrs.get("data-film-id") or None
    lid = str(identifier["lid"]) if identifier.get("lid") else None
    key = _json(attrs.get("data-resolvable-poster-path")).get("cacheBustingKey")
    if not title or not (slug or lid):
        return None
    return FilmItem(
        title=title,
        year=year,
        slug=slug,
        lid=lid,
        film_id=film_id,
        poster_url=poster_url(film_id, slug, str(key) if key else None),
    )


def _older(node: Selector, base_url: str) -> FilmItem | None:
    attrs = node.attrib
    slug = _bare_slug(attrs.get("data-film-slug"), base_url) or _slug_from_link(
        attrs.get("data-target-link"), base_url
    )
    title = _alt(node)
    if not title or not slug:
        return None
    return FilmItem(title=title, slug=slug, film_id=attrs.get("data-film-id") or None)


def _count(text: str) -> int | None:
    """``1,234 films`` / ``1 film`` → the number."""
    before = text.replace("\xa0", " ").split("film")[0]
    digits = "".join(_DIGITS.findall(before))
    return int(digits) if digits else None


def parse_watchlist_page(html: str, base_url: str = DEFAULT_BASE_URL) -> WatchlistPage:
    """Films, total and pagination of one watchlist page (any era).

    ``base_url`` resolves film links that are absolute or relative to the site.
    """
    page = Selector(text=html)
    result = WatchlistPage(truncated=_CLOSING.search(html[-4096:]) is None)
    base = base_url.rstrip("/")
    entries = page.css("div.js-watchlist-content::attr(data-num-entries)").get()
    if entries is not None and entries.strip().isdigit():
        result.total = int(entries.strip())
    else:
        heading = page.css("h1.section-heading span.js-watchlist-count").xpath("string()").get()
        result.total = _count(heading) if heading else None
    pagination = page.css("div.pagination")
    if pagination:
        result.has_next = bool(pagination.css(".paginate-nextprev a.next"))
        numbers = [
            int(text.strip())
            for text in pagination.css("li.paginate-page:not(.unseen-pages)")
            .xpath("string()")
            .getall()
            if text.strip().isdigit()
        ]
        result.last_page = max(numbers) if numbers else None
    current = page.css(CURRENT_ITEMS)
    if current:
        found = [_current(node, base) for node in current]
    else:
        found = [_older(node, base) for node in page.css(OLDER_ITEMS)]
    result.films = [item for item in found if item is not None]
    result.looks_like_watchlist = bool(
        result.total is not None
        or pagination
        or page.css("div.poster-grid, ul.poster-list, div.js-watchlist-content")
    )
    return result


def expected_on_page(number: int, total: int | None, per_page: int = PER_PAGE) -> int | None:
    """How many films page ``number`` should show, from the list's total (None: unknown)."""
    if total is None:
        return None
    return max(0, min(per_page, total - (number - 1) * per_page))


def lacks_films(page: WatchlistPage, number: int, total: int | None = None) -> bool:
    """True when a page that should list films does not, or not all of them.

    That is truncated HTML, or a page without the watchlist's frame, or with the
    frame but no films although the list's ``total`` (page 1's, if given) says this
    page should have some.  A short page is not enough: the list can shift while it
    is read.
    """
    if page.truncated or not page.looks_like_watchlist:
        return True
    if page.films:
        return False
    expected = expected_on_page(number, total if total is not None else page.total)
    return expected is None or expected > 0


def _header_text(headers: Mapping[Any, Any], name: str) -> str:
    """All values of one header, case-insensitive, from a dict or Scrapy's ``Headers``."""
    getlist = getattr(headers, "getlist", None)
    if callable(getlist):
        values: list[Any] = list(getlist(name))
    else:
        values = []
        for key, value in headers.items():
            text = key.decode("latin-1") if isinstance(key, bytes) else str(key)
            if text.lower() == name:
                values.extend(value if isinstance(value, list | tuple) else [value])
    return ",".join(v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in values)


def classify_forbidden(headers: Mapping[Any, Any], body: str) -> Literal["blocked", "private"]:
    """A 403: Cloudflare's challenge → ``blocked``; the hidden-list message → ``private``.

    Anything else is ``blocked`` too: a 403 never means "try again".
    """
    if "challenge" in _header_text(headers, "cf-mitigated").lower():
        return "blocked"
    if "<title>Just a moment...</title>" in body or "_cf_chl_opt" in body:
        return "blocked"
    message = " ".join(Selector(text=body).css("section.message").xpath("string()").getall())
    if "Professor Falken" in message or "classified" in message.lower():
        return "private"
    return "blocked"


def is_not_found(body: str) -> bool:
    """Letterboxd's 404 page (unknown member, or a page past the end)."""
    return "can’t find the page" in body or "can't find the page" in body
