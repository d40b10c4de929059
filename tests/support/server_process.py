"""Run ``filmnight serve`` as a real process (for browser and multi-process tests)."""

from __future__ import annotations

import contextlib
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.services import free_port

__all__ = ["ServerProcess", "server_process"]

REPO = Path(__file__).resolve().parents[2]


@dataclass
class ServerProcess:
    base_url: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http", "ws", 1)  # https: wss

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks run (a crashed process)."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _wait_ready(
    url: str,
    process: subprocess.Popen[bytes],
    log_path: Path,
    timeout: float = 30.0,
    verify: ssl.SSLContext | bool = True,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"server exited early:\n{log_path.read_text(errors='replace')[-4000:]}"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=1, verify=verify).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(
        f"server not ready in {timeout}s:\n{log_path.read_text(errors='replace')[-4000:]}"
    )


@contextlib.contextmanager
def server_process(
    tmp_path: Path,
    env: dict[str, str] | None = None,
    port: int | None = None,
    command: list[str] | None = None,
    ready_timeout: float = 30.0,
) -> Iterator[ServerProcess]:
    """Start ``python -m server serve`` (or ``command``) on 127.0.0.1 with its own data
    dir; stop it at exit."""
    port = port or free_port()
    data = tmp_path / f"data-{port}"
    data.mkdir(parents=True, exist_ok=True)
    full_env = {
        **os.environ,
        "FILMNIGHT_HOST": "127.0.0.1",
        "FILMNIGHT_PORT": str(port),
        "FILMNIGHT_DATA_DIR": str(data),
        "FILMNIGHT_DATABASE_URL": f"sqlite+aiosqlite:///{data}/filmnight.db",
        "FILMNIGHT_MASTER_KEY_FILE": str(data / "master.key"),
        "FILMNIGHT_INVITE_LOOKUPS_PER_MINUTE": "1000",
        "FILMNIGHT_JOINS_PER_MINUTE": "1000",
        "FILMNIGHT_SESSIONS_PER_MINUTE": "1000",
        **(env or {}),
    }
    log_path = data / "server.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command or [sys.executable, "-m", "server", "serve"],
            cwd=REPO,
            env=full_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    certificate = full_env.get("FILMNIGHT_SSL_CERTFILE", "")  # trusted as its own CA
    base_url = f"{'https' if certificate else 'http'}://127.0.0.1:{port}"
    server = ServerProcess(base_url, port, process, log_path)
    try:
        trust = ssl.create_default_context(cafile=certificate) if certificate else True
        _wait_ready(base_url, process, log_path, ready_timeout, verify=trust)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
