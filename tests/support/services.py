"""Reaching the real PostgreSQL, Redis and Chromium of the test machine.

With ``FILMNIGHT_REQUIRE_SERVICES=1`` (CI) a missing service fails the test;
otherwise the test is skipped with the reason.  This is the only place a test may
skip, and only for a missing service.
"""

from __future__ import annotations

import os
import shutil
import socket

import pytest

__all__ = [
    "POSTGRES_ADMIN_URL",
    "REDIS_URL",
    "chromium_path",
    "free_port",
    "reachable",
    "require",
]

POSTGRES_ADMIN_URL = os.environ.get(
    "FILMNIGHT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("FILMNIGHT_TEST_REDIS", "redis://127.0.0.1:6379/0")


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require(available: bool, what: str) -> None:
    """Skip (locally) or fail (``FILMNIGHT_REQUIRE_SERVICES=1``) when ``what`` is missing."""
    if available:
        return
    if os.environ.get("FILMNIGHT_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what} is required (FILMNIGHT_REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{what} is not available")


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    require(path is not None, "Chromium")
    assert path is not None
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
