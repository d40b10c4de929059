"""The public film catalogue: films found again by a canonical key, never linked to a member.

Canonical key (how films from different sources meet in the intersection):

1. the Letterboxd short id ``lid`` (the ``boxd.it`` code): scraped pages carry it in
   ``data-postered-identifier`` and the export's ``Letterboxd URI`` is
   ``https://boxd.it/{lid}``, so the two sources link exactly;
2. else the Letterboxd slug (older page markup has no ``lid``), which a later
   import carrying both fills in on the same row;
3. else the IMDb id (``tt…``) of an IMDb export.

Titles, or titles and years, are never used to match here: Letterboxd itself has
several films called *Leo* (2023).  An IMDb-only film meets a Letterboxd film once
the film-data layer (``server/filmdata``) has linked both rows to the same provider
film, under its identity rule: each row keeps its catalogue id, and the higher one
gets ``same_as`` = the lower, which candidates count it as (:func:`aliases`).
A film's catalogue ``id`` is the protocol's ``Film.id``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

import msgspec
from sqlalchemy import or_, select

from realtime.protocol import Film
from server.db.engine import DbSession
from server.db.models import FilmRow

__all__ = [
    "CatalogueFilm",
    "add_film",
    "aliases",
    "film_exists",
    "film_from_row",
    "films_by_id",
    "resolve_films",
    "search_films",
    "title_key",
]

CHUNK = 400
"""Keys per ``IN (...)`` query, well under every database's bound-parameter limit."""


class CatalogueFilm(msgspec.Struct, kw_only=True, frozen=True):
    """A film as a source describes it, before it has a catalogue id."""

    title: str
    year: int | None = None
    lid: str | None = None
    slug: str | None = None
    imdb_id: str | None = None
    letterboxd_id: str | None = None
    poster_url: str | None = None
    runtime_minutes: int | None = None
    """From an IMDb export (the film-data provider's, once looked up, replaces it)."""
    genres: tuple[str, ...] = ()


def title_key(title: str) -> str:
    """Case- and accent-insensitive form of a title, for search and ordering."""
    decomposed = unicodedata.normalize("NFKD", title.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))[:300]


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


async def _existing(db: DbSession, films: Sequence[CatalogueFilm]) -> list[FilmRow]:
    rows: dict[int, FilmRow] = {}
    columns = (
        (FilmRow.lid, sorted({f.lid for f in films if f.lid})),
        (FilmRow.slug, sorted({f.slug for f in films if f.slug})),
        (FilmRow.imdb_id, sorted({f.imdb_id for f in films if f.imdb_id})),
    )
    for column, values in columns:
        for chunk in _chunks(values):
            for row in (await db.execute(select(FilmRow).where(column.in_(chunk)))).scalars():
                rows[row.id] = row
    return list(rows.values())


class _Index:
    """Catalogue rows by each key, updated as new rows are added."""

    def __init__(self, rows: Iterable[FilmRow]) -> None:
        self.by_lid: dict[str, FilmRow] = {}
        self.by_slug: dict[str, FilmRow] = {}
        self.by_imdb: dict[str, FilmRow] = {}
        for row in rows:
            self.add(row)

    def add(self, row: FilmRow) -> None:
        if row.lid:
            self.by_lid[row.lid] = row
        if row.slug:
            self.by_slug[row.slug] = row
        if row.imdb_id:
            self.by_imdb[row.imdb_id] = row

    def find(self, film: CatalogueFilm) -> FilmRow | None:
        return (
            (film.lid and self.by_lid.get(film.lid))
            or (film.slug and self.by_slug.get(film.slug))
            or (film.imdb_id and self.by_imdb.get(film.imdb_id))
            or None
        )


def _fill_in(row: FilmRow, film: CatalogueFilm, index: _Index) -> bool:
    """Complete a known film with keys or details it lacked; True when something changed."""
    changed = False
    if film.lid and not row.lid and film.lid not in index.by_lid:
        row.lid = film.lid
        changed = True
    if film.slug and not row.slug and film.slug not in index.by_slug:
        row.slug = film.slug
        changed = True
    if film.imdb_id and not row.imdb_id and film.imdb_id not in index.by_imdb:
        row.imdb_id = film.imdb_id
        changed = True
    for attribute in ("year", "poster_url", "letterboxd_id", "runtime_minutes"):
        value = getattr(film, attribute)
        if value is not None and getattr(row, attribute) is None:
            setattr(row, attribute, value)
            changed = True
    if film.genres and not row.genres:
        row.genres = list(film.genres)
        changed = True
    if changed:
        index.add(row)
    return changed


