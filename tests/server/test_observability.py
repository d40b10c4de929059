"""Logs: JSON lines, audit lines without secrets, a size-capped rotating file."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import structlog

from server.observability import audit, configure_logging
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
