"""`filmnight serve` on the network: TLS from the settings, and whose forwarded
addresses it believes (the per-address limits count the real peer)."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import httpx
import pytest

from tests.server.test_wire_live import _everyone_gets_every_chat, _room, _self_signed
from tests.support.server_process import server_process

pytestmark = pytest.mark.slow

LIMITED = {"FILMNIGHT_SESSIONS_PER_MINUTE": "3"}


def _create(base_url: str, forwarded_for: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = httpx.post(f"{base_url}/api/v1/sessions", json={"host_name": "Ana"}, headers=headers)
    return response.status_code


def test_a_spoofed_forwarded_address_gets_no_new_bucket_by_default(tmp_path: Path) -> None:
    with server_process(tmp_path, env=LIMITED) as server:
        assert [_create(server.base_url) for _ in range(3)] == [201] * 3
        assert _create(server.base_url) == 429
        # Every call a fresh "client" address: still the same peer, still limited.
        spoofed = [_create(server.base_url, f"203.0.113.{n}") for n in range(1, 6)]
        assert spoofed == [429] * 5


def test_a_trusted_proxys_forwarded_address_is_honoured(tmp_path: Path) -> None:
    env = {**LIMITED, "FILMNIGHT_FORWARDED_ALLOW_IPS": "127.0.0.1"}
    with server_process(tmp_path, env=env) as server:
        first = [_create(server.base_url, "203.0.113.1") for _ in range(4)]
        assert first == [201, 201, 201, 429]  # one client behind the proxy, limited
        assert _create(server.base_url, "203.0.113.2") == 201  # another, its own bucket


def test_serve_speaks_https_and_wss_with_the_configured_certificate(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    env = {
        "FILMNIGHT_SSL_CERTFILE": str(cert),
        "FILMNIGHT_SSL_KEYFILE": str(key),
        "FILMNIGHT_CHAT_PER_SECOND": "1000",
        "FILMNIGHT_CHAT_BURST": "1000",
    }
    with server_process(tmp_path, env=env) as server:
        assert server.base_url.startswith("https://")
        with pytest.raises(httpx.HTTPError):  # no plain HTTP on that port
            httpx.get(f"http://127.0.0.1:{server.port}/healthz", timeout=2)
        trust = ssl.create_default_context(cafile=str(cert))
        asyncio.run(_members_over_wss(server.base_url, server.ws_url, trust))


async def _members_over_wss(base_url: str, ws_url: str, trust: ssl.SSLContext) -> None:
    async with _room(base_url, ws_url, 4, trust) as (_host, members):
        await _everyone_gets_every_chat(members)
