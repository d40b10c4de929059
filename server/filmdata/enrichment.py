"""Details for imported films, fetched in the background after every import.

An import stores its list and announces the candidates first; then
:meth:`FilmEnricher.enrich_later` looks its films up, so voting never waits for a
provider.  Per film, in this order:

1. the provider's own id, when an earlier look-up linked the row;
2. the IMDb id (an IMDb export's ``Const``): exact;
3. the title and year (a Letterboxd row): linked only under the identity rule
   (``identity.py``), otherwise the row stays bare ("unlinked").

A film asked about within ``film_data_max_age_days`` is not asked again (linked
or not).  Films go in batches of :data:`BATCH`; each batch is written in one
transaction, then a ``films.enriched`` event (ephemeral) carries its films with
their details and the counts so far.  A ``bad_key`` or ``quota`` failure stops
the rest of that import's look-ups (every one would fail alike) and is counted, as
does a batch in which no look-up got an answer (``down``); a ``malformed`` answer
skips that film only.

Linking: rows given the same provider film (TMDb id, or Kinopoisk id with
Kinopoisk) are one film in candidates: every row but the lowest id gets
``same_as`` = the lowest (see ``server/watchlists/catalogue.py``).  The catalogue's
``imdb_id`` is unique, so an IMDb id the provider reports is written only to a row
that has none while no other row holds it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import structlog
from sqlalchemy import or_, select, update

from realtime.protocol import Film, FilmsEnriched, Snapshot
from server.db.engine import DbSession
from server.db.models import FilmRow
from server.filmdata.details import FAILURE_MESSAGES, FailureKind, FilmDataError, FilmDetails
from server.filmdata.identity import match_title_year, seen_films_worth_linking
from server.filmdata.posters import PosterRefused, PosterStore
from server.filmdata.provider import FilmProvider
from server.session_engine import SessionEngine, utcnow
from server.streaming.offers import to_json as offers_json
from server.watchlists.catalogue import film_from_row

__all__ = ["BATCH", "EnrichmentReport", "FilmEnricher", "Lookup"]

log = structlog.get_logger(__name__)

BATCH = 20
"""Films looked up, written and announced together (the first cards fill in early)."""
STOPPING: frozenset[str] = frozenset({"bad_key", "quota"})


@dataclass(frozen=True, slots=True)
class _Wanted:
    """What a look-up needs of a catalogue row (read before the provider is asked)."""

    id: int
    title: str
    year: int | None
    imdb_id: str | None
    provider_id: int | None


@dataclass(frozen=True, slots=True)
class Lookup:
    """One film's look-up: details, or why there are none."""

    film_id: int
    outcome: Literal["enriched", "unlinked", "skipped", "failed"]
    details: FilmDetails | None = None
    poster_file: str | None = None
    failure: FailureKind | None = None


@dataclass(slots=True)
class EnrichmentReport:
    """Counts of one import's enrichment (``films.enriched`` carries them)."""

    enriched: int = 0
    unlinked: int = 0
    skipped: int = 0
    failed: int = 0
    fresh: int = 0
    """Films asked about within the max age: not asked again."""
    posters_refused: int = 0
    failure: FailureKind | None = None
    import_id: str | None = None


