"""Uploaded lists: Letterboxd's export ZIP or its ``watchlist.csv``, and IMDb list exports.

Pure (bytes in, films out), so it runs in a worker thread and is tested without a
server.  Sources are told apart by their content (ZIP signature, CSV header); the
file name only decides that a ``.zip`` which does not open is a damaged ZIP.

- **Letterboxd export ZIP** (Settings → Data → Export,
  ``letterboxd-{user}-{date}-utc.zip``): ``watchlist.csv`` and ``watched.csv`` are
  taken by *path* from the export's root — the archive root or its one top folder
  — never deeper: ``lists/watchlist.csv`` is an ordinary list someone named
  "watchlist", not the watchlist.  ``watched.csv`` (films already seen) comes from
  the same folder; when it is missing or unreadable the watchlist is imported
  without it.
- **Letterboxd ``watchlist.csv``**: header ``Date,Name,Year,Letterboxd URI``; the URI
  is ``https://boxd.it/{lid}``; RFC 4180 quoting (a title with quotes is written
  quoted, its own quotes doubled: *"Crocodile" Dundee*).
- **IMDb list or watchlist export**: header ``Position,Const,...`` (old and new
  layouts; columns are found by name, so the newer ``Original Title`` column is
  fine); ``Const`` is the ``tt…`` id.  Kept: ``movie``/``Movie``,
  ``tvMovie``/``TV Movie`` (feature-length films made for TV, which Letterboxd lists
  as films) and ``video``/``Video`` (direct-to-video features, which it lists too).
  Series, episodes, specials, shorts, games and music videos are not films of a
  film night: they are counted in ``not_films``, not as unreadable rows.  Its
  ``Runtime (mins)`` and ``Genres`` columns are kept when present (a blank or absurd
  runtime is unknown, never a reason to skip the row): the limits for tonight work
  with them even without a film-data provider.

**Canonical key** — how films from different sources meet in the intersection: a
Letterboxd film is its ``lid``, the ``boxd.it`` short id, which links export URIs
and scraped watchlist pages exactly; an IMDb film is its ``tt`` id.  Never the
title, nor title and year (Letterboxd has several films called *Leo* (2023)).
Films are deduplicated by that key, keeping the first occurrence in the file.

**Order** — newest first, as docs/protocol.md's candidate order expects: by the
day the film was added (Letterboxd's ``Date``, IMDb's ``Created``, ``YYYY-MM-DD``
with an optional time that is not compared), whatever the file's row order.  Films
added the same day keep their file order; rows without a readable date are still
imported, after every dated row, in file order.

**Encoding**: UTF-8, with or without a BOM.  There is no cp1252 (or other)
fallback, for IMDb files either: both sites export UTF-8, the only way to get
another encoding is re-saving in a spreadsheet, and a guessed code page would put
wrong titles into the public catalogue for everyone.  A file whose header is
recognisable in another encoding (Latin-1, UTF-16, UTF-32) gets ``bad_encoding``,
with a hint to upload the file as exported; unrecognisable bytes are
``invalid_source``.

**Limits** (``UploadError.code`` in brackets): the upload's size [``too_large``]; a
ZIP's total uncompressed size, from its central directory and enforced again on
the bytes actually read, and a member that unpacks past its declared size (a ZIP
that lies about its sizes) [``too_large``]; only stored or deflated, unencrypted
ZIP entries with plain relative paths [``invalid_source``]; ``max_films``
distinct films [``too_large``]; ``watched.csv`` up to ten times that.  A row that cannot be read
— wrong number of columns, a field over 4 KiB (the csv module's own field limit
also applies), a missing or foreign URI or id, a bad year, broken quoting — is
skipped and reported (``skipped`` and the first ten line numbers), never fatal.
A valid file without films is ``empty``; one whose rows are all unreadable is
``invalid_source``.
"""

from __future__ import annotations

import copy
import csv
import io
import re
import unicodedata
import zipfile
import zlib
from datetime import date
from typing import Literal

import msgspec

from server.errors import DomainError

