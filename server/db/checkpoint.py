"""SQLite's WAL checkpoints, off the commit path.

By default SQLite checkpoints inside the ``COMMIT`` that takes the write-ahead log
past 1,000 pages: that commit copies the log into the database and syncs it, and
while it does the one writer (every chat batch, ballot and command of the process)
waits. The server's writer turns that off (``PRAGMA wal_autocheckpoint=0``, see
``server.db.engine``) and :func:`run_checkpoints` checkpoints every
``sqlite_checkpoint_interval_s`` instead, on a connection of its own in a worker
thread. The checkpoint is ``PASSIVE``, as SQLite's own: it copies what no reader
still needs and never waits for readers or the writer, who go on meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3

import structlog

__all__ = ["checkpoint", "run_checkpoints"]

log = structlog.get_logger(__name__)


def checkpoint(path: str) -> tuple[int, int, int]:
    """One passive checkpoint: ``(busy, frames in the log, frames checkpointed)``."""
    with contextlib.closing(sqlite3.connect(path, timeout=10)) as db:
        busy, frames, done = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(busy), int(frames), int(done)


async def run_checkpoints(path: str, interval_s: float) -> None:
    """Checkpoint ``path`` every ``interval_s`` until cancelled; a failure is logged
    and the next one tried (the log only grows meanwhile, nothing is lost)."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await asyncio.to_thread(checkpoint, path)
        except sqlite3.Error as exc:
            log.warning("sqlite.checkpoint_failed", error=str(exc))
