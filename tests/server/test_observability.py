"""Logs: JSON lines, audit lines without secrets, a size-capped rotating file; loop lag."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import logging
import time
from pathlib import Path

import structlog
from prometheus_client import REGISTRY, generate_latest

from server.observability import EVENT_LOOP_LAG, audit, configure_logging, watch_loop_lag
from tests.conftest import make_settings


def test_audit_lines_go_to_a_rotating_capped_file(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "filmnight.jsonl"
    settings = make_settings(
        tmp_path,
        "sqlite+aiosqlite:///unused.db",
        log_file=str(log_file),
        log_file_max_bytes=2000,
        log_file_backups=2,
    )
    configure_logging(settings)
    try:
        for _ in range(100):
            audit("member.join", "ok")
        structlog.get_logger("test").info("plain", detail=1)
        files = sorted(log_file.parent.iterdir())
        assert [f.name for f in files] == [
            "filmnight.jsonl",
            "filmnight.jsonl.1",
            "filmnight.jsonl.2",
        ]
        assert all(f.stat().st_size <= 2000 for f in files)
        lines = [json.loads(line) for f in files for line in f.read_text().splitlines()]
        audits = [line for line in lines if line["event"] == "audit"]
        assert audits and all(set(a) >= {"timestamp", "operation", "outcome"} for a in audits)
        assert audits[0]["operation"] == "member.join" and audits[0]["outcome"] == "ok"
    finally:
        configure_logging(make_settings(tmp_path, "sqlite+aiosqlite:///unused.db"))
        for handler in logging.getLogger().handlers:
            handler.flush()


async def test_a_stalled_event_loop_shows_in_the_loop_lag_metric() -> None:
    def late(above: float) -> float:
        """Ticks observed later than ``above`` seconds so far."""
        bounds = EVENT_LOOP_LAG.bounds
        return float(sum(EVENT_LOOP_LAG._counts[bisect.bisect_left(bounds, above) + 1 :]))

    before = late(0.1)
    watcher = asyncio.create_task(watch_loop_lag(0.01))
    await asyncio.sleep(0.05)
    time.sleep(0.3)  # a callback holding the loop: the next tick is ~0.3 s late
    await asyncio.sleep(0.05)
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    assert late(0.1) - before >= 1  # (a busy machine may make another tick late too)
    exposed = generate_latest(REGISTRY).decode()
    assert 'filmnight_event_loop_lag_seconds_bucket{le="0.5"}' in exposed