__all__ = [
    "Source",
    "UploadError",
    "UploadErrorCode",
    "UploadResult",
    "UploadedFilm",
    "parse_upload",
]

Source = Literal["letterboxd_zip", "letterboxd_csv", "imdb_csv"]
UploadErrorCode = Literal["too_large", "invalid_source", "bad_encoding", "empty"]
_Kind = Literal["letterboxd", "imdb"]

FIELD_LIMIT = 4096
MAX_RUNTIME = 1500
"""Minutes: longer than any released feature (the film-data layer's bound too)."""
MAX_GENRE = 60
MAX_GENRES = 10
"""Characters per CSV field: far above any real title, far below a memory problem."""
REPORTED_LINES = 10
WATCHED_FACTOR = 10
"""``watched.csv`` may hold this many times ``max_films`` (people see more than they plan)."""
READ_CHUNK = 64 * 1024
LETTERBOXD_HEADER = ("Date", "Name", "Year", "Letterboxd URI")
IMDB_COLUMNS = frozenset({"Position", "Const", "Title", "Title Type", "Year"})
IMDB_FILM_TYPES = frozenset({"movie", "tvmovie", "video"})
"""``Title Type`` casefolded without spaces: ``movie``/``Movie``, ``tvMovie``/``TV Movie``…"""
ZIP_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
_LID = re.compile(r"https?://(?:www\.)?boxd\.it/([A-Za-z0-9]{1,16})/?")
_TT = re.compile(r"tt[0-9]{5,12}")
_YEAR = re.compile(r"[0-9]{4}")
_ADDED = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ][0-9:.+\-Z]*)?")
ADDED_COLUMN = {"letterboxd": "Date", "imdb": "Created"}
"""The column saying when a film was added to the list."""
_SPACES = re.compile(r"\s+")

_BAD_ENCODING = (
    "The file is not UTF-8 text (was it re-saved in a spreadsheet?). "
    "Upload the file exactly as Letterboxd or IMDb exported it."
)
_NOT_AN_EXPORT = (
    "This is not a Letterboxd or IMDb export: upload the Letterboxd export ZIP, "
    "its watchlist.csv, or an IMDb list export."
)
_DAMAGED_ZIP = "The ZIP file is damaged or not a ZIP file."
_ZIP_TOO_LARGE = "The ZIP unpacks to more than this server accepts."


class UploadError(DomainError):
    """The file cannot be imported: ``code`` is stable, ``message`` is for people."""

    code: UploadErrorCode

    def __init__(self, code: UploadErrorCode, message: str) -> None:
        super().__init__(code, message)
        self.status = 413 if code == "too_large" else 400


class UploadedFilm(msgspec.Struct, frozen=True, kw_only=True):
    """A film as the file names it; ``lid`` (Letterboxd) or ``imdb_id`` is its key."""

    title: str
    year: int | None = None
    lid: str | None = None
    imdb_id: str | None = None
    runtime_minutes: int | None = None
    """IMDb's ``Runtime (mins)``, when the export has a sensible one."""
    genres: tuple[str, ...] = ()
    """IMDb's ``Genres`` (``Drama, Romance``), when the export has them."""


class UploadResult(msgspec.Struct, kw_only=True):
    """The films of an upload, newest first (see **Order**), and what was left out."""

    source: Source
    films: list[UploadedFilm]
    watched: list[UploadedFilm] = msgspec.field(default_factory=list)
    """Films already seen (``watched.csv`` of an export ZIP only)."""
    skipped: int = 0
    """Rows that could not be read."""
    skipped_lines: list[int] = msgspec.field(default_factory=list)
    """The first ten of those rows' line numbers (the header is line 1)."""
    not_films: int = 0
    """IMDb titles that are not films (series, episodes, shorts…)."""


class _Table(msgspec.Struct):
    kind: _Kind
    films: list[UploadedFilm]
    added: list[int | None] = msgspec.field(default_factory=list)
    """Each film's day added (proleptic ordinal), or None: the sort key for **Order**."""
    skipped: int = 0
    skipped_lines: list[int] = msgspec.field(default_factory=list)
    not_films: int = 0


