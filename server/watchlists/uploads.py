"""Uploaded lists: Letterboxd's export ZIP or its ``watchlist.csv``, and IMDb list exports.

Sources, told apart by what they are, never by a file name alone:

- **Letterboxd export ZIP** (Settings → Data → Export): ``watchlist.csv`` and
  ``watched.csv`` are taken from the export's top folder (or the archive root) by
  *path*; ``lists/watchlist.csv`` is an ordinary list someone named "watchlist" and
  is ignored.
- **Letterboxd ``watchlist.csv``**: header ``Date,Name,Year,Letterboxd URI``; the URI
  is ``https://boxd.it/{lid}``.
- **IMDb list or watchlist export**: header starting ``Position,Const,Created,…``;
  ``Const`` is the ``tt…`` id.  Only feature films are kept (``Title Type`` of
  ``movie``/``Movie`` and ``tvMovie``/``TV Movie``); series and episodes are counted
  as skipped rows.

Canonical keys: a Letterboxd film is its ``lid`` (the ``boxd.it`` code), which also
links it exactly to scraped watchlist pages; an IMDb film is its ``tt`` id.  Never
the title, nor title and year (see ``server/watchlists/catalogue.py``).

Files must be UTF-8 (a BOM is allowed).  Letterboxd and IMDb both export UTF-8,
so anything else (Latin-1, UTF-16) is refused as ``bad_encoding`` rather than
guessed at and imported with broken titles.

Limits: the upload's size, a ZIP's total uncompressed size (from its directory,
and enforced again while reading, so a ZIP that lies about its sizes is stopped
too), the number of films, and 4 KiB per CSV field.  Rows that cannot be read are
skipped and reported (count and first ten line numbers); they never fail the rest.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from typing import Literal

import msgspec

__all__ = ["UploadError", "UploadResult", "UploadedFilm", "parse_upload"]

Source = Literal["letterboxd_zip", "letterboxd_csv", "imdb_csv"]

FIELD_LIMIT = 4096
REPORTED_LINES = 10
LETTERBOXD_HEADER = ["Date", "Name", "Year", "Letterboxd URI"]
IMDB_FIRST = ["Position", "Const", "Created"]
IMDB_MOVIES = {"movie", "tvmovie", "tv movie", "video"}
_LID = re.compile(r"^https?://(?:www\.)?boxd\.it/([A-Za-z0-9]{1,16})/?$")
_TT = re.compile(r"^tt\d{5,12}$")


class UploadError(Exception):
    """The file cannot be imported: ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class UploadedFilm(msgspec.Struct, frozen=True, kw_only=True):
    title: str
    year: int | None = None
    lid: str | None = None
    imdb_id: str | None = None


class UploadResult(msgspec.Struct, kw_only=True):
    source: Source
    films: list[UploadedFilm]
    watched: list[UploadedFilm] = msgspec.field(default_factory=list)
    skipped: int = 0
    skipped_lines: list[int] = msgspec.field(default_factory=list)


class _Rows(msgspec.Struct):
    films: list[UploadedFilm]
    skipped: int
    skipped_lines: list[int]


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadError(
            "bad_encoding",
            "The file is not UTF-8 text. Upload the file as Letterboxd or IMDb made it.",
        ) from None


def _lines(text: str) -> Iterator[str]:
    return iter(io.StringIO(text, newline=""))


