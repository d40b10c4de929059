"""The ``filmnight`` command."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from server.cli import main
from tests.support.server_process import server_process


def test_db_upgrade_creates_the_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "sub" / "fn.db"
    monkeypatch.setenv("FILMNIGHT_DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "database at revision head" in result.output
    assert database.exists()


def test_a_bad_setting_stops_the_command_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FILMNIGHT_PORT", "not-a-port")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code != 0
    assert "FILMNIGHT_PORT" in result.output


def test_serve_migrates_a_fresh_database_and_answers(tmp_path: Path) -> None:
    with server_process(tmp_path) as server:
        assert httpx.get(f"{server.base_url}/healthz").json() == {"status": "ok"}
        created = httpx.post(f"{server.base_url}/api/v1/sessions", json={"host_name": "Ana"})
        assert created.status_code == 201
        page = httpx.get(f"{server.base_url}/join/{created.json()['invite_code']}")
        assert page.status_code == 200
    log = server.log()
    assert created.json()["token"] not in log
    assert created.json()["invite_code"] not in log
    assert '"operation": "session.create"' in log