class FilmEnricher:
    """Looks imported films up with the configured provider, in the background."""

    def __init__(
        self,
        engine: SessionEngine,
        provider: FilmProvider,
        posters: PosterStore | None,
        *,
        max_age: timedelta,
        jobs: int = 2,
    ) -> None:
        self.engine = engine
        self.provider = provider
        self.posters = posters
        self.max_age = max_age
        self._jobs = asyncio.Semaphore(jobs)
        self._tasks: set[asyncio.Task[EnrichmentReport]] = set()
        self.on_finished: list[Callable[[uuid.UUID], Awaitable[None]]] = []
        """Called with the session once an enrichment that gave details ends (the limits
        for tonight then rank the candidates again with the new runtimes and genres)."""

    @property
    def enabled(self) -> bool:
        return self.provider.name != "none"

    async def snapshot_part(
        self, db: DbSession, session_id: uuid.UUID, viewer: str | None, snapshot: Snapshot
    ) -> None:
        """Every snapshot names the provider, so clients credit it as its terms ask."""
        name = self.provider.name
        snapshot.film_data = name if name in ("tmdb", "kinopoisk") else "none"  # type: ignore[assignment]

    def enrich_later(
        self,
        session_id: uuid.UUID,
        film_ids: Sequence[int],
        *,
        seen: Sequence[int] = (),
        listed: Sequence[int] = (),
        import_id: str | None = None,
    ) -> None:
        """Start looking ``film_ids`` up; returns at once (nothing waits for it).

        ``seen`` are the session's films already seen and ``listed`` the films on its
        lists: the seen films that may be another row of a listed film are looked up
        after ``film_ids`` (:func:`seen_films_worth_linking`).
        """
        if not self.enabled or not film_ids:
            return
        task = asyncio.get_running_loop().create_task(
            self._guarded(session_id, list(film_ids), list(seen), list(listed), import_id)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(
        self,
        session_id: uuid.UUID,
        film_ids: list[int],
        seen: list[int],
        listed: list[int],
        import_id: str | None,
    ) -> EnrichmentReport:
        """A background run: whatever fails (the database, the hub) ends in a log line."""
        try:
            return await self.enrich(
                session_id, film_ids, seen=seen, listed=listed, import_id=import_id
            )
        except Exception as exc:
            log.warning("filmdata.enrichment_failed", error=type(exc).__name__)
            return EnrichmentReport()

    async def enrich(
        self,
        session_id: uuid.UUID,
        film_ids: list[int],
        *,
        seen: Sequence[int] = (),
        listed: Sequence[int] = (),
        import_id: str | None = None,
    ) -> EnrichmentReport:
        """Look ``film_ids`` up in list order, batch by batch; never raises a provider error."""
        report = EnrichmentReport(import_id=import_id)
        async with self._jobs:
            if seen:
                film_ids = film_ids + await self._seen_worth_linking(seen, [*film_ids, *listed])
            wanted = await self._stale(film_ids, report)
            stop = False
            for start in range(0, len(wanted), BATCH):
                batch = wanted[start : start + BATCH]
                if stop:
                    report.failed += len(wanted) - start
                    await self._announce(session_id, [], report, 0)
                    break
                lookups = await asyncio.gather(*(self._look_up(w) for w in batch))
                for lookup in lookups:
                    self._count(report, lookup)
                # Every later look-up would fail alike: a refused key, a spent quota, or a
                # provider that answered none of a whole batch.
                stop = report.failure in STOPPING or all(x.failure == "down" for x in lookups)
                try:
                    films = await self._write(lookups)
                except Exception as exc:
                    # The database went away, or another process linked the same IMDb id
                    # a moment earlier: this batch is asked again by the next import.
                    log.warning("filmdata.write_failed", error=type(exc).__name__)
                    films = []
                remaining = max(0, len(wanted) - start - len(batch))
                await self._announce(session_id, films, report, remaining)
        if report.failure is not None:
            log.warning("filmdata.enrichment_incomplete", failure=report.failure)
        if report.enriched:
            for hook in self.on_finished:
                await hook(session_id)
        return report

    async def _seen_worth_linking(self, seen: Sequence[int], listed: Sequence[int]) -> list[int]:
        """The films seen that may be another catalogue row of a listed film."""
        titled: dict[int, tuple[list[str | None], int | None]] = {}
        unique = list(dict.fromkeys([*listed, *seen]))
        async with self.engine.reader() as db:
            for start in range(0, len(unique), 400):
                rows = await db.execute(
                    select(
                        FilmRow.id,
                        FilmRow.title,
                        FilmRow.original_title,
                        FilmRow.localized_title,
                        FilmRow.titles,
                        FilmRow.year,
                    ).where(FilmRow.id.in_(unique[start : start + 400]))
                )
                for film_id, title, original, localized, titles, year in rows:
                    names = [title, original, localized, *(titles or {}).values()]
                    titled[film_id] = (names, year)
        listed_films = [(f, *titled[f]) for f in dict.fromkeys(listed) if f in titled]
        seen_films = [(f, titled[f][0][0] or "", titled[f][1]) for f in seen if f in titled]
        return seen_films_worth_linking(listed_films, seen_films)

    async def _stale(self, film_ids: list[int], report: EnrichmentReport) -> list[_Wanted]:
        """The films not asked about within the max age, in the caller's order."""
        cutoff = utcnow() - self.max_age
        own_id = FilmRow.tmdb_id if self.provider.name == "tmdb" else FilmRow.kinopoisk_id
        found: dict[int, _Wanted] = {}
        unique = list(dict.fromkeys(film_ids))
        async with self.engine.reader() as db:
            for start in range(0, len(unique), 400):
                chunk = unique[start : start + 400]
                rows = await db.execute(
                    select(FilmRow.id, FilmRow.title, FilmRow.year, FilmRow.imdb_id, own_id).where(
                        FilmRow.id.in_(chunk),
                        or_(
                            FilmRow.details_fetched_at.is_(None),
                            FilmRow.details_fetched_at < cutoff,
                        ),
                    )
                )
                for film_id, title, year, imdb_id, provider_id in rows:
                    found[film_id] = _Wanted(film_id, title, year, imdb_id, provider_id)
        report.fresh += len(unique) - len(found)
        return [found[f] for f in unique if f in found]

    async def _look_up(self, wanted: _Wanted) -> Lookup:
        provider = self.provider
        try:
            provider_id = wanted.provider_id
            if provider_id is None and wanted.imdb_id:
                hit = await provider.find_by_imdb(wanted.imdb_id)
                provider_id = hit.provider_id if hit is not None else None
            elif provider_id is None:
                match = match_title_year(
                    wanted.title,
                    wanted.year,
                    await provider.search(wanted.title, wanted.year)
                    if wanted.year is not None
                    else [],
                )
                provider_id = match.film.provider_id if match.film is not None else None
            if provider_id is None:
                return Lookup(wanted.id, "unlinked")
            details = await provider.details(provider_id)
        except FilmDataError as failure:
            if failure.kind == "not_found":
                return Lookup(wanted.id, "unlinked")
            if failure.kind == "malformed":
                return Lookup(wanted.id, "skipped", failure="malformed")
            return Lookup(wanted.id, "failed", failure=failure.kind)
        return Lookup(wanted.id, "enriched", details, await self._poster(details))

    async def _poster(self, details: FilmDetails) -> str | None:
        origin = self.provider.image_origin
        if self.posters is None or not details.poster_url or origin is None:
            return None
        try:
            return await self.posters.fetch(details.poster_url, origin)
        except PosterRefused as refused:
            log.info("filmdata.poster_refused", reason=refused.reason)
            return None
        except OSError as exc:  # the data dir is full or read-only: details without a poster
            log.warning("filmdata.poster_not_kept", error=type(exc).__name__)
            return None

    @staticmethod
    def _count(report: EnrichmentReport, lookup: Lookup) -> None:
        if lookup.outcome == "enriched":
            report.enriched += 1
            if lookup.details is not None and lookup.details.poster_url and not lookup.poster_file:
                report.posters_refused += 1
        elif lookup.outcome == "unlinked":
            report.unlinked += 1
        elif lookup.outcome == "skipped":
            report.skipped += 1
        else:
            report.failed += 1
            if report.failure not in STOPPING:
                report.failure = lookup.failure

    async def _write(self, lookups: Sequence[Lookup]) -> list[Film]:
        """Store the batch's details (one transaction), link rows, return the updated films."""
        now = utcnow()
        asked = [x for x in lookups if x.outcome in ("enriched", "unlinked")]
        if not asked:
            return []
        async with self.engine.transaction() as tx:
            db = tx.db
            rows = {
                row.id: row
                for row in (
                    await db.execute(
                        select(FilmRow).where(FilmRow.id.in_([x.film_id for x in asked]))
                    )
                ).scalars()
            }
            linked: set[int] = set()
            for lookup in asked:
                row = rows.get(lookup.film_id)
                if row is None:
                    continue
                row.details_fetched_at = now
                if lookup.details is not None:
                    await self._apply(db, row, lookup.details, lookup.poster_file, now)
                    key = row.tmdb_id if self.provider.name == "tmdb" else row.kinopoisk_id
                    if key is not None:
                        linked.add(key)
            await db.flush()
            for key in linked:
                await self._link(db, key)
            await db.flush()
            updated = [x.film_id for x in asked if x.outcome == "enriched" and x.film_id in rows]
            return [film_from_row(rows[film_id]) for film_id in updated]

    async def _apply(
        self,
        db: DbSession,
        row: FilmRow,
        details: FilmDetails,
        poster_file: str | None,
        now: datetime,
    ) -> None:
        row.details_source = details.source
        row.tmdb_id = details.tmdb_id if details.tmdb_id is not None else row.tmdb_id
        row.kinopoisk_id = (
            details.kinopoisk_id if details.kinopoisk_id is not None else row.kinopoisk_id
        )
        row.original_title = details.original_title
        row.localized_title = details.localized_title
        row.titles = dict(details.titles)
        row.overviews = dict(details.overviews)
        row.runtime_minutes = details.runtime_minutes
        row.genres = list(details.genres)
        row.directors = list(details.directors)
        row.overview = details.overview
        if row.year is None:
            row.year = details.year
        if poster_file is not None:
            row.poster_file = poster_file
        elif not details.poster_url:
            # The provider has no poster now: the old file goes (the poster sweep deletes it).
            row.poster_file = None
        if details.streaming is not None:
            row.streaming = offers_json(details.streaming)
        if details.imdb_id and row.imdb_id is None:
            taken = (
                await db.execute(select(FilmRow.id).where(FilmRow.imdb_id == details.imdb_id))
            ).first()
            if taken is None:
                row.imdb_id = details.imdb_id

    async def _link(self, db: DbSession, key: int) -> None:
        """Every row of provider film ``key`` but the lowest id is ``same_as`` the lowest."""
        column = FilmRow.tmdb_id if self.provider.name == "tmdb" else FilmRow.kinopoisk_id
        ids = sorted((await db.execute(select(FilmRow.id).where(column == key))).scalars())
        if not ids:
            return
        lowest = ids[0]
        await db.execute(update(FilmRow).where(FilmRow.id == lowest).values(same_as=None))
        if len(ids) > 1:
            await db.execute(update(FilmRow).where(FilmRow.id.in_(ids[1:])).values(same_as=lowest))

    async def _announce(
        self, session_id: uuid.UUID, films: list[Film], report: EnrichmentReport, remaining: int
    ) -> None:
        await self.engine.publish_ephemeral(
            session_id,
            FilmsEnriched(
                films=films,
                enriched=report.enriched,
                unlinked=report.unlinked,
                skipped=report.skipped,
                failed=report.failed,
                remaining=remaining,
                failure=report.failure,
                message=FAILURE_MESSAGES[report.failure] if report.failure else None,
                import_id=report.import_id,
            ),
        )

    async def sweep_posters(self) -> int:
        """Delete the kept posters no catalogue row names any more; how many went."""
        if self.posters is None:
            return 0
        async with self.engine.reader() as db:
            rows = await db.execute(
                select(FilmRow.poster_file).where(FilmRow.poster_file.is_not(None)).distinct()
            )
            referenced = {name for name in rows.scalars() if name}
        removed = await asyncio.to_thread(self.posters.sweep, referenced)
        if removed:
            log.info("filmdata.posters_swept", removed=removed)
        return removed

    async def run_poster_sweep(self, interval_s: float) -> None:
        """The periodic poster sweep (started with the retention sweep, at its interval)."""
        while True:
            try:
                await self.sweep_posters()
            except Exception as exc:
                log.warning("filmdata.poster_sweep_failed", error=type(exc).__name__)
            await asyncio.sleep(interval_s)

    async def wait(self) -> list[EnrichmentReport]:
        """Wait for every running enrichment; their reports (for tests and benchmarks)."""
        reports: list[EnrichmentReport] = []
        while self._tasks:
            for result in await asyncio.gather(*list(self._tasks), return_exceptions=True):
                if isinstance(result, EnrichmentReport):
                    reports.append(result)
        return reports

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.provider.aclose()
        if self.posters is not None:
            await self.posters.aclose()