def _year(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isdigit() or not 1870 <= int(raw) <= 2100:
        raise ValueError("year")
    return int(raw)


def _read_rows(text: str, kind: Literal["letterboxd", "imdb"], max_films: int) -> _Rows:
    """Parse every row; a row that cannot be read is skipped and its line number kept."""
    reader = csv.reader(_lines(text), strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise UploadError("invalid_source", "The file is empty or not a CSV export.") from None
    columns = {name.strip(): index for index, name in enumerate(header)}
    films: list[UploadedFilm] = []
    seen: set[str] = set()
    skipped = 0
    lines: list[int] = []

    def skip() -> None:
        nonlocal skipped
        skipped += 1
        if len(lines) < REPORTED_LINES:
            lines.append(reader.line_num)

    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error:
            skip()
            continue
        if not any(cell.strip() for cell in row):
            continue
        try:
            if len(row) != len(header) or any(len(cell) > FIELD_LIMIT for cell in row):
                raise ValueError("shape")
            film = _letterboxd(row, columns) if kind == "letterboxd" else _imdb(row, columns)
        except (ValueError, KeyError):
            skip()
            continue
        if film is None:
            skip()
            continue
        key = film.lid or film.imdb_id or ""
        if key in seen:
            continue
        seen.add(key)
        films.append(film)
        if len(films) > max_films:
            raise UploadError("too_large", f"Lists of up to {max_films} films can be imported.")
    return _Rows(films, skipped, lines)


def _letterboxd(row: list[str], columns: dict[str, int]) -> UploadedFilm:
    title = row[columns["Name"]].strip()
    found = _LID.match(row[columns["Letterboxd URI"]].strip())
    if not title or found is None:
        raise ValueError("film")
    return UploadedFilm(title=title, year=_year(row[columns["Year"]]), lid=found.group(1))


def _imdb(row: list[str], columns: dict[str, int]) -> UploadedFilm | None:
    kind = row[columns["Title Type"]].strip().casefold()
    if kind not in IMDB_MOVIES:
        return None
    const = row[columns["Const"]].strip()
    title = row[columns["Title"]].strip()
    if not _TT.match(const) or not title:
        raise ValueError("film")
    return UploadedFilm(title=title, year=_year(row[columns["Year"]]), imdb_id=const)


def _csv_kind(text: str) -> Literal["letterboxd", "imdb"]:
    first = text.split("\n", 1)[0].strip().strip("\r")
    try:
        header = next(csv.reader([first]))
    except (StopIteration, csv.Error):
        header = []
    names = [name.strip() for name in header]
    if names == LETTERBOXD_HEADER:
        return "letterboxd"
    if names[:3] == IMDB_FIRST and {"Const", "Title", "Title Type", "Year"} <= set(names):
        return "imdb"
    raise UploadError(
        "invalid_source",
        "This is not a Letterboxd or IMDb export: upload watchlist.csv, the export ZIP, "
        "or an IMDb list export.",
    )


def _from_csv(data: bytes, max_films: int) -> UploadResult:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        _decode(b"\xff")  # UTF-16: refused as an encoding, not as junk
    if b"\x00" in data[:4096]:
        raise UploadError("invalid_source", "This is not a CSV text file.")
    text = _decode(data)
    kind = _csv_kind(text)
    rows = _read_rows(text, kind, max_films)
    source: Source = "letterboxd_csv" if kind == "letterboxd" else "imdb_csv"
    if not rows.films:
        if rows.skipped:
            raise UploadError("invalid_source", "No row of this file could be read.")
        raise UploadError("empty", "This list has no films.")
    return UploadResult(
        source=source, films=rows.films, skipped=rows.skipped, skipped_lines=rows.skipped_lines
    )


def _export_member(archive: zipfile.ZipFile, name: str) -> zipfile.ZipInfo | None:
    """``name`` at the archive root or directly in its one top folder — never deeper."""
    for info in archive.infolist():
        parts = info.filename.split("/")
        if parts[-1] == name and len(parts) <= 2:
            return info
    return None


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: list[int]) -> bytes:
    """Read one member, counting real (not declared) bytes against the budget."""
    chunks: list[bytes] = []
    with archive.open(info) as handle:
        while chunk := handle.read(64 * 1024):
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise UploadError("too_large", "The ZIP unpacks to more than this server accepts.")
            chunks.append(chunk)
    return b"".join(chunks)


def _from_zip(data: bytes, max_uncompressed: int, max_films: int) -> UploadResult:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        raise UploadError("invalid_source", "The ZIP file is damaged.") from None
    with archive:
        infos = archive.infolist()
        if any(info.flag_bits & 0x1 for info in infos):
            raise UploadError("invalid_source", "Encrypted ZIPs cannot be imported.")
        if any(".." in info.filename.split("/") or info.filename.startswith("/") for info in infos):
            raise UploadError("invalid_source", "The ZIP holds unsafe paths.")
        if sum(info.file_size for info in infos) > max_uncompressed:
            raise UploadError("too_large", "The ZIP unpacks to more than this server accepts.")
        watchlist = _export_member(archive, "watchlist.csv")
        if watchlist is None:
            raise UploadError(
                "invalid_source", "This ZIP is not a Letterboxd export: it has no watchlist.csv."
            )
        budget = [max_uncompressed]
        try:
            main = _read_member(archive, watchlist, budget)
            seen_info = _export_member(archive, "watched.csv")
            seen = _read_member(archive, seen_info, budget) if seen_info else None
        except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError):
            raise UploadError("invalid_source", "The ZIP file is damaged.") from None
    text = _decode(main)
    if _csv_kind(text) != "letterboxd":
        raise UploadError("invalid_source", "The export's watchlist.csv is not Letterboxd's.")
    rows = _read_rows(text, "letterboxd", max_films)
    watched: list[UploadedFilm] = []
    if seen is not None:
        seen_text = _decode(seen)
        if _csv_kind(seen_text) == "letterboxd":
            watched = _read_rows(seen_text, "letterboxd", 1_000_000).films
    if not rows.films:
        raise UploadError("empty", "Your watchlist in this export is empty.")
    return UploadResult(
        source="letterboxd_zip",
        films=rows.films,
        watched=watched,
        skipped=rows.skipped,
        skipped_lines=rows.skipped_lines,
    )


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
        raise UploadError("too_large", f"Files are at most {max_bytes // (1024 * 1024)} MB here.")
    if not data.strip():
        raise UploadError("empty", "The file is empty.")
    if data[:4] == b"PK\x03\x04" or (filename or "").lower().endswith(".zip"):
        return _from_zip(data, max_uncompressed_bytes, max_films)
    return _from_csv(data, max_films)
