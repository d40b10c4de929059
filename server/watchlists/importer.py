"""Runs the Scrapy spider for one import in its own process (``python -m scraper``).

Why a subprocess and not Scrapy on the server's event loop: a crawl is CPU work
(HTML parsing) plus Twisted machinery; in a child process it can neither block
other members' traffic nor crash the server, it is killed outright on cancel or
timeout, and several imports use several cores.  It costs about a second to start
and ~60 MB while it runs, and ``imports_per_process`` bounds how many run at once.

The username travels on the child's stdin, never on its command line (which
``ps`` shows to every user of the machine); the child answers in JSON lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

import msgspec
import structlog

from server.watchlists.catalogue import CatalogueFilm

__all__ = ["ScrapeOutcome", "ScrapeSettings", "run_scrape"]

log = structlog.get_logger(__name__)

FailureReason = Literal[
    "not_found",
    "private",
    "empty",
    "rate_limited",
    "blocked",
    "timeout",
    "unreachable",
    "too_large",
    "page_too_large",
    "invalid_source",
    "failed",
]
REASONS: frozenset[str] = frozenset(FailureReason.__args__)  # type: ignore[attr-defined]
MAX_LINE = 64 * 1024


class _Line(msgspec.Struct, kw_only=True):
    event: str
    pages: int = 0
    pages_total: int | None = None
    films: int = 0
    reason: str | None = None
    message: str | None = None
    title: str | None = None
    year: int | None = None
    slug: str | None = None
    lid: str | None = None
    film_id: str | int | None = None
    poster_url: str | None = None
    expected: int | None = None


_decode_line = msgspec.json.Decoder(_Line).decode


@dataclass(frozen=True, slots=True)
class ScrapeSettings:
    base_url: str
    max_pages: int
    max_films: int
    delay_s: float
    concurrency: int
    timeout_s: float


@dataclass(slots=True)
class ScrapeOutcome:
    films: list[CatalogueFilm] = field(default_factory=list)
    reason: FailureReason | None = None
    message: str = ""
    missing: int = 0
    """Films the list announced that unreadable pages did not give (a partial import)."""

    @property
    def ok(self) -> bool:
        return self.reason is None


ProgressCallback = Callable[[int, int | None, int], Awaitable[None]]


def _film(line: _Line) -> CatalogueFilm | None:
    if not line.title:
        return None
    return CatalogueFilm(
        title=line.title,
        year=line.year,
        slug=line.slug,
        lid=line.lid,
        letterboxd_id=str(line.film_id) if line.film_id is not None else None,
        poster_url=line.poster_url,
    )


async def run_scrape(
    username: str, settings: ScrapeSettings, on_progress: ProgressCallback
) -> ScrapeOutcome:
    """Scrape one watchlist; never raises for the site's failures, only for cancellation."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scraper",
        "--base-url",
        settings.base_url,
        "--max-pages",
        str(settings.max_pages),
        "--max-films",
        str(settings.max_films),
        "--delay",
        str(settings.delay_s),
        "--concurrency",
        str(settings.concurrency),
        "--timeout",
        str(settings.timeout_s),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        limit=MAX_LINE,
    )
    assert process.stdin is not None and process.stdout is not None
    outcome = ScrapeOutcome()
    try:
        process.stdin.write(username.encode() + b"\n")
        await process.stdin.drain()
        process.stdin.close()
        async with asyncio.timeout(settings.timeout_s + 10):
            finished = await _read(process.stdout, outcome, on_progress)
            await process.wait()
        if not finished:
            log.warning("import.crashed", returncode=process.returncode)
            outcome.reason, outcome.message = "failed", "The import stopped unexpectedly."
    except TimeoutError:
        outcome.reason, outcome.message = "timeout", "Letterboxd took too long to answer."
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    return outcome


async def _read(
    stdout: asyncio.StreamReader, outcome: ScrapeOutcome, on_progress: ProgressCallback
) -> bool:
    """Consume the child's lines into ``outcome``; True once it said done or failed."""
    while line := await stdout.readline():
        try:
            message = _decode_line(line)
        except msgspec.DecodeError:
            continue
        if message.event == "film":
            film = _film(message)
            if film is not None:
                outcome.films.append(film)
        elif message.event == "progress":
            await on_progress(message.pages, message.pages_total, message.films)
        elif message.event == "done":
            if message.expected is not None:
                outcome.missing = max(0, message.expected - len(outcome.films))
            return True
        elif message.event == "failed":
            reason = message.reason if message.reason in REASONS else "failed"
            outcome.reason = reason  # type: ignore[assignment]
            outcome.message = (message.message or "The import failed.")[:200]
            outcome.films = []
            return True
    return False
