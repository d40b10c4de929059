"""Watchlist use cases: imports (Letterboxd and uploads), candidates, nominations, deletion.

A username or URL lives only in the import's task while it runs: it is passed to
the spider's stdin and dropped.  It is never stored, logged, put in a metric or an
error message.  Lists rest encrypted (``store.py``); the catalogue of films is
public and linked to nobody.

Imports run in this process, at most ``imports_per_process`` at once (the rest
wait their turn, shown as running with no pages yet).  A member's new import
cancels their running one, and replaces their stored list only when it succeeds.
Leaving cancels a running import (in this process; on another process the import
finds the seat gone when it finishes and stores nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from sqlalchemy import bindparam, select, update

from realtime.connection import Member
from realtime.protocol import (
    Candidate,
    CandidatesEvent,
    Film,
    ImportDone,
    ImportFailed,
    ImportProgress,
    Limits,
    LimitsEvent,
    Snapshot,
)
from scraper.source import InvalidSource, parse_source
from server.db.engine import DbSession
from server.db.in_lists import padded
from server.db.models import ImportRow, MemberRow, NominationRow, SessionRow, WatchlistRow
from server.errors import ApiError
from server.filmdata.details import FilmDataError
from server.filmdata.enrichment import FilmEnricher
from server.filmdata.search import ProviderAnswer, ProviderSearch
from server.observability import audit, audited
from server.session_engine import SessionEngine, Transaction, utcnow
from server.sessions import retention
from server.sessions.seats import lost_seat, require_seat
from server.sessions.service import Identity, SessionService
from server.settings import Settings
from server.watchlists import catalogue
from server.watchlists.candidates import Ranking, merge_aliases, rank_candidates
from server.watchlists.importer import ScrapeOutcome, ScrapeSettings, run_scrape
from server.watchlists.limits import check_limits, genres_of
from server.watchlists.session_limits import (
    excluded_films,
    film_facts,
    load_limits,
    load_limits_of,
    save_limits,
    to_protocol,
    to_rules,
)
from server.watchlists.store import StoredLists, WatchlistStore
from server.watchlists.uploads import UploadResult, parse_upload

_LIST_SIZES_OF = select(WatchlistRow.member_id, WatchlistRow.films).where(
    WatchlistRow.session_id.in_(bindparam("ids", expanding=True))
)
"""How many films each member's list holds, in the sessions ``ids`` (a snapshot's)."""
_IMPORTS_OF = (
    select(ImportRow.member_id, ImportRow.state, ImportRow.reason)
    .where(
        ImportRow.session_id.in_(bindparam("ids", expanding=True)), ImportRow.state != "cancelled"
    )
    .order_by(ImportRow.created_at, ImportRow.id)
)
"""The imports of the sessions ``ids``, oldest first (each member's last one counts)."""

__all__ = [
    "CANDIDATES_IN_EVENT",
    "CandidatesPage",
    "LimitsView",
    "RetentionSweep",
    "UploadSummary",
    "WatchlistService",
]

log = structlog.get_logger(__name__)

CANDIDATES_IN_EVENT = 100
SEARCH_FAILURE_WORDS = {
    "bad_key": "The film-data provider refused this server's key. Nominate the film by title.",
    "quota": "The film-data provider's quota is used up for now. Nominate the film by title.",
    "down": "The film-data provider is not answering. Nominate the film by title.",
    "malformed": "The film-data provider sent something unreadable. Nominate the film by title.",
}
PROGRESS_INTERVAL_S = 0.2
"""At most five ``import.progress`` frames a second per import."""

FAILURE_MESSAGES = {
    "not_found": "There is no Letterboxd member with that name.",
    "private": "That watchlist is private. Make it public, or upload your export instead.",
    "empty": "That watchlist is empty.",
    "rate_limited": "Letterboxd asked us to slow down. Try again soon, or upload your export.",
    "blocked": (
        "Letterboxd did not let us read the watchlist. Upload your export instead: "
        "letterboxd.com → Settings → Data → Export your data, then drop the ZIP here."
    ),
    "timeout": "Letterboxd took too long to answer. Try again, or upload your export.",
    "unreachable": (
        "This server cannot reach Letterboxd (its address does not resolve, or the "
        "connection is refused). Upload your export instead: letterboxd.com → Settings → "
        "Data → Export your data, then drop the ZIP here."
    ),
    "too_large": "That watchlist is larger than this server imports.",
    "page_too_large": (
        "Letterboxd sent more data than this server reads. Upload your export instead: "
        "letterboxd.com → Settings → Data → Export your data, then drop the ZIP here."
    ),
    "invalid_source": "Use a Letterboxd username or a letterboxd.com profile or watchlist link.",
    "unreadable": "Your stored list could not be read. Import it again.",
    "failed": "The import stopped unexpectedly. Try again.",
}


@dataclass(frozen=True, slots=True)
class UploadSummary:
    import_id: str
    films: int
    watched: int
    skipped: int
    skipped_lines: list[int]
    source: str


@dataclass(frozen=True, slots=True)
class RetentionSweep:
    expired: int
    """Idle sessions ended as ``expired``."""
    forgotten: int
    """Ended sessions whose names, events and import records were removed."""


@dataclass(frozen=True, slots=True)
class CandidatesPage:
    member_count: int
    """Imported lists (the ones ``wanted_by`` counts against)."""
    candidates: list[Candidate]
    total: int
    waiting: list[str] = field(default_factory=list)
    left_out: int = 0
    """Films the limits for tonight left out."""

    @property
    def members(self) -> int:
        """Everyone in the session: a member's list goes when they leave, so every list
        is a present member's, and ``waiting`` is every member without one."""
        return self.member_count + len(self.waiting)


@dataclass(frozen=True, slots=True)
class LimitsView:
    limits: Limits
    genres: list[str]
    """The genres the session's films have (the ones the host may leave out)."""
    left_out: int
    """Films the limits leave out of the candidates."""


def _now_ms() -> int:
    return int(time.time() * 1000)


class WatchlistService:
    """Imports, the encrypted lists and the candidates built from them."""

    def __init__(
        self,
        engine: SessionEngine,
        store: WatchlistStore,
        settings: Settings,
        *,
        films: FilmEnricher | None = None,
    ) -> None:
        self.engine = engine
        self.films = films
        self.provider_search = (
            ProviderSearch(engine, films.provider, films.posters) if films is not None else None
        )
        self.store = store
        self.settings = settings
        if films is not None:
            films.on_finished.append(self._details_arrived)
        self._slots = asyncio.Semaphore(settings.imports_per_process)
        self._running: dict[str, tuple[str, asyncio.Task[None]]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._sessions: SessionService | None = None
        self.scrape_settings = ScrapeSettings(
            base_url=settings.letterboxd_url,
            max_pages=settings.import_max_pages,
            max_films=settings.import_max_films,
            delay_s=settings.import_delay_s,
            concurrency=settings.import_concurrency,
            timeout_s=settings.import_timeout_s,
        )

    def attach(self, sessions: SessionService) -> None:
        """Destroy lists when members leave or the session ends; add import state to snapshots."""
        self._sessions = sessions
        sessions.on_leave.append(self._member_left)
        sessions.on_end.append(self._session_ended)
        sessions.snapshot_parts.append(self._snapshot_part)

    # ------------------------------------------------------------ Letterboxd imports

    @audited("import.start")
    async def start_import(self, who: Identity, source: str) -> str:
        try:
            username = parse_source(source, self.settings.letterboxd_url)
        except InvalidSource:
            raise ApiError(400, "invalid_source", FAILURE_MESSAGES["invalid_source"]) from None
        import_id = await self._new_import(who, "letterboxd", "running")
        member_key = str(who.member_id)
        previous = self._running.pop(member_key, None)
        if previous is not None:
            previous[1].cancel()
        task = asyncio.get_running_loop().create_task(self._run(who, import_id, username))
        self._running[member_key] = (import_id, task)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        await self.engine.publish_ephemeral(
            who.session_id,
            ImportProgress(import_id=import_id, member_id=member_key, pages=0, films=0),
        )
        return import_id

    async def _new_import(self, who: Identity, source: str, state: str) -> str:
        async with self.engine.transaction() as tx:
            await self._require_seat(tx, who)
            await self._close_running(tx, who.member_id, "replaced")
            row = ImportRow(
                session_id=who.session_id,
                member_id=who.member_id,
                source=source,
                state=state,
                created_at=utcnow(),
            )
            tx.db.add(row)
            await tx.db.flush()
            return str(row.id)

    @staticmethod
    async def _close_running(tx: Transaction, member_id: uuid.UUID, reason: str) -> None:
        await tx.db.execute(
            update(ImportRow)
            .where(ImportRow.member_id == member_id, ImportRow.state == "running")
            .values(state="cancelled", reason=reason, finished_at=utcnow())
        )

    async def _run(self, who: Identity, import_id: str, username: str) -> None:
        member_key = str(who.member_id)
        last_progress = 0.0

        async def progress(pages: int, pages_total: int | None, films: int) -> None:
            nonlocal last_progress
            now = time.monotonic()
            if now - last_progress < PROGRESS_INTERVAL_S and pages != pages_total:
                return
            last_progress = now
            await self.engine.publish_ephemeral(
                who.session_id,
                ImportProgress(
                    import_id=import_id,
                    member_id=member_key,
                    pages=pages,
                    pages_total=pages_total,
                    films=films,
                ),
            )

        try:
            async with self._slots:
                outcome: ScrapeOutcome = await run_scrape(username, self.scrape_settings, progress)
            del username
            if outcome.ok:
                await self._store(who, import_id, outcome.films, [], "letterboxd", outcome.missing)
            else:
                await self._fail(who, import_id, outcome.reason or "failed")
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await self._cancelled(who, import_id)
            raise
        except Exception as exc:
            log.error("import.error", error=type(exc).__name__)
            with contextlib.suppress(Exception):
                await self._fail(who, import_id, "failed")
        finally:
            current = self._running.get(member_key)
            if current is not None and current[0] == import_id:
                del self._running[member_key]

    async def _cancelled(self, who: Identity, import_id: str) -> None:
        async with self.engine.transaction() as tx:
            await tx.db.execute(
                update(ImportRow)
                .where(ImportRow.id == uuid.UUID(import_id), ImportRow.state == "running")
                .values(state="cancelled", reason="cancelled", finished_at=utcnow())
            )

    async def _fail(self, who: Identity, import_id: str, reason: str) -> None:
        audit("import.finish", reason)
        async with self.engine.transaction() as tx:
            result = await tx.db.execute(
                update(ImportRow)
                .where(ImportRow.id == uuid.UUID(import_id), ImportRow.state == "running")
                .values(state="failed", reason=reason, finished_at=utcnow())
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return  # replaced or cancelled meanwhile
            if not await self._seated(tx, who):
                return
            await tx.emit(
                who.session_id,
                lambda seq: ImportFailed(
                    seq=seq,
                    import_id=import_id,
                    member_id=str(who.member_id),
                    reason=reason,
                    message=FAILURE_MESSAGES.get(reason, FAILURE_MESSAGES["failed"]),
                ),
            )

    # ------------------------------------------------------------ uploads

    @audited("import.upload")
    async def upload(self, who: Identity, data: bytes, filename: str | None) -> UploadSummary:
        settings = self.settings
        # An UploadError is answered by the app's handler (413 for too_large, else 400).
        result: UploadResult = await asyncio.to_thread(
            parse_upload,
            data,
            filename,
            max_bytes=settings.upload_max_bytes,
            max_uncompressed_bytes=settings.upload_max_uncompressed_bytes,
            max_films=settings.import_max_films,
        )
        import_id = await self._new_import(who, "upload", "running")
        self._cancel(str(who.member_id))
        films = [
            catalogue.CatalogueFilm(
                title=f.title,
                year=f.year,
                lid=f.lid,
                imdb_id=f.imdb_id,
                runtime_minutes=f.runtime_minutes,
                genres=f.genres,
            )
            for f in result.films
        ]
        watched = [
            catalogue.CatalogueFilm(title=f.title, year=f.year, lid=f.lid, imdb_id=f.imdb_id)
            for f in result.watched
        ]
        stored = await self._store(who, import_id, films, watched, result.source, result.skipped)
        return UploadSummary(
            import_id=import_id,
            films=stored,
            watched=len(result.watched),
            skipped=result.skipped,
            skipped_lines=list(result.skipped_lines),
            source=result.source,
        )

    # ------------------------------------------------------------ storing a list

    async def _store(
        self,
        who: Identity,
        import_id: str,
        films: list[catalogue.CatalogueFilm],
        watched: list[catalogue.CatalogueFilm],
        source: str,
        skipped: int,
    ) -> int:
        """Resolve films in the catalogue, seal the list, announce it and the new candidates."""
        async with self.engine.transaction() as tx:
            await self._require_seat(tx, who)
            result = await tx.db.execute(
                update(ImportRow)
                .where(ImportRow.id == uuid.UUID(import_id), ImportRow.state == "running")
                .values(state="done", finished_at=utcnow())
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                raise ApiError(409, "import_replaced", "A newer import replaced this one.")
            film_ids = await catalogue.resolve_films(tx.db, films)
            watched_ids = await catalogue.resolve_films(tx.db, watched) if watched else []
            await tx.db.execute(
                update(ImportRow)
                .where(ImportRow.id == uuid.UUID(import_id))
                .values(films=len(film_ids))
            )
            await self.store.save(tx.db, who.session_id, who.member_id, film_ids, watched_ids)
            await tx.emit(
                who.session_id,
                lambda seq: ImportDone(
                    seq=seq,
                    import_id=import_id,
                    member_id=str(who.member_id),
                    films=len(film_ids),
                    source=source,  # type: ignore[arg-type]
                    skipped=skipped,
                    watched=len(watched_ids),
                ),
            )
            shown, stored = await self.emit_candidates(tx, who.session_id)
            if self.films is not None and self.films.enabled:
                # Details come after the list is stored and announced: voting never waits.
                # Films seen are looked up where one may be another row of a listed film
                # (an IMDb list's row and a Letterboxd history's), so "seen" finds it.
                # The cards members see first (the page just sent) are looked up first.
                session_lists = stored.lists.values()
                seen = [f for m in session_lists for f in m.watched]
                listed = [f for m in session_lists for f in m.films]
                first = [int(c.film.id) for c in shown.candidates]
                enricher = self.films
                tx.after_commit.append(
                    lambda: enricher.enrich_later(
                        who.session_id,
                        film_ids,
                        seen=seen,
                        listed=listed,
                        import_id=import_id,
                        first=first,
                    )
                )
        audit("import.finish", "ok")
        return len(film_ids)

    # ------------------------------------------------------------ candidates

    @staticmethod
    async def nominated_ids(db: DbSession, session_id: uuid.UUID) -> list[int]:
        rows = await db.execute(
            select(NominationRow.film_id)
            .where(NominationRow.session_id == session_id)
            .order_by(NominationRow.created_at, NominationRow.film_id)
        )
        return list(rows.scalars())

    async def ranked(
        self, db: DbSession, session_id: uuid.UUID, *, offset: int = 0, limit: int | None = None
    ) -> tuple[Ranking, StoredLists, list[str]]:
        """A window of the session's ranking, its lists, and the members yet to import."""
        stored = await self.store.load(db, session_id)
        nominated = await self.nominated_ids(db, session_id)
        members = (
            await db.execute(
                select(MemberRow.id)
                .where(MemberRow.session_id == session_id, MemberRow.left_at.is_(None))
                .order_by(MemberRow.joined_at, MemberRow.id)
            )
        ).scalars()
        waiting = [str(m) for m in members if str(m) not in stored.lists]
        aliases = await catalogue.aliases(db)
        lists = merge_aliases(stored.lists, aliases) if aliases else stored.lists
        nominated = [aliases.get(f, f) for f in nominated]
        limits = await load_limits(db, session_id)
        excluded = await excluded_films(db, limits, {f for m in lists.values() for f in m.films})
        ranking = rank_candidates(lists, nominated, offset=offset, limit=limit, excluded=excluded)
        return ranking, stored, waiting

    async def page(
        self, db: DbSession, session_id: uuid.UUID, *, limit: int, offset: int = 0
    ) -> tuple[CandidatesPage, StoredLists]:
        ranking, stored, waiting = await self.ranked(db, session_id, offset=offset, limit=limit)
        films = await catalogue.films_by_id(db, (r.film_id for r in ranking.films))
        candidates = [
            Candidate(film=films[r.film_id], wanted_by=r.wanted_by, nominated=r.nominated)
            for r in ranking.films
            if r.film_id in films
        ]
        page = CandidatesPage(
            len(stored.lists), candidates, ranking.total, waiting, left_out=ranking.left_out
        )
        return page, stored

    async def emit_candidates(
        self, tx: Transaction, session_id: uuid.UUID
    ) -> tuple[CandidatesPage, StoredLists]:
        """Write a ``candidates`` event with the newest ranking (and repair unreadable lists);
        return the page it carries and the session's lists it read."""
        page, stored = await self.page(tx.db, session_id, limit=CANDIDATES_IN_EVENT)
        for member in stored.unreadable:
            await self._forget_unreadable(tx, session_id, uuid.UUID(member))
        await tx.emit(
            session_id,
            lambda seq: CandidatesEvent(
                seq=seq,
                member_count=page.member_count,
                candidates=page.candidates,
                total=page.total,
                waiting=page.waiting,
                lists=page.member_count,
                members=page.members,
                left_out=page.left_out,
            ),
        )
        return page, stored

    async def candidates(self, who: Identity, *, limit: int, offset: int) -> CandidatesPage:
        async with self.engine.reader() as db:
            page, stored = await self.page(db, who.session_id, limit=limit, offset=offset)
        if stored.unreadable:
            await self._repair(who.session_id)
        return page

    async def _repair(self, session_id: uuid.UUID) -> None:
        async with self.engine.transaction() as tx:
            await self.emit_candidates(tx, session_id)

    async def _forget_unreadable(
        self, tx: Transaction, session_id: uuid.UUID, member_id: uuid.UUID
    ) -> None:
        """A list that no longer decrypts is deleted, and its member asked to import again."""
        await self.store.delete_member(tx.db, member_id)
        row = ImportRow(
            session_id=session_id,
            member_id=member_id,
            source="stored",
            state="failed",
            reason="unreadable",
            created_at=utcnow(),
            finished_at=utcnow(),
        )
        tx.db.add(row)
        await tx.db.flush()
        import_id = str(row.id)
        await tx.emit(
            session_id,
            lambda seq: ImportFailed(
                seq=seq,
                import_id=import_id,
                member_id=str(member_id),
                reason="unreadable",
                message=FAILURE_MESSAGES["unreadable"],
            ),
        )

    # ------------------------------------------------------------ limits for tonight

    async def _session_genres(self, db: DbSession, session_id: uuid.UUID) -> list[str]:
        """The genres of the films on the session's lists and its nominations."""
        stored = await self.store.load(db, session_id)
        films = {f for m in stored.lists.values() for f in m.films}
        films.update(await self.nominated_ids(db, session_id))
        return genres_of((await film_facts(db, films)).values())

    async def _details_arrived(self, session_id: uuid.UUID) -> None:
        """New runtimes and genres may put films outside (or inside) the limits: rank again."""
        async with self.engine.reader() as db:
            limits = await load_limits(db, session_id)
        if not to_rules(limits).active:
            return
        async with self.engine.transaction() as tx:
            state = (
                await tx.db.execute(select(SessionRow.state).where(SessionRow.id == session_id))
            ).scalar_one_or_none()
            if state is not None and state != "ended":
                await self.emit_candidates(tx, session_id)

    async def limits(self, who: Identity) -> LimitsView:
        async with self.engine.reader() as db:
            limits = await load_limits(db, who.session_id)
            genres = await self._session_genres(db, who.session_id)
            ranking, _stored, _waiting = await self.ranked(db, who.session_id, limit=0)
        return LimitsView(limits, genres, ranking.left_out)

    @audited("limits.set")
    async def set_limits(self, who: Identity, wanted: Limits) -> LimitsView:
        """The host bounds tonight's candidates; every member gets ``limits`` and ``candidates``."""
        if not who.is_host:
            raise ApiError(403, "host_only", "Only the host can do this.")
        async with self.engine.transaction() as tx:
            await self._require_seat(tx, who)
            genres = await self._session_genres(tx.db, who.session_id)
            limits = to_protocol(check_limits(to_rules(wanted), genres))
            await save_limits(tx.db, who.session_id, limits)
            member_id = str(who.member_id)
            await tx.emit(
                who.session_id, lambda seq: LimitsEvent(seq=seq, limits=limits, by=member_id)
            )
            await self.emit_candidates(tx, who.session_id)
            ranking, _stored, _waiting = await self.ranked(tx.db, who.session_id, limit=0)
        return LimitsView(limits, genres, ranking.left_out)

    # ------------------------------------------------------------ search and nominations

    async def search(self, who: Identity, query: str, limit: int = 20) -> list[Film]:
        if len(query) > 100:
            raise ApiError(400, "query_too_long", "Search for at most 100 characters.")
        async with self.engine.reader() as db:
            return await catalogue.search_films(db, query, limit)

    @property
    def searches_provider(self) -> bool:
        """Whether the nomination search asks a film-data provider too."""
        return self.provider_search is not None and self.provider_search.enabled

    async def search_provider(self, who: Identity, query: str) -> ProviderAnswer:
        """The provider's films for ``query`` (the caller rate-limits it per member)."""
        if len(query) > 100:
            raise ApiError(400, "query_too_long", "Search for at most 100 characters.")
        if self.provider_search is None:
            return ProviderAnswer(provider="none")
        return await self.provider_search.search(query)

    async def _provider_film(self, provider_id: int) -> str:
        """The catalogue id of a provider's film, added with its details when new."""
        if not self.searches_provider or self.provider_search is None:
            raise ApiError(
                409, "no_film_data", "This server has no film-data provider: nominate by title."
            )
        try:
            return str(await self.provider_search.catalogue_film(provider_id))
        except FilmDataError as failure:
            if failure.kind == "not_found":
                raise ApiError(
                    404, "film_not_found", "The provider does not know that film."
                ) from None
            raise ApiError(
                502, "film_data_failed", SEARCH_FAILURE_WORDS.get(failure.kind, str(failure))
            ) from None

    @audited("film.nominate")
    async def nominate(
        self,
        who: Identity,
        *,
        film_id: str | None,
        title: str | None,
        year: int | None,
        provider_id: int | None = None,
    ) -> Film:
        if not who.is_host:
            raise ApiError(403, "host_only", "Only the host can do this.")
        if provider_id is not None:
            film_id = await self._provider_film(provider_id)
        async with self.engine.transaction() as tx:
            await self._require_seat(tx, who)
            if film_id is not None:
                if not film_id.isdigit() or not await catalogue.film_exists(tx.db, int(film_id)):
                    raise ApiError(404, "film_not_found", "No such film in the catalogue.")
                fid = int(film_id)
            else:
                clean = " ".join((title or "").split())
                if (
                    not clean
                    or len(clean) > 200
                    or any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co"} for ch in clean)
                ):
                    raise ApiError(400, "bad_title", "Give the film's title (1–200 characters).")
                if year is not None and not 1870 <= year <= 2100:
                    raise ApiError(400, "bad_year", "That year is not a film year.")
                fid = await catalogue.add_film(tx.db, clean, year)
            exists = (
                await tx.db.execute(
                    select(NominationRow.film_id).where(
                        NominationRow.session_id == who.session_id, NominationRow.film_id == fid
                    )
                )
            ).first()
            if exists is None:
                tx.db.add(
                    NominationRow(session_id=who.session_id, film_id=fid, created_at=utcnow())
                )
                await tx.db.flush()
                await self.emit_candidates(tx, who.session_id)
            films = await catalogue.films_by_id(tx.db, [fid])
            return films[fid]

    # ------------------------------------------------------------ deletion

    @audited("watchlist.delete")
    async def delete_own(self, who: Identity) -> None:
        """The member removes their list (it is destroyed at once)."""
        async with self.engine.transaction() as tx:
            await self._require_seat(tx, who)
            await self._close_running(tx, who.member_id, "cancelled")
            if await self.store.delete_member(tx.db, who.member_id):
                await self.emit_candidates(tx, who.session_id)
            tx.after_commit.append(lambda: self._cancel(str(who.member_id)))

    def _cancel(self, member_id: str) -> None:
        running = self._running.pop(member_id, None)
        if running is not None:
            running[1].cancel()

    async def _member_left(
        self, tx: Transaction, session_id: uuid.UUID, member_id: uuid.UUID
    ) -> None:
        await self._close_running(tx, member_id, "left")
        had_list = await self.store.delete_member(tx.db, member_id)
        tx.after_commit.append(lambda: self._cancel(str(member_id)))
        state = (
            await tx.db.execute(select(SessionRow.state).where(SessionRow.id == session_id))
        ).scalar_one()
        if had_list and state != "ended":
            await self.emit_candidates(tx, session_id)

    async def _session_ended(self, tx: Transaction, session_id: uuid.UUID) -> None:
        await self.store.delete_session(tx.db, session_id)
        running = (
            await tx.db.execute(
                select(ImportRow.member_id).where(
                    ImportRow.session_id == session_id, ImportRow.state == "running"
                )
            )
        ).scalars()
        members = [str(m) for m in running]
        await tx.db.execute(
            update(ImportRow)
            .where(ImportRow.session_id == session_id, ImportRow.state == "running")
            .values(state="cancelled", reason="ended", finished_at=utcnow())
        )

        def cancel_all() -> None:
            for member in members:
                self._cancel(member)

        tx.after_commit.append(cancel_all)

    async def sweep_retention(self) -> RetentionSweep:
        """Expire sessions idle past the retention period, then forget every ended session.

        See ``server/sessions/retention.py`` for what is removed and what is kept.
        One transaction per session, so a large backlog never holds a long lock.
        """
        assert self._sessions is not None, "attach() first"
        cutoff = utcnow() - timedelta(hours=self.settings.retention_hours)
        async with self.engine.reader() as db:
            idle = await retention.idle_sessions(db, cutoff)
        expired = 0
        for session_id in idle:
            expired += await retention.expire_if_idle(self._sessions, session_id, cutoff)
        async with self.engine.reader() as db:
            ended = await retention.unforgotten(db)
        forgotten = 0
        for session_id in ended:
            async with self.engine.transaction() as tx:
                forgotten += await retention.forget_session(tx.db, session_id)
        if expired or forgotten:
            audit("session.retention", "ok")
            log.info("session.retention", expired=expired, forgotten=forgotten)
        return RetentionSweep(expired=expired, forgotten=forgotten)

    async def run_retention(self, interval_s: float) -> None:
        while True:
            try:
                await self.sweep_retention()
            except Exception as exc:
                log.warning("session.retention_failed", error=type(exc).__name__)
            await asyncio.sleep(interval_s)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    # ------------------------------------------------------------ snapshot

    async def _snapshot_part(
        self, db: DbSession, snapshots: Mapping[uuid.UUID, Snapshot], viewer: str | None
    ) -> None:
        session_ids = list(snapshots)
        limits = await load_limits_of(db, session_ids)
        counts = dict((await db.execute(_LIST_SIZES_OF, {"ids": padded(session_ids)})).all())
        latest: dict[uuid.UUID, tuple[str, str | None]] = {}
        for member_id, state, reason in await db.execute(_IMPORTS_OF, {"ids": padded(session_ids)}):
            latest[member_id] = (state, reason)
        for session_id, snapshot in snapshots.items():
            snapshot.limits = limits[session_id]
            for info in snapshot.members:
                member_id = uuid.UUID(info.member_id)
                films = counts.get(member_id)
                info.films = films
                state, reason = latest.get(member_id, ("none", None))
                if state == "running":
                    info.import_state = "running"
                elif state == "failed" and (films is None or reason == "unreadable"):
                    info.import_state, info.import_reason = "failed", reason
                elif films is not None:
                    info.import_state = "done"
                elif state == "failed":
                    info.import_state, info.import_reason = "failed", reason

    # ------------------------------------------------------------ helpers

    @staticmethod
    async def _require_seat(tx: Transaction, who: Identity) -> None:
        await require_seat(tx, Member(str(who.session_id), str(who.member_id)))

    @staticmethod
    async def _seated(tx: Transaction, who: Identity) -> bool:
        return await lost_seat(tx, who.session_id, who.member_id) is None
