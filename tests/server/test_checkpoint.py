"""SQLite's write-ahead log is checkpointed in the background, not by the commit that
fills it; nothing written is lost or left unreadable meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from structlog.testing import capture_logs

from server.app import background_checkpoints, create_app
from server.db.checkpoint import checkpoint, run_checkpoints
from server.db.engine import WAL_SIZE_LIMIT, create_engine, sqlite_file
from server.db.migrate import upgrade
from tests.conftest import make_settings


def test_the_file_of_a_sqlite_url() -> None:
    assert sqlite_file("sqlite+aiosqlite:////srv/data/filmnight.db") == "/srv/data/filmnight.db"
    assert sqlite_file("sqlite+aiosqlite:///data/filmnight.db") == "data/filmnight.db"
    assert sqlite_file("sqlite+aiosqlite:///:memory:") is None
    assert sqlite_file("sqlite+aiosqlite://") is None
    assert sqlite_file("postgresql+asyncpg://u@127.0.0.1/test") is None


async def _pragmas(url: str, **options: bool) -> tuple[int, int]:
    """``wal_autocheckpoint`` and ``journal_size_limit`` of the engine's connections."""
    engine = create_engine(url, **options)
    try:
        async with engine.connect() as conn:
            pages = (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one()
            limit = (await conn.execute(text("PRAGMA journal_size_limit"))).scalar_one()
            return int(pages), int(limit)
    finally:
        await engine.dispose()


async def test_only_the_writer_leaves_checkpoints_to_the_background(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/d.db"
    assert await _pragmas(url, checkpoint_at_commit=False) == (0, WAL_SIZE_LIMIT)
    assert await _pragmas(url) == (1000, -1)  # SQLite's own defaults
    assert await _pragmas(url, writer=False, checkpoint_at_commit=False) == (1000, -1)


async def _write(url: str, rows: int) -> None:
    engine = create_engine(url, checkpoint_at_commit=False)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE IF NOT EXISTS t (a INTEGER PRIMARY KEY, b TEXT)"))
        for start in range(0, rows, 100):  # many commits, as a busy server makes
            async with engine.begin() as conn:
                await conn.execute(
                    text("INSERT INTO t (b) VALUES (:b)"),
                    [{"b": "x" * 500} for _ in range(min(100, rows - start))],
                )
    finally:
        await engine.dispose(close=False)  # open connections would checkpoint on close


async def test_commits_leave_the_log_whole_and_a_checkpoint_moves_it_all(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    url = f"sqlite+aiosqlite:///{path}"
    await _write(url, 20_000)  # some 2,500 pages: past 1,000, where SQLite would checkpoint
    wal = Path(f"{path}-wal")
    assert wal.stat().st_size > 1000 * 4096  # no commit checkpointed it
    before = path.stat().st_size
    busy, frames, done = checkpoint(str(path))
    assert (busy, done) == (0, frames) and frames > 1000
    assert path.stat().st_size > before + 1000 * 4096  # the pages are in the database now
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM t").fetchone() == (20_000,)


async def test_the_background_checkpoints_run_until_cancelled(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    url = f"sqlite+aiosqlite:///{path}"
    await _write(url, 5_000)
    before = path.stat().st_size
    task = asyncio.create_task(run_checkpoints(str(path), 0.05))
    try:
        for _ in range(100):
            await asyncio.sleep(0.05)
            if path.stat().st_size > before:
                break
        assert path.stat().st_size > before + 500 * 4096
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_a_failed_checkpoint_is_logged_and_the_next_one_tried(tmp_path: Path) -> None:
    missing = str(tmp_path / "no such dir" / "d.db")
    with capture_logs() as logs:
        task = asyncio.create_task(run_checkpoints(missing, 0.01))
        for _ in range(200):
            await asyncio.sleep(0.01)
            if len(logs) >= 2:
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert len(logs) >= 2
    assert {entry["event"] for entry in logs} == {"sqlite.checkpoint_failed"}


def test_which_processes_checkpoint_in_the_background(tmp_path: Path) -> None:
    sqlite = f"sqlite+aiosqlite:///{tmp_path}/d.db"
    assert background_checkpoints(make_settings(tmp_path, sqlite))
    assert not background_checkpoints(
        make_settings(tmp_path, sqlite, sqlite_checkpoint_interval_s=0)
    )
    assert not background_checkpoints(make_settings(tmp_path, "postgresql+asyncpg://u@h/db"))


async def _main_file_after_requests(tmp_path: Path, interval_s: float) -> tuple[bytes, bytes]:
    """The database file's bytes before and after 20 sessions are made through the app."""
    path = tmp_path / "filmnight.db"
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(upgrade, url)
    with contextlib.closing(sqlite3.connect(path)) as db:  # as the server opens it
        db.execute("PRAGMA journal_mode=WAL")
    before = path.read_bytes()
    app = create_app(make_settings(tmp_path, url, sqlite_checkpoint_interval_s=interval_s))
    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        for n in range(20):
            made = await client.post(
                "/api/v1/sessions", json={"host_name": "Ana", "title": f"Friday {n}"}
            )
            assert made.status_code == 201, made.text
        for _ in range(40):  # the next background checkpoint copies the log in
            await asyncio.sleep(0.05)
            if path.read_bytes() != before:
                break
        return before, path.read_bytes()


async def test_the_server_checkpoints_what_its_requests_wrote(tmp_path: Path) -> None:
    before, after = await _main_file_after_requests(tmp_path, 0.05)
    assert after != before


async def test_without_background_checkpoints_small_writes_stay_in_the_log(
    tmp_path: Path,
) -> None:
    """The control: at commit, SQLite checkpoints only a log of 1,000 pages."""
    before, after = await _main_file_after_requests(tmp_path, 0)
    assert after == before
