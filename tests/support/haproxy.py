"""HAProxy, Debian's package, with the repository's ``deploy/haproxy.cfg``, on loopback."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.services import free_port, require

__all__ = ["CONFIG", "Proxy", "haproxy"]

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "haproxy.cfg"


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    require(found is not None, "HAProxy")
    assert found is not None
    return found


@dataclass
class Proxy:
    base_url: str
    stats_path: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def command(self, line: str) -> str:
        """One command on the runtime API (the stats socket)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            sock.connect(str(self.stats_path))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def status(self) -> dict[str, str]:
        """Each backend server's state as HAProxy sees it (``UP``, ``DOWN``, ...)."""
        text = self.command("show stat").lstrip("# ")
        rows = csv.DictReader(io.StringIO(text))
        return {
            row["svname"]: row["status"]
            for row in rows
            if row["pxname"] == "filmnight" and row["svname"] not in {"BACKEND", "FRONTEND"}
        }

    def wait_status(self, wanted: dict[str, str], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                status = self.status()
                if all(status.get(name, "").startswith(s) for name, s in wanted.items()):
                    return
            time.sleep(0.05)
        raise AssertionError(f"HAProxy did not reach {wanted}: {self.status()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def haproxy(
    tmp_path: Path, web1: str, web2: str, env: dict[str, str] | None = None
) -> Iterator[Proxy]:
    """Run HAProxy with the repository's configuration in front of ``web1`` and ``web2``
    (``host:port``), listening on a free 127.0.0.1 port; ``env``: more of its variables."""
    binary = haproxy_binary()
    port = free_port()
    stats = tmp_path / "haproxy.sock"
    env = {
        **os.environ,
        **(env or {}),
        "FILMNIGHT_PROXY_BIND": f"127.0.0.1:{port}",
        "FILMNIGHT_WEB1": web1,
        "FILMNIGHT_WEB2": web2,
        "FILMNIGHT_PROXY_STATS": str(stats),
    }
    log_path = tmp_path / "haproxy.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [binary, "-db", "-f", str(CONFIG)], env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    proxy = Proxy(f"http://127.0.0.1:{port}", stats, process, log_path)
    try:
        deadline = time.monotonic() + 10
        while not stats.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"haproxy did not start:\n{proxy.log()}")
            time.sleep(0.05)
        yield proxy
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
