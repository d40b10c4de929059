"""Uploaded exports: every source, partial rows, and every way a file can be bad."""

from __future__ import annotations

import contextlib
import csv
import io
import struct
import sys
import zipfile
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.watchlists.uploads import UploadError, UploadResult, _Budget, _read_member, parse_upload

LB = "Date,Name,Year,Letterboxd URI\n"
IMDB_TAIL = "URL,Title Type,IMDb Rating,Runtime (mins),Year,Genres,Num Votes,Release Date,Directors"
IMDB_OLD = "Position,Const,Created,Modified,Description,Title," + IMDB_TAIL + "\n"
IMDB_NEW = "Position,Const,Created,Modified,Description,Title,Original Title," + IMDB_TAIL + "\n"
MB = 1024 * 1024
LIMITS = {"max_bytes": MB, "max_uncompressed_bytes": 4 * MB, "max_films": 100}
EXPORT = "letterboxd-ana-2026-11-20-utc"

ALIEN = "2026-01-01,Alien,1979,https://boxd.it/2b3S\n"
HEAT = "2026-01-02,Heat,1995,https://boxd.it/29Vo\n"
SOLARIS = "2026-01-03,Solaris,1972,https://boxd.it/1Qeq\n"


def parse(data: bytes, name: str | None = "watchlist.csv", **limits: int) -> UploadResult:
    return parse_upload(data, name, **{**LIMITS, **limits})


def refused(data: bytes, name: str | None = "x.csv", **limits: int) -> UploadError:
    with pytest.raises(UploadError) as error:
        parse(data, name, **limits)
    assert error.value.message and error.value.code in {
        "too_large",
        "invalid_source",
        "bad_encoding",
        "empty",
    }
    return error.value


def code(data: bytes, name: str | None = "x.csv", **limits: int) -> str:
    return refused(data, name, **limits).code


def archive(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as out:
        for name, body in files.items():
            out.writestr(zipfile.ZipInfo(name, (2026, 11, 20, 0, 0, 0)), body, compression)
    return buffer.getvalue()


def patch_entry(
    data: bytes,
    name: str,
    *,
    flags: int | None = None,
    file_size: int | None = None,
    version: int | None = None,
    crc: int | None = None,
) -> bytes:
    """Rewrite one entry's flags, uncompressed size, CRC or needed version in its headers."""
    out = bytearray(data)
    end = data.rindex(b"PK\x05\x06")
    entries, _, directory = struct.unpack_from("<HII", data, end + 10)
    at = directory
    for _ in range(entries):
        assert data[at : at + 4] == b"PK\x01\x02"
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, at + 28)
        local = struct.unpack_from("<I", data, at + 42)[0]
        if data[at + 46 : at + 46 + name_len].decode() == name:
            if flags is not None:
                struct.pack_into("<H", out, at + 8, flags)
                struct.pack_into("<H", out, local + 6, flags)
            if version is not None:
                struct.pack_into("<H", out, at + 6, version)
            if file_size is not None:
                struct.pack_into("<I", out, at + 24, file_size)
                struct.pack_into("<I", out, local + 22, file_size)
            if crc is not None:
                struct.pack_into("<I", out, at + 16, crc)
                struct.pack_into("<I", out, local + 14, crc)
            return bytes(out)
        at += 46 + name_len + extra_len + comment_len
    raise AssertionError(f"{name} is not in the archive")


def imdb_row(
    pos: int,
    const: str,
    title: str,
    kind: str,
    year: str,
    *,
    new: bool,
    created: str = "2024-01-01",
) -> str:
    titles = f'"{title}","{title}"' if new else f'"{title}"'
    url = f"https://www.imdb.com/title/{const}/"
    return (
        f"{pos},{const},{created},2024-01-02,,{titles},{url},{kind},7.5,117,{year},"
        f'"Horror, Sci-Fi",1000000,1979-05-25,Ridley Scott\n'
    )


@pytest.fixture
def csv_field_limit() -> Iterator[None]:
    """Raise the csv module's global field limit (as other libraries do) for one test."""
    before = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)
    try:
        yield
    finally:
        csv.field_size_limit(before)


# ---------------------------------------------------------------- happy paths


