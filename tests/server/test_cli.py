"""The ``filmnight`` command."""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from server.cli import main
from server.settings import load_settings
from tests.support.server_process import server_process
from tests.support.services import require


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


def _listen_backlog(port: int) -> int:
    """The accept-queue limit of the socket listening on ``port`` (``ss``'s Send-Q)."""
    out = subprocess.run(
        ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    return int(out.split()[2])


def test_serve_listens_with_the_configured_backlog(tmp_path: Path) -> None:
    """A reconnect storm must not overflow the accept queue: its size is a setting (the
    kernel caps it at net.core.somaxconn, so the value here stays under any default)."""
    require(shutil.which("ss") is not None, "ss (iproute2)")
    with server_process(tmp_path, env={"FILMNIGHT_LISTEN_BACKLOG": "1234"}) as server:
        assert _listen_backlog(server.port) == 1234
    assert load_settings(environ={}).listen_backlog >= 10_000


def test_the_backlog_must_be_positive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FILMNIGHT_LISTEN_BACKLOG", "0")
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code != 0
    assert "listen_backlog" in result.output and "FILMNIGHT_LISTEN_BACKLOG" in result.output


def _open_files_limit(pid: int) -> tuple[int, int]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError("no open-file limit")


def test_serve_takes_the_hard_open_file_limit(tmp_path: Path) -> None:
    """A soft limit of 1,024 (a common default) would refuse members past about a
    thousand: serve raises it to the hard limit."""
    require(Path("/proc/self/limits").exists(), "/proc (Linux)")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = min(hard, 256)
    start = (
        "import resource, sys; "
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({low}, {hard})); "
        "from server.cli import main; sys.argv = ['filmnight', 'serve']; main()"
    )
    with server_process(tmp_path, command=[sys.executable, "-c", start]) as server:
        assert _open_files_limit(server.process.pid) == (hard, hard)
