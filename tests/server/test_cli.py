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


def test_keys_rotate_rewraps_every_list_under_a_new_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    csv = b"Date,Name,Year,Letterboxd URI\n2026-01-01,Alien,1979,https://boxd.it/2b3S\n"
    with server_process(tmp_path) as server:
        base = server.base_url
        host = httpx.post(f"{base}/api/v1/sessions", json={"host_name": "Ana"}).json()
        auth = {"Authorization": f"Bearer {host['token']}"}
        url = f"{base}/api/v1/sessions/{host['session_id']}"
        uploaded = httpx.post(
            f"{url}/imports/csv", files={"file": ("w.csv", csv, "text/csv")}, headers=auth
        )
        assert uploaded.status_code == 201
    data = tmp_path / f"data-{server.port}"
    database, key_file = data / "filmnight.db", data / "master.key"
    before = (
        sqlite3.connect(database).execute("SELECT kid, ciphertext FROM fn_watchlist").fetchone()
    )
    old_kid = before[0]

    monkeypatch.setenv("FILMNIGHT_DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    monkeypatch.setenv("FILMNIGHT_MASTER_KEY_FILE", str(key_file))
    result = CliRunner().invoke(main, ["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "re-wrapped 1 data keys" in result.output
    kid, ciphertext = (
        sqlite3.connect(database).execute("SELECT kid, ciphertext FROM fn_watchlist").fetchone()
    )
    assert kid != old_kid and ciphertext == before[1]  # the list itself was not re-encrypted
    assert old_kid not in key_file.read_text() and kid in key_file.read_text()

    # The server, restarted with the rotated key file, still reads the list.
    env = {
        "FILMNIGHT_MASTER_KEY_FILE": str(key_file),
        "FILMNIGHT_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
    }
    with server_process(tmp_path / "again", env=env) as again:
        body = httpx.get(
            f"{again.base_url}/api/v1/sessions/{host['session_id']}/candidates", headers=auth
        ).json()
        assert body["member_count"] == 1 and body["candidates"][0]["film"]["title"] == "Alien"