def test_a_letterboxd_csv_with_bom_quoting_empty_years_and_duplicates() -> None:
    data = (
        "\ufeff"
        + LB
        + '2026-01-01,"""Crocodile"" Dundee",1986,https://boxd.it/1m9k\r\n'
        + '2026-01-02,"Birdman or (The Unexpected Virtue of Ignorance)",2014,https://boxd.it/7Zeq\r\n'
        + "2026-01-03,Untitled Film,,https://boxd.it/zz9\r\n"
        + "2026-01-04,1917,2019,https://boxd.it/kc4U/\r\n"
        + "2026-01-05,Crocodile Dundee again,1986,https://boxd.it/1m9k\r\n"
    ).encode()
    result = parse(data)
    assert result.source == "letterboxd_csv"
    assert [(f.title, f.year, f.lid, f.imdb_id) for f in result.films] == [  # newest first
        ("1917", 2019, "kc4U", None),
        ("Untitled Film", None, "zz9", None),
        ("Birdman or (The Unexpected Virtue of Ignorance)", 2014, "7Zeq", None),
        ('"Crocodile" Dundee', 1986, "1m9k", None),
    ]
    assert (result.skipped, result.skipped_lines, result.watched) == (0, [], [])


def test_the_export_zip_takes_watchlist_and_watched_from_its_root_folder_by_path() -> None:
    data = archive(
        {
            f"{EXPORT}/": b"",
            f"{EXPORT}/profile.csv": b"Date Joined,Username\n2020-01-01,ana\n",
            f"{EXPORT}/ratings.csv": (LB.strip() + ",Rating\n" + SOLARIS.strip() + ",4\n").encode(),
            f"{EXPORT}/watchlist.csv": (LB + ALIEN + SOLARIS).encode(),
            f"{EXPORT}/watched.csv": (LB + HEAT).encode(),
            f"{EXPORT}/lists/watchlist.csv": (
                b"Letterboxd list export v7\nDate,Name,Tags,URL,Description\n"
                b"2026-01-01,watchlist,,https://boxd.it/abc,\n\n"
                b"Position,Name,Year,URL,Description\n1,Stalker,1979,https://boxd.it/2aHi,\n"
            ),
            f"{EXPORT}/lists/watched.csv": (LB + ALIEN).encode(),
        }
    )
    result = parse(data, f"{EXPORT}.zip")
    assert result.source == "letterboxd_zip"
    assert [(f.title, f.lid) for f in result.films] == [("Solaris", "1Qeq"), ("Alien", "2b3S")]
    assert [(f.title, f.year, f.lid) for f in result.watched] == [("Heat", 1995, "29Vo")]


def test_an_export_zipped_without_its_folder_works_and_lists_stay_lists() -> None:
    data = archive(
        {
            "lists/watchlist.csv": (LB + HEAT).encode(),  # listed first on purpose
            "watchlist.csv": (LB + ALIEN).encode(),
            "watched.csv": (LB + SOLARIS).encode(),
        }
    )
    result = parse(data, "export.zip")
    assert [f.title for f in result.films] == ["Alien"]
    assert [f.title for f in result.watched] == ["Solaris"]


def test_a_zip_is_recognised_by_content_whatever_its_name() -> None:
    data = archive({f"{EXPORT}/watchlist.csv": (LB + ALIEN).encode()}, zipfile.ZIP_STORED)
    assert parse(data, "watchlist.csv").source == "letterboxd_zip"
    assert parse(data, None).source == "letterboxd_zip"


def test_an_unreadable_watched_csv_leaves_the_watchlist_importable() -> None:
    data = archive(
        {
            f"{EXPORT}/watchlist.csv": (LB + ALIEN).encode(),
            f"{EXPORT}/watched.csv": "Namé,Year\n".encode("latin-1"),
        }
    )
    result = parse(data, f"{EXPORT}.zip")
    assert ([f.title for f in result.films], result.watched) == (["Alien"], [])