async def resolve_films(db: DbSession, films: Sequence[CatalogueFilm]) -> list[int]:
    """Catalogue ids for ``films`` (same order, duplicates collapsed), adding unknown films.

    Runs inside the caller's write transaction, so on SQLite no other writer races
    it; on PostgreSQL a concurrent import of the same new film makes the unique
    constraint fail and the caller's transaction retries.
    """
    index = _Index(await _existing(db, films))
    ids: list[int] = []
    seen: set[int] = set()
    added = False
    pending: list[FilmRow] = []
    for film in films:
        row = index.find(film)
        if row is None:
            row = FilmRow(
                lid=film.lid,
                slug=film.slug,
                imdb_id=film.imdb_id,
                letterboxd_id=film.letterboxd_id,
                title=film.title[:300],
                title_key=title_key(film.title),
                year=film.year,
                poster_url=film.poster_url,
                runtime_minutes=film.runtime_minutes,
                genres=list(film.genres) or None,
            )
            index.add(row)
            db.add(row)
            added = True
        else:
            _fill_in(row, film, index)
        pending.append(row)
    if added or db.dirty:
        await db.flush()
    for row in pending:
        if row.id not in seen:
            seen.add(row.id)
            ids.append(row.id)
    return ids


POSTER_PATH = "/posters/"
OVERVIEW_SHOWN = 400
"""Characters of an overview a ``Film`` carries: a card's worth, so a candidates event
of 100 films stays small (the catalogue keeps the whole text).  Measured: a candidates
event of 100 films is 30 KB bare, 47 KB with details and no overview, 137 KB with
300-character overviews in English and Russian (Cyrillic is two bytes a letter), 167 KB
at this cap."""


def _shortened(text: str | None) -> str | None:
    if not text or len(text) <= OVERVIEW_SHOWN:
        return text or None
    cut = text[: OVERVIEW_SHOWN - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > OVERVIEW_SHOWN // 2 else cut).rstrip(" ,;:.") + "…"


"""Where the server serves the posters it keeps (``server/filmdata/controllers.py``)."""


def film_from_row(row: FilmRow) -> Film:
    """The protocol ``Film`` of a catalogue row, its details included once fetched."""
    overview = _shortened(row.overview)
    return Film(
        id=str(row.id),
        title=row.title,
        year=row.year,
        slug=row.slug,
        poster_url=POSTER_PATH + row.poster_file if row.poster_file else row.poster_url,
        original_title=row.original_title,
        localized_title=row.localized_title,
        runtime_minutes=row.runtime_minutes,
        genres=list(row.genres or ()),
        directors=list(row.directors or ()),
        tmdb_id=row.tmdb_id,
        imdb_id=row.imdb_id,
        kinopoisk_id=row.kinopoisk_id,
        titles=dict(row.titles or {}),
        overview=overview,
        # A language whose overview is ``overview`` is left out: a client falls back to it.
        overviews={
            language: short
            for language, text in (row.overviews or {}).items()
            if (short := _shortened(text)) and short != overview
        },
    )


async def films_by_id(db: DbSession, ids: Iterable[int]) -> dict[int, Film]:
    """Protocol ``Film`` objects for catalogue ids (unknown ids are left out)."""
    wanted = sorted(set(ids))
    found: dict[int, Film] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        rows = await db.execute(select(FilmRow).where(FilmRow.id.in_(chunk)))
        for row in rows.scalars():
            found[row.id] = film_from_row(row)
    return found


async def aliases(db: DbSession) -> dict[int, int]:
    """Catalogue ids linked to a lower id of the same provider film: ``{id: same_as}``.

    Few rows (only films imported from two sources and linked), so one query
    without a filter on the session's films.
    """
    rows = await db.execute(select(FilmRow.id, FilmRow.same_as).where(FilmRow.same_as.is_not(None)))
    return {film_id: same_as for film_id, same_as in rows if same_as is not None}


async def search_films(db: DbSession, query: str, limit: int = 20) -> list[Film]:
    """Films of the catalogue whose title contains ``query`` (case and accents ignored)."""
    key = title_key(query.strip())
    if not key:
        return []
    escaped = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = await db.execute(
        select(FilmRow)
        .where(
            or_(
                FilmRow.title_key.like(f"{escaped}%", escape="\\"),
                FilmRow.title_key.like(f"% {escaped}%", escape="\\"),
            )
        )
        .order_by(FilmRow.title_key, FilmRow.year, FilmRow.id)
        .limit(limit)
    )
    return [film_from_row(row) for row in rows.scalars()]


async def add_film(db: DbSession, title: str, year: int | None) -> int:
    """A film the host names by title and year, found nowhere: a new catalogue row."""
    row = FilmRow(title=title[:300], title_key=title_key(title), year=year)
    db.add(row)
    await db.flush()
    return row.id


async def film_exists(db: DbSession, film_id: int) -> bool:
    """Whether ``film_id`` is in the catalogue."""
    row = (await db.execute(select(FilmRow.id).where(FilmRow.id == film_id))).first()
    return row is not None
