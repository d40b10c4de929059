"""Reading Letterboxd watchlist pages: pure functions over HTML, for every markup era.

Eras (see the project's notes on Letterboxd's markup):

- since April 2026 and Aug 2025 – Apr 2026: ``div.poster-grid li.griditem
  div.react-component[data-component-class="LazyPoster"]`` with ``data-item-slug``,
  ``data-item-name`` (``Title (Year)``), ``data-postered-identifier`` (JSON with
  ``lid`` and ``uid``), ``data-resolvable-poster-path`` (JSON with the poster's
  ``cacheBustingKey``) and, before April 2026, ``data-film-id``;
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

from parsel import Selector

from scraper.items import FilmItem

__all__ = [
    "PER_PAGE",
    "WatchlistPage",
    "classify_forbidden",
    "is_not_found",
    "parse_watchlist_page",
    "poster_url",
]

PER_PAGE = 28
POSTER_SIZE = (230, 345)
_TITLE_YEAR = re.compile(r"^(?P<title>.*\S)\s+\((?P<year>\d{4})\)$", re.DOTALL)
_SLUG_PATH = re.compile(r"/film/([^/]+)/?")
_DIGITS = re.compile(r"\d+")


@dataclass
class WatchlistPage:
    films: list[FilmItem] = field(default_factory=list)
    total: int | None = None
    """Films on the whole list (page 1 carries it)."""
    last_page: int | None = None
    """From the pagination, when present."""
    has_next: bool = False
    looks_like_watchlist: bool = False
    """The page has the watchlist's frame (count, grid or pagination)."""

    @property
    def pages_total(self) -> int | None:
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
    found = _TITLE_YEAR.match(clean)
    if found is None:
        return clean, None
    return found.group("title"), int(found.group("year"))


def _json(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _slug(value: str | None) -> str | None:
    if not value:
        return None
    found = _SLUG_PATH.search(value)
    slug = found.group(1) if found else value.strip("/")
    return slug or None


def poster_url(film_id: str | None, slug: str | None, cache_key: str | None) -> str | None:
    """Letterboxd's resized poster address, when the id, slug and cache key are known."""
    if not film_id or not slug or not cache_key or not film_id.isdigit():
        return None
    width, height = POSTER_SIZE
    digits = "/".join(film_id)
    return (
        f"https://a.ltrbxd.com/resized/film-poster/{digits}/{film_id}-{slug}-0-{width}-0-{height}"
        f"-crop.jpg?v={cache_key}"
    )


def _current(node: Selector) -> FilmItem | None:
    slug = node.attrib.get("data-item-slug") or _slug(
        node.attrib.get("data-item-link") or node.attrib.get("data-target-link")
    )
    name = node.attrib.get("data-item-name") or node.css("img::attr(alt)").get() or ""
    title, year = split_title(name)
    identifier = _json(node.attrib.get("data-postered-identifier"))
    uid = str(identifier.get("uid") or "")
    film_id = uid.split(":", 1)[1] if uid.startswith("film:") else None
    film_id = film_id or node.attrib.get("data-film-id") or None
    lid = identifier.get("lid")
    cache_key = _json(node.attrib.get("data-resolvable-poster-path")).get("cacheBustingKey")
    if not title or not (slug or lid):
        return None
    return FilmItem(
        title=title,
        year=year,
        slug=slug,
        lid=str(lid) if lid else None,
        film_id=film_id,
        poster_url=poster_url(film_id, slug, str(cache_key) if cache_key else None),
    )


def _older(node: Selector) -> FilmItem | None:
    slug = _slug(node.attrib.get("data-film-slug")) or _slug(node.attrib.get("data-target-link"))
    title = " ".join((node.css("img::attr(alt)").get() or "").split())
    film_id = node.attrib.get("data-film-id") or None
    if not title or not slug:
        return None
    return FilmItem(title=title, slug=slug, film_id=film_id)


def _count(text: str) -> int | None:
    digits = "".join(_DIGITS.findall(text.split("film")[0]))
    return int(digits) if digits else None


def parse_watchlist_page(html: str) -> WatchlistPage:
    """Films, total and pagination of one watchlist page (any era)."""
    page = Selector(text=html)
    result = WatchlistPage()
    entries = page.css("div.js-watchlist-content::attr(data-num-entries)").get()
    if entries is not None and entries.strip().isdigit():
        result.total = int(entries.strip())
    else:
        heading = page.css("h1.section-heading span.js-watchlist-count").xpath("string()").get()
        if heading:
            result.total = _count(heading.replace("\xa0", " "))
    pagination = page.css("div.pagination")
    if pagination:
        result.has_next = bool(pagination.css(".paginate-nextprev a.next"))
        numbers = [
            int(text)
            for text in pagination.css("li.paginate-page:not(.unseen-pages)")
            .xpath("string()")
            .getall()
            if text.strip().isdigit()
        ]
        result.last_page = max(numbers) if numbers else None
    current = page.css(
        'div.poster-grid li.griditem div.react-component[data-component-class="LazyPoster"]'
    )
    nodes = [(_current, node) for node in current] or [
        (_older, node) for node in page.css("ul.poster-list li.poster-container div.film-poster")
    ]
    for parse, node in nodes:
        item = parse(node)
        if item is not None:
            result.films.append(item)
    result.looks_like_watchlist = bool(
        result.total is not None
        or pagination
        or page.css("div.poster-grid, ul.poster-list, div.js-watchlist-content")
    )
    return result


def classify_forbidden(headers: Mapping[str, Any], body: str) -> Literal["blocked", "private"]:
    """A 403: Cloudflare's challenge → ``blocked``; the hidden-list message → ``private``."""
    lowered = {str(k).lower(): v for k, v in headers.items()}
    mitigated = lowered.get("cf-mitigated")
    if isinstance(mitigated, list | tuple):
        mitigated = b",".join(m if isinstance(m, bytes) else str(m).encode() for m in mitigated)
    if mitigated and b"challenge" in (
        mitigated if isinstance(mitigated, bytes) else str(mitigated).encode()
    ):
        return "blocked"
    if "Just a moment..." in body or "_cf_chl_opt" in body:
        return "blocked"
    message = Selector(text=body).css("section.message").xpath("string()").get() or ""
    if "Professor Falken" in message or "classified" in message.lower():
        return "private"
    return "blocked"


def is_not_found(body: str) -> bool:
    return "can’t find the page" in body or "can't find the page" in body