class _NotAFilm(Exception):
    """An IMDb title of a type we do not import."""


# ---------------------------------------------------------------- entry point


def parse_upload(
    data: bytes,
    filename: str | None,
    *,
    max_bytes: int,
    max_uncompressed_bytes: int,
    max_films: int,
) -> UploadResult:
    """Parse an upload into films; raise :class:`UploadError` with a stable code."""
    if len(data) > max_bytes:
        raise UploadError("too_large", f"Files are at most {_size(max_bytes)} here.")
    if not data.strip():
        raise UploadError("empty", "The file is empty.")
    if data.startswith(_ZIP_MAGIC) or (filename or "").lower().endswith(".zip"):
        return _from_zip(data, max_uncompressed_bytes, max_films)
    return _from_csv(data, max_films)


def _size(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):g} MB"
    return f"{limit / 1024:g} KB"


# ---------------------------------------------------------------- CSV


def _from_csv(data: bytes, max_films: int) -> UploadResult:
    table = _read_table(_text(data), max_films)
    _require_films(table)
    return UploadResult(
        source="letterboxd_csv" if table.kind == "letterboxd" else "imdb_csv",
        films=table.films,
        skipped=table.skipped,
        skipped_lines=table.skipped_lines,
        not_films=table.not_films,
    )


def _require_films(table: _Table) -> None:
    if table.films:
        return
    if table.skipped:
        raise UploadError("invalid_source", "No row of this file could be read.")
    if table.not_films:
        raise UploadError("empty", "This list has no films, only series or other titles.")
    raise UploadError("empty", "This list has no films.")


def _text(data: bytes) -> str:
    """UTF-8 text (BOM dropped), or ``bad_encoding`` / ``invalid_source``."""
    if data.startswith(_WIDE_BOMS):
        raise UploadError("bad_encoding", _BAD_ENCODING)
    head = data[:4096]
    if b"\x00" in head:
        for codec in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
            if _kind(_first_row(head.decode(codec, errors="ignore"))) is not None:
                raise UploadError("bad_encoding", _BAD_ENCODING)
        raise UploadError("invalid_source", "This is not a CSV text file.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if _kind(_first_row(head.decode("latin-1"))) is not None:
            raise UploadError("bad_encoding", _BAD_ENCODING) from None
        raise UploadError("invalid_source", _NOT_AN_EXPORT) from None


def _first_row(text: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text.lstrip("\ufeff").split("\n", 1)[0])), [])
    except csv.Error:
        return []


def _kind(header: list[str]) -> _Kind | None:
    names = [name.strip().lstrip("\ufeff") for name in header]
    if tuple(names) == LETTERBOXD_HEADER:
        return "letterboxd"
    if names[:2] == ["Position", "Const"] and set(names) >= IMDB_COLUMNS:
        return "imdb"
    return None