@pytest.mark.parametrize("header", [IMDB_OLD, IMDB_NEW], ids=["old", "new"])
def test_imdb_exports_keep_films_and_count_the_other_titles(header: str) -> None:
    new = "Original Title" in header
    kinds = ["movie", "tvSeries", "tvMovie", "video", "tvEpisode", "short", "videoGame"]
    if new:
        kinds = ["Movie", "TV Series", "TV Movie", "Video", "TV Episode", "Short", "Video Game"]
    titles = ["Alien", "Breaking Bad", "Duel", "Batman: Year One", "Pilot", "Luxo Jr.", "Doom"]
    rows = [
        imdb_row(n, f"tt{1000000 + n:07d}", title, kind, "1979", new=new)
        for n, (title, kind) in enumerate(zip(titles, kinds, strict=True), start=1)
    ]
    rows.append(imdb_row(8, "nm0000001", "A person", kinds[0], "1979", new=new))
    rows.append(imdb_row(9, "tt1000001", "Alien again", kinds[0], "1979", new=new))
    data = ("\ufeff" + header + "".join(rows)).replace("\n", "\r\n").encode()
    result = parse(data, "WATCHLIST.csv")
    assert result.source == "imdb_csv"
    assert [(f.title, f.year, f.imdb_id, f.lid) for f in result.films] == [
        ("Alien", 1979, "tt1000001", None),
        ("Duel", 1979, "tt1000003", None),
        ("Batman: Year One", 1979, "tt1000004", None),
    ]
    assert (result.not_films, result.skipped, result.skipped_lines) == (4, 1, [9])


def test_films_come_newest_first_by_the_date_added_whatever_the_row_order() -> None:
    rows = [
        "2025-03-01,March,2001,https://boxd.it/m3",
        "2025-12-24,December,2002,https://boxd.it/d12",
        "yesterday,No date,2003,https://boxd.it/nd1",
        "2025-07-14,July,2004,https://boxd.it/j7",
        "2025-07-14 09:30:00,July too,2005,https://boxd.it/j7b",  # same day: file order
        "2025-02-30,Impossible day,2006,https://boxd.it/nd2",
        ",Empty date,2007,https://boxd.it/nd3",
        "2026-01-05,January,2008,https://boxd.it/j1",
    ]
    result = parse((LB + "\n".join(rows) + "\n").encode())
    assert [f.title for f in result.films] == [
        "January",
        "December",
        "July",
        "July too",
        "March",
        # rows without a readable date: still imported, last, in file order
        "No date",
        "Impossible day",
        "Empty date",
    ]
    assert result.skipped == 0
    # The export ZIP's watchlist follows the same rule.
    zipped = parse(archive({f"{EXPORT}/watchlist.csv": (LB + ALIEN + HEAT).encode()}), "x.zip")
    assert [f.title for f in zipped.films] == ["Heat", "Alien"]


def test_imdb_films_come_newest_first_by_their_created_column() -> None:
    rows = [
        imdb_row(1, "tt0000001", "Oldest", "movie", "1979", new=True, created="2020-05-01"),
        imdb_row(2, "tt0000002", "Newest", "movie", "1980", new=True, created="2024-09-30"),
        imdb_row(3, "tt0000003", "Undated", "movie", "1981", new=True, created=""),
        imdb_row(4, "tt0000004", "Middle", "movie", "1982", new=True, created="2022-01-01"),
    ]
    result = parse((IMDB_NEW + "".join(rows)).encode())
    assert [f.title for f in result.films] == ["Newest", "Middle", "Oldest", "Undated"]


def test_titles_are_cleaned_of_control_characters_and_line_breaks() -> None:
    data = LB + '2026-01-01,"  The\tRoom\r\n (Director\'s\x07 Cut) ",2003,https://boxd.it/aB1\n'
    result = parse(data.encode())
    assert result.films[0].title == "The Room (Director's Cut)"


# ---------------------------------------------------------------- rows that cannot be read


def test_rows_that_cannot_be_read_are_counted_with_their_line_numbers() -> None:
    data = (
        LB
        + ALIEN  # line 2
        + "2026-01-02,No link,1979,\n"  # 3
        + "2026-01-03,Wrong host,1979,https://evil.example/2b3S\n"  # 4
        + "2026-01-04,Bad year,abcd,https://boxd.it/q1\n"  # 5
        + "2026-01-05,Five digit year,19799,https://boxd.it/q2\n"  # 6
        + "2026-01-06,Too,many,columns,https://boxd.it/q3\n"  # 7
        + "2026-01-07,Too few\n"  # 8
        + "\n"  # 9: blank lines are not rows
        + ",,,\n"  # 10: neither is a row of empty cells
        + "2026-01-11,,1979,https://boxd.it/q4\n"  # 11: no title
        + '2026-01-12,"Multi\nline",1979,https://boxd.it/q5\n'  # 12-13: fine
        + HEAT  # 14
        + '2026-01-15,"Closed" too early,1979,https://boxd.it/q6\n'  # 15
        + SOLARIS  # 16
        + '2026-01-17,"Unterminated,1979,https://boxd.it/q7\n'  # 17, to the end
    ).encode()
    result = parse(data)
    assert [f.title for f in result.films] == ["Multi line", "Solaris", "Heat", "Alien"]
    assert result.skipped == 9
    assert result.skipped_lines == [3, 4, 5, 6, 7, 8, 11, 15, 17]


