"""Uploaded exports: every source, partial rows, and every way a file can be bad."""

from __future__ import annotations

import io
import zipfile

import pytest

from server.watchlists.uploads import UploadError, parse_upload

LB = "Date,Name,Year,Letterboxd URI\n"
IMDB_TAIL = (
    "URL,Title Type,IMDb Rating,Runtime (mins),Year,Genres,Num Votes,Release Date,Directors\n"
)
IMDB_OLD = "Position,Const,Created,Modified,Description,Title," + IMDB_TAIL
IMDB_NEW = "Position,Const,Created,Modified,Description,Title,Original Title," + IMDB_TAIL
LIMITS = {"max_bytes": 1024 * 1024, "max_uncompressed_bytes": 4 * 1024 * 1024, "max_films": 100}


def parse(data: bytes, name: str | None = "watchlist.csv", **limits: int) -> object:
    return parse_upload(data, name, **{**LIMITS, **limits})


def archive(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as out:
        for name, body in files.items():
            out.writestr(name, body)
    return buffer.getvalue()


def code(data: bytes, name: str | None = "x.csv", **limits: int) -> str:
    with pytest.raises(UploadError) as refused:
        parse(data, name, **limits)
    return refused.value.code


def test_letterboxd_csv_with_quoting_bom_and_empty_years() -> None:
    data = ("\ufeff" + LB + '2026-01-01,"""Crocodile"" Dundee",1986,https://boxd.it/1m9k\n'
            "2026-01-02,Untitled,,https://boxd.it/zz9\n"
            "2026-01-03,Duplicate,1986,https://boxd.it/1m9k\n").encode()  # fmt: skip
    result = parse(data)
    assert result.source == "letterboxd_csv"  # type: ignore[attr-defined]
    films = result.films  # type: ignore[attr-defined]
    assert [(f.title, f.year, f.lid) for f in films] == [
        ('"Crocodile" Dundee', 1986, "1m9k"),
        ("Untitled", None, "zz9"),
    ]


def test_the_export_zip_takes_watchlist_and_watched_by_path() -> None:
    data = archive(
        {
            "letterboxd-ana-2026-11-20-utc/watchlist.csv": (
                LB + "2026-01-01,Alien,1979,https://boxd.it/2b3S\n"
            ).encode(),
            "letterboxd-ana-2026-11-20-utc/watched.csv": (
                LB + "2026-01-01,Heat,1995,https://boxd.it/29Vo\n"
            ).encode(),
            "letterboxd-ana-2026-11-20-utc/lists/watchlist.csv": (
                LB + "2026-01-01,Solaris,1972,https://boxd.it/1Qeq\n"
            ).encode(),
        }
    )
    result = parse(data, "letterboxd-ana-2026-11-20-utc.zip")
    assert result.source == "letterboxd_zip"  # type: ignore[attr-defined]
    assert [f.title for f in result.films] == ["Alien"]  # type: ignore[attr-defined]
    assert [f.title for f in result.watched] == ["Heat"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("header", [IMDB_OLD, IMDB_NEW])
def test_imdb_exports_keep_films_and_skip_series(header: str) -> None:
    new = "Original Title" in header

    def row(pos: int, const: str, title: str, kind: str, year: str) -> str:
        middle = f"{title},{title}," if new else f"{title},"
        url = f"https://www.imdb.com/title/{const}/"
        tail = f"{kind},7.5,100,{year},Drama,1000,2000-01-01,Someone\n"
        return f"{pos},{const},2020-01-01,2020-01-01,,{middle}{url},{tail}"

    data = ("\ufeff" + header + row(1, "tt0078748", "Alien", "movie", "1979")
            + row(2, "tt0903747", "Breaking Bad", "tvSeries", "2008")
            + row(3, "tt0113277", "Heat", "Movie", "1995")).encode()  # fmt: skip
    result = parse(data, "WATCHLIST.csv")
    assert result.source == "imdb_csv"  # type: ignore[attr-defined]
    assert [(f.imdb_id, f.year) for f in result.films] == [("tt0078748", 1979), ("tt0113277", 1995)]  # type: ignore[attr-defined]
    assert (result.skipped, result.skipped_lines) == (1, [3])  # type: ignore[attr-defined]


def test_rows_that_cannot_be_read_are_reported_not_fatal() -> None:
    huge = "x" * (1024 * 1024 // 2)
    data = (LB + "2026-01-01,Alien,1979,https://boxd.it/2b3S\n"
            "2026-01-01,No link,1979,\n"
            "2026-01-01,Wrong link,1979,https://evil.example/2b3S\n"
            f"2026-01-01,{huge},1979,https://boxd.it/big1\n"
            "2026-01-01,Too,many,columns,here\n"
            '2026-01-01,"unterminated,1979,https://boxd.it/q\n').encode()  # fmt: skip
    result = parse(data)
    assert [f.title for f in result.films] == ["Alien"]  # type: ignore[attr-defined]
    assert result.skipped >= 4 and result.skipped_lines[:4] == [3, 4, 5, 6]  # type: ignore[attr-defined]


def test_a_zip_bomb_is_stopped_by_the_uncompressed_limit() -> None:
    bomb = archive({"letterboxd-x/watchlist.csv": LB.encode() + b"0" * (100 * 1024 * 1024)})
    assert len(bomb) < 1024 * 1024
    assert code(bomb, "x.zip") == "too_large"


def test_a_zip_that_lies_about_its_size_is_stopped_while_reading() -> None:
    body = LB.encode() + b"2026-01-01,Alien,1979,https://boxd.it/2b3S\n" * 200_000
    data = bytearray(archive({"letterboxd-x/watchlist.csv": body}))
    real = len(body).to_bytes(4, "little")
    fake = (100).to_bytes(4, "little")
    data = bytearray(bytes(data).replace(real, fake))  # local header and central directory
    assert code(bytes(data), "x.zip", max_uncompressed_bytes=1024 * 1024) in {
        "too_large",
        "invalid_source",
    }


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (b"Title,Year\nAlien,1979\n", "a.csv", "invalid_source"),
        (
            (LB + "2026-01-01,Amélie,2001,https://boxd.it/a\n").encode("latin-1"),
            "a.csv",
            "bad_encoding",
        ),
        (
            (LB + "2026-01-01,Alien,1979,https://boxd.it/a\n").encode("utf-16"),
            "a.csv",
            "bad_encoding",
        ),
        (b"\x00\x01\x02garbage", "a.csv", "invalid_source"),
        (LB.encode(), "a.csv", "empty"),
        (b"   ", "a.csv", "empty"),
        (b"PK\x03\x04 not really a zip", "a.zip", "invalid_source"),
        (b"x" * (1024 * 1024 + 1), "big.csv", "too_large"),
    ],
    ids=["wrong-header", "latin-1", "utf-16", "binary", "empty", "blank", "broken-zip", "10mb"],
)
def test_bad_files_get_a_stable_code(data: bytes, name: str, expected: str) -> None:
    assert code(data, name) == expected


def test_zips_without_a_watchlist_or_with_unsafe_paths_are_refused() -> None:
    only_list = archive(
        {"letterboxd-x/lists/watchlist.csv": (LB + "2026-01-01,A,1,https://boxd.it/a\n").encode()}
    )
    assert code(only_list, "x.zip") == "invalid_source"
    traversal = archive({"../watchlist.csv": (LB + "2026-01-01,A,1,https://boxd.it/a\n").encode()})
    assert code(traversal, "x.zip") == "invalid_source"
    empty = archive({"letterboxd-x/watchlist.csv": LB.encode()})
    assert code(empty, "x.zip") == "empty"


def test_more_films_than_the_limit_is_too_large() -> None:
    rows = "".join(f"2026-01-01,Film {i},2000,https://boxd.it/f{i}\n" for i in range(11))
    assert code((LB + rows).encode(), max_films=10) == "too_large"
