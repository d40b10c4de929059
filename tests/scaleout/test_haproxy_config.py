"""deploy/haproxy.cfg on its own: how many members the proxy holds at once."""

from __future__ import annotations

from pathlib import Path

from tests.support.haproxy import haproxy


def _maxconn(info: str) -> int:
    return next(
        int(line.split(":")[1]) for line in info.splitlines() if line.startswith("Maxconn:")
    )


def test_the_proxy_holds_as_many_members_as_configured(tmp_path: Path) -> None:
    # Two descriptors per member: left to its descriptor limit, HAProxy may hold fewer
    # members than a process does (9,986 with 20,000), so the number is a setting.
    with haproxy(
        tmp_path, "127.0.0.1:1", "127.0.0.1:2", env={"FILMNIGHT_PROXY_MAXCONN": "777"}
    ) as proxy:
        assert _maxconn(proxy.command("show info")) == 777


def test_without_the_setting_the_descriptor_limit_decides(tmp_path: Path) -> None:
    with haproxy(tmp_path, "127.0.0.1:1", "127.0.0.1:2") as proxy:
        info = proxy.command("show info")
        limit = next(int(line.split(":")[1]) for line in info.splitlines() if "Ulimit-n" in line)
        assert 0 < _maxconn(info) < limit // 2