def test_skipped_lines_count_file_lines_with_crlf_a_bom_and_quoted_line_breaks() -> None:
    """docs/protocol.md: 1-based lines of the file, the header is line 1."""
    data = (
        "\ufeff"
        + LB.replace("\n", "\r\n")
        + "2026-01-01,Alien,1979,https://boxd.it/2b3S\r\n"  # 2
        + "2026-01-01,No link,1979,\r\n"  # 3
        + "\r\n"  # 4
        + '2026-01-01,"Two\r\nlines",1979,https://boxd.it/q5\r\n'  # 5-6
        + "2026-01-01,Bad year,x,https://boxd.it/q6\r\n"  # 7
    ).encode()
    result = parse(data)
    assert [f.title for f in result.films] == ["Alien", "Two lines"]
    assert result.skipped_lines == [3, 7]


def test_only_the_first_ten_line_numbers_are_reported() -> None:
    bad = "".join(f"2026-01-01,Bad {n},1979,\n" for n in range(25))
    result = parse((LB + ALIEN + bad).encode())
    assert result.skipped == 25
    assert result.skipped_lines == list(range(3, 13))


@pytest.mark.parametrize("raised_limit", [False, True], ids=["csv-default", "csv-raised"])
def test_a_one_megabyte_cell_is_skipped_and_the_rest_imported(
    raised_limit: bool, request: pytest.FixtureRequest
) -> None:
    if raised_limit:
        request.getfixturevalue("csv_field_limit")
    huge = "x" * MB
    data = (LB + ALIEN + f"2026-01-01,{huge},1979,https://boxd.it/big1\n" + HEAT).encode()
    result = parse(data, max_bytes=4 * MB)
    assert [f.title for f in result.films] == ["Heat", "Alien"]
    assert (result.skipped, result.skipped_lines) == (1, [3])


def test_a_file_of_only_unreadable_rows_is_refused() -> None:
    assert code((LB + "2026-01-01,No link,1979,\n").encode()) == "invalid_source"


# ---------------------------------------------------------------- files that are refused


@pytest.mark.parametrize(
    "data",
    [
        b"Title,Year\nAlien,1979\n",
        (LB.strip() + ",Rating\n" + ALIEN.strip() + ",4\n").encode(),  # ratings.csv
        b"Letterboxd list export v7\nDate,Name,Tags,URL,Description\n",  # lists/*.csv
        b"Const,Your Rating,Date Rated,Title,URL,Title Type,Year\n",  # IMDb ratings
        b"<html><body>Not a CSV</body></html>",
        b'{"films": ["Alien"]}',
    ],
    ids=["generic", "ratings", "list", "imdb-ratings", "html", "json"],
)
def test_files_with_other_headers_are_not_a_source(data: bytes) -> None:
    assert code(data, "watchlist.csv") == "invalid_source"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ((LB + "2026-01-01,Amélie,2001,https://boxd.it/a\n").encode("latin-1"), "bad_encoding"),
        (
            (IMDB_OLD + imdb_row(1, "tt0211915", "Amélie", "movie", "2001", new=False)).encode(
                "cp1252"
            ),
            "bad_encoding",
        ),
        ((LB + ALIEN).encode("utf-16"), "bad_encoding"),
        ((LB + ALIEN).encode("utf-16-le"), "bad_encoding"),
        ((LB + ALIEN).encode("utf-16-be"), "bad_encoding"),
        ((LB + ALIEN).encode("utf-32"), "bad_encoding"),
        ("Titre,Année\nAmélie,2001\n".encode("latin-1"), "invalid_source"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "invalid_source"),
        (b"\x00\x01\x02binary junk\xff" * 10, "invalid_source"),
        (bytes(range(128, 256)) * 4, "invalid_source"),
    ],
    ids=[
        "latin-1",
        "imdb-cp1252",
        "utf-16-bom",
        "utf-16-le",
        "utf-16-be",
        "utf-32",
        "latin-1-junk",
        "png",
        "binary",
        "high-bytes",
    ],
)
def test_encodings_other_than_utf8_are_refused(data: bytes, expected: str) -> None:
    assert code(data) == expected