def _read_table(text: str, max_films: int, *, only: _Kind | None = None) -> _Table:
    """Every row of an export; a row that cannot be read is skipped with its line number."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        header = []
    kind = _kind(header)
    if kind is None or (only is not None and kind != only):
        if not text.strip():
            raise UploadError("empty", "The file is empty.")
        raise UploadError("invalid_source", _NOT_AN_EXPORT)
    columns = {name.strip().lstrip("\ufeff"): index for index, name in enumerate(header)}
    width = len(header)
    row_film = _letterboxd_film if kind == "letterboxd" else _imdb_film
    added_at = columns.get(ADDED_COLUMN[kind])
    table = _Table(kind=kind, films=[])
    seen: set[str] = set()

    def skip(line: int) -> None:
        table.skipped += 1
        if len(table.skipped_lines) < REPORTED_LINES:
            table.skipped_lines.append(line)

    while True:
        line = reader.line_num + 1  # where the next record starts
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error:  # broken quoting, a field over the csv module's limit, NUL
            skip(line)
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != width or any(len(cell) > FIELD_LIMIT for cell in row):
            skip(line)
            continue
        try:
            film = row_film(row, columns)
        except _NotAFilm:
            table.not_films += 1
            continue
        except ValueError:
            skip(line)
            continue
        key = film.lid or film.imdb_id or ""
        if key in seen:
            continue
        seen.add(key)
        table.films.append(film)
        table.added.append(None if added_at is None else _added(row[added_at]))
        if len(table.films) > max_films:
            raise UploadError("too_large", f"Lists of up to {max_films:,} films can be imported.")
    table.films = _newest_first(table.films, table.added)
    return table


def _added(raw: str) -> int | None:
    """The day a row was added, as an ordinal; None when the cell is no ISO date."""
    found = _ADDED.fullmatch(raw.strip())
    if found is None:
        return None
    try:
        return date(*(int(part) for part in found.groups())).toordinal()
    except ValueError:  # 2026-02-30
        return None


def _newest_first(films: list[UploadedFilm], added: list[int | None]) -> list[UploadedFilm]:
    """Dated films newest first (same day: file order), then the undated ones in file order."""
    order = sorted(
        range(len(films)),
        key=lambda i: (0, -day, i) if (day := added[i]) is not None else (1, 0, i),
    )
    return [films[i] for i in order]


def _title(raw: str) -> str:
    """NFC, control characters and runs of white space made one space: it is shown to all."""
    text = unicodedata.normalize("NFC", raw)
    if not text.isprintable():  # rare: only then look at each character
        text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
    title = _SPACES.sub(" ", text).strip()
    if not title:
        raise ValueError("no title")
    return title


def _year(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not _YEAR.fullmatch(raw) or not 1870 <= int(raw) <= 2100:
        raise ValueError("year")
    return int(raw)


def _letterboxd_film(row: list[str], columns: dict[str, int]) -> UploadedFilm:
    found = _LID.fullmatch(row[columns["Letterboxd URI"]].strip())
    if found is None:
        raise ValueError("uri")
    return UploadedFilm(
        title=_title(row[columns["Name"]]), year=_year(row[columns["Year"]]), lid=found.group(1)
    )


def _imdb_film(row: list[str], columns: dict[str, int]) -> UploadedFilm:
    kind = row[columns["Title Type"]].strip().casefold().replace(" ", "")
    if not kind:
        raise ValueError("type")
    if kind not in IMDB_FILM_TYPES:
        raise _NotAFilm
    const = row[columns["Const"]].strip()
    if not _TT.fullmatch(const):
        raise ValueError("const")
    runtime = columns.get("Runtime (mins)")
    genres = columns.get("Genres")
    return UploadedFilm(
        title=_title(row[columns["Title"]]),
        year=_year(row[columns["Year"]]),
        imdb_id=const,
        runtime_minutes=_runtime(row[runtime]) if runtime is not None else None,
        genres=_genres(row[genres]) if genres is not None else (),
    )


def _runtime(raw: str) -> int | None:
    """A runtime in minutes; blank or absurd is unknown (the film is still imported)."""
    raw = raw.strip()
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_RUNTIME:
        return None
    return int(raw)


def _genres(raw: str) -> tuple[str, ...]:
    """``Drama, Romance`` as ``("Drama", "Romance")``; odd entries are dropped."""
    found: list[str] = []
    for part in raw.split(","):
        genre = _SPACES.sub(" ", part).strip()
        if genre and len(genre) <= MAX_GENRE and genre.isprintable() and genre not in found:
            found.append(genre)
    return tuple(found[:MAX_GENRES])


# ---------------------------------------------------------------- ZIP


def _from_zip(data: bytes, max_uncompressed: int, max_films: int) -> UploadResult:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        ValueError,
        OSError,
        EOFError,
        NotImplementedError,
    ):
        raise UploadError("invalid_source", _DAMAGED_ZIP) from None
    with archive:
        infos = archive.infolist()
        _check_entries(infos, max_uncompressed)
        folder = _export_folder(infos)
        files = {info.filename: info for info in reversed(infos)}  # first entry wins
        watchlist_info = files[folder + "watchlist.csv"]
        watched_info = files.get(folder + "watched.csv")
        budget = _Budget(max_uncompressed)
        try:
            watchlist = _read_member(archive, watchlist_info, budget)
            watched = _read_member(archive, watched_info, budget) if watched_info else None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, ValueError):
            raise UploadError("invalid_source", _DAMAGED_ZIP) from None
    table = _read_table(_text(watchlist), max_films, only="letterboxd")
    seen: list[UploadedFilm] = []
    if watched is not None:
        seen = _watched(watched, max_films * WATCHED_FACTOR)
    if not table.films:
        if table.skipped:
            raise UploadError("invalid_source", "No row of the export's watchlist could be read.")
        raise UploadError("empty", "The watchlist in this export is empty.")
    return UploadResult(
        source="letterboxd_zip",
        films=table.films,
        watched=seen,
        skipped=table.skipped,
        skipped_lines=table.skipped_lines,
    )


def _watched(data: bytes, limit: int) -> list[UploadedFilm]:
    """The films of ``watched.csv``; an unreadable file is left out, a huge one refused."""
    try:
        return _read_table(_text(data), limit, only="letterboxd").films
    except UploadError as exc:
        if exc.code == "too_large":
            raise UploadError(
                "too_large", f"watched.csv may hold up to {limit:,} films here."
            ) from None
        return []


def _check_entries(infos: list[zipfile.ZipInfo], max_uncompressed: int) -> None:
    """Refuse unsafe paths, encryption, exotic compression and a declared size over the limit."""
    for info in infos:
        name = info.filename.replace("\\", "/")
        parts = name.split("/")
        if name.startswith("/") or ".." in parts or ":" in parts[0]:
            raise UploadError("invalid_source", "The ZIP holds unsafe file paths.")
        if info.flag_bits & 0x1:
            raise UploadError("invalid_source", "Encrypted ZIP files cannot be imported.")
        if info.compress_type not in ZIP_METHODS and not info.is_dir():
            raise UploadError(
                "invalid_source", "The ZIP uses a compression this server cannot read."
            )
    if sum(info.file_size for info in infos) > max_uncompressed:
        raise UploadError("too_large", _ZIP_TOO_LARGE)


def _export_folder(infos: list[zipfile.ZipInfo]) -> str:
    """The export's root: ``""`` or ``"{top folder}/"``, the folder holding ``watchlist.csv``.

    Only the archive root and first-level folders count, and a folder named
    ``lists`` never does (that is where Letterboxd puts users' own lists).
    """
    folders: list[str] = []
    for info in infos:
        parts = info.filename.split("/")
        if info.is_dir() or parts[-1] != "watchlist.csv":
            continue
        if len(parts) == 1:
            return ""
        if len(parts) == 2 and parts[0] not in {"lists", "__MACOSX"} and parts[0] not in folders:
            folders.append(parts[0])
    if not folders:
        raise UploadError(
            "invalid_source", "This ZIP is not a Letterboxd export: it has no watchlist.csv."
        )
    if len(folders) > 1:
        raise UploadError(
            "invalid_source", "This ZIP holds more than one export: upload one at a time."
        )
    return folders[0] + "/"


class _Budget:
    """Uncompressed bytes still allowed, counted on the bytes actually read."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def take(self, count: int) -> None:
        self.left -= count
        if self.left < 0:
            raise UploadError("too_large", _ZIP_TOO_LARGE)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget) -> bytes:
    """One member, read in chunks so a lying header cannot unpack more than the budget.

    zipfile stops at the declared size and then fails the CRC check, which would call
    a ZIP that lies about its size merely damaged.  So the member is read as if it
    declared the whole budget: a stream that inflates past its declared size is
    caught as the lie it is (``too_large``), and still never past the budget.
    """
    declared = info.file_size
    unbounded = copy.copy(info)
    unbounded.file_size = max(budget.left, 0) + READ_CHUNK
    chunks: list[bytes] = []
    read = 0
    with archive.open(unbounded) as handle:
        while chunk := handle.read(READ_CHUNK):
            read += len(chunk)
            budget.take(len(chunk))
            if read > declared:
                raise UploadError("too_large", _ZIP_TOO_LARGE)
            chunks.append(chunk)
    return b"".join(chunks)