def test_a_file_over_the_size_limit_is_refused_before_reading() -> None:
    data = (LB + ALIEN * (10 * MB // len(ALIEN))).encode()
    assert len(data) > 10 * MB - 100
    error = refused(data, max_bytes=MB)
    assert (error.code, error.message) == ("too_large", "Files are at most 1 MB here.")


@pytest.mark.parametrize(
    "data",
    [LB.encode(), b"   \n\r\n", "\ufeff".encode(), ("\ufeff" + LB + "\n\n").encode(), b""],
    ids=["header-only", "blank", "bom-only", "bom-header-blank-lines", "zero-bytes"],
)
def test_a_list_without_films_is_empty(data: bytes) -> None:
    assert code(data) == "empty"


def test_an_imdb_list_of_series_only_is_empty() -> None:
    data = IMDB_NEW + imdb_row(1, "tt0903747", "Breaking Bad", "TV Series", "2008", new=True)
    error = refused(data.encode())
    assert error.code == "empty" and "series" in error.message


def test_more_distinct_films_than_the_limit_is_too_large() -> None:
    rows = [f"2026-01-01,Film {i},2000,https://boxd.it/f{i}\n" for i in range(11)]
    assert code((LB + "".join(rows)).encode(), max_films=10) == "too_large"
    # Duplicates do not count: ten films listed twice are ten films.
    assert len(parse((LB + "".join(rows[:10] * 2)).encode(), max_films=10).films) == 10


def test_the_watched_list_may_be_longer_than_the_watchlist_but_not_unbounded() -> None:
    watched = [f"2026-01-01,Seen {i},2000,https://boxd.it/s{i}\n" for i in range(30)]
    files = {f"{EXPORT}/watchlist.csv": (LB + ALIEN).encode()}
    files[f"{EXPORT}/watched.csv"] = (LB + "".join(watched)).encode()
    assert len(parse(archive(files), "x.zip", max_films=3).watched) == 30
    assert code(archive(files), "x.zip", max_films=2) == "too_large"


# ---------------------------------------------------------------- hostile ZIPs


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """100 MB of zeros, deflated to about 100 KB."""
    return archive({f"{EXPORT}/watchlist.csv": LB.encode() + bytes(100 * MB)})


def test_a_zip_bomb_is_refused_from_its_directory_without_unpacking(
    bomb: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert len(bomb) < MB // 4

    def unpacking(*args: object, **kwargs: object) -> None:
        raise AssertionError("the bomb was unpacked")

    monkeypatch.setattr(zipfile.ZipFile, "open", unpacking)
    assert code(bomb, "x.zip", max_uncompressed_bytes=MB) == "too_large"


def test_a_bomb_beside_the_watchlist_counts_too(bomb: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(bomb)) as source:
        zeros = source.read(f"{EXPORT}/watchlist.csv")
    data = archive({f"{EXPORT}/watchlist.csv": (LB + ALIEN).encode(), f"{EXPORT}/diary.csv": zeros})
    assert code(data, "x.zip", max_uncompressed_bytes=MB) == "too_large"


def test_a_zip_that_lies_about_its_size_does_not_unpack_past_the_lie() -> None:
    body = LB.encode() + ALIEN.encode() * 200_000  # about 9 MB of real rows
    name = f"{EXPORT}/watchlist.csv"
    lying = patch_entry(archive({name: body}), name, file_size=1000)
    with zipfile.ZipFile(io.BytesIO(lying)) as check:
        assert check.getinfo(name).file_size == 1000  # the directory now says 1 KB
    assert code(lying, "x.zip", max_uncompressed_bytes=MB) == "too_large"


def test_a_zip_that_lies_within_the_budget_is_too_large_and_a_wrong_crc_is_damaged() -> None:
    """The lie, not only the budget, is refused; a stream that is merely corrupt is not a lie."""
    body = LB.encode() + ALIEN.encode() * 2_000  # about 90 KB, well within the budget
    name = f"{EXPORT}/watchlist.csv"
    honest = archive({name: body})
    assert [f.title for f in parse(honest, "x.zip").films] == ["Alien"]
    lying = patch_entry(honest, name, file_size=len(body) - 1)
    assert code(lying, "x.zip", max_uncompressed_bytes=MB) == "too_large"
    assert code(patch_entry(honest, name, crc=0), "x.zip") == "invalid_source"


def test_reading_counts_the_bytes_really_unpacked_against_the_budget() -> None:
    """The second line of defence, for a ZIP reader that would trust a lying header."""
    name = f"{EXPORT}/watchlist.csv"
    with zipfile.ZipFile(io.BytesIO(archive({name: bytes(300_000)}))) as source:
        assert len(_read_member(source, source.getinfo(name), _Budget(300_000))) == 300_000
        with pytest.raises(UploadError) as error:
            _read_member(source, source.getinfo(name), _Budget(299_999))
    assert error.value.code == "too_large"


def test_an_encrypted_zip_is_refused() -> None:
    name = f"{EXPORT}/watchlist.csv"
    data = patch_entry(archive({name: (LB + ALIEN).encode()}), name, flags=0x1)
    error = refused(data, "x.zip")
    assert (error.code, "Encrypted" in error.message) == ("invalid_source", True)


@pytest.mark.parametrize(
    "name",
    [
        "../watchlist.csv",
        f"{EXPORT}/../../watchlist.csv",
        "/etc/watchlist.csv",
        "..\\watchlist.csv",
        "C:/Users/ana/watchlist.csv",
    ],
)
def test_zips_with_unsafe_paths_are_refused(name: str) -> None:
    data = archive({f"{EXPORT}/watchlist.csv": (LB + ALIEN).encode(), name: (LB + HEAT).encode()})
    assert code(data, "x.zip") == "invalid_source"


@pytest.mark.parametrize(
    "files",
    [
        {f"{EXPORT}/lists/watchlist.csv": (LB + ALIEN).encode()},
        {"lists/watchlist.csv": (LB + ALIEN).encode()},
        {f"{EXPORT}/watched.csv": (LB + ALIEN).encode()},
        {f"outer/{EXPORT}/watchlist.csv": (LB + ALIEN).encode()},
        {"a/watchlist.csv": (LB + ALIEN).encode(), "b/watchlist.csv": (LB + HEAT).encode()},
        {
            f"{EXPORT}/watchlist.csv": (
                IMDB_OLD + imdb_row(1, "tt1", "A", "movie", "", new=False)
            ).encode()
        },
        {},
    ],
    ids=[
        "lists-only",
        "root-lists-only",
        "no-watchlist",
        "too-deep",
        "two-exports",
        "imdb",
        "none",
    ],
)
def test_zips_that_are_not_one_letterboxd_export_are_refused(files: dict[str, bytes]) -> None:
    assert code(archive(files), "x.zip") == "invalid_source"


def test_damaged_and_unsupported_zips_are_refused() -> None:
    good = archive({f"{EXPORT}/watchlist.csv": (LB + ALIEN * 100).encode()})
    assert code(b"PK\x03\x04 not really a zip", "a.zip") == "invalid_source"
    assert code((LB + ALIEN).encode(), "watchlist.zip") == "invalid_source"
    assert code(good[: len(good) // 2], "a.zip") == "invalid_source"
    flipped = bytearray(good)
    flipped[60] ^= 0xFF  # inside the deflated data
    assert code(bytes(flipped), "a.zip") == "invalid_source"
    bzip = archive({f"{EXPORT}/watchlist.csv": (LB + ALIEN).encode()}, zipfile.ZIP_BZIP2)
    assert code(bzip, "a.zip") == "invalid_source"
    future = patch_entry(good, f"{EXPORT}/watchlist.csv", version=99)  # "needs zip 9.9"
    assert code(future, "a.zip") == "invalid_source"


def test_an_empty_watchlist_in_an_export_is_empty() -> None:
    data = archive({f"{EXPORT}/watchlist.csv": LB.encode(), f"{EXPORT}/watched.csv": b""})
    assert code(data, "x.zip") == "empty"


# ---------------------------------------------------------------- fuzz

VALID = archive(
    {
        f"{EXPORT}/watchlist.csv": (LB + ALIEN + HEAT).encode(),
        f"{EXPORT}/watched.csv": (LB + SOLARIS).encode(),
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096), st.sampled_from(["x.csv", "x.zip", None]))
def test_arbitrary_bytes_give_a_result_or_an_upload_error(data: bytes, name: str | None) -> None:
    with contextlib.suppress(UploadError):
        parse(data, name)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(1, 255)), max_size=4))
def test_corrupted_exports_give_a_result_or_an_upload_error(
    flips: list[tuple[int, int]],
) -> None:
    data = bytearray(VALID)
    for at, mask in flips:
        data[at] ^= mask
    with contextlib.suppress(UploadError):
        parse(bytes(data), "x.zip")
