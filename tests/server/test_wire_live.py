"""The direct-write path on a real server: over TLS, with a member whose wire fails, and
with uvicorn's private module missing (the ASGI ``send`` serves everyone)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from server.app import create_app
from server.db.migrate import upgrade
from server.live.wire import Wire
from tests.conftest import make_settings, run_live
from tests.support.server_process import server_process
from tests.support.services import free_port
from tests.support.wsclient import RawMember, connect_member

CHATS = 12


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1, signed by its own key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def _seat(
    http: httpx.AsyncClient, code: str | None = None, name: str = "Ana"
) -> dict[str, Any]:
    if code is None:
        response = await http.post("/api/v1/sessions", json={"host_name": name})
    else:
        response = await http.post(f"/api/v1/invites/{code}/join", json={"name": name})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@contextlib.asynccontextmanager
async def _room(
    base_url: str, ws_url: str, size: int, tls: ssl.SSLContext | None = None
) -> AsyncIterator[tuple[dict[str, Any], list[RawMember]]]:
    """A session with ``size`` members connected (the host first)."""
    async with httpx.AsyncClient(base_url=base_url, verify=tls or True) as http:
        host = await _seat(http)
        seats = [host] + [await _seat(http, host["invite_code"], f"M{n}") for n in range(1, size)]
    members = [
        (await connect_member(ws_url, host["session_id"], seat["token"], ssl=tls))[0]
        for seat in seats
    ]
    try:
        yield host, members
    finally:
        for member in members:
            await member.close()


async def _chats(member: RawMember, count: int) -> list[str]:
    """The texts of the next ``count`` chat events ``member`` receives."""
    return [(await member.next_type("chat", timeout=10))["text"] for _ in range(count)]


async def _everyone_gets_every_chat(members: list[RawMember]) -> None:
    host = members[0]
    texts = [f"message {n}" for n in range(CHATS)]
    for n, text in enumerate(texts):
        await host.send({"type": "chat", "text": text, "id": f"c{n}"})
    received = await asyncio.gather(*(_chats(member, CHATS) for member in members))
    assert received == [texts] * len(members)


@pytest.mark.both_loops
async def test_members_get_every_event_over_wss(tmp_path: Path, sqlite_url: str) -> None:
    cert, key = _self_signed(tmp_path)
    settings = make_settings(
        tmp_path,
        sqlite_url,
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
        chat_per_second=1000.0,
        chat_burst=1000,
    )
    trust = ssl.create_default_context(cafile=str(cert))
    async with run_live(create_app(settings), settings) as live:
        assert live.ws_url.startswith("wss://127.0.0.1:")
        async with _room(live.base_url, live.ws_url, 8, trust) as (_host, members):
            await _everyone_gets_every_chat(members)


class _Renamed:
    """Where uvicorn's connection was: its attributes moved (as after an upgrade)."""


class _BadFdTransport:
    """The real transport, except that its socket and its ``write`` fail with an OS error."""

    def __init__(self, transport: Any) -> None:
        self._transport = transport

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def get_extra_info(self, name: str, default: object = None) -> object:
        if name == "socket":
            raise OSError(9, "Bad file descriptor")
        return self._transport.get_extra_info(name, default)

    def write(self, data: bytes) -> None:
        raise OSError(9, "Bad file descriptor")


@pytest.mark.both_loops
@pytest.mark.parametrize("breakage", ["renamed", "os_error"])
async def test_a_member_whose_wire_fails_misses_nothing_nor_do_the_other_99(
    tmp_path: Path, sqlite_url: str, breakage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path, sqlite_url, chat_per_second=1000.0, chat_burst=1000)
    wires: list[Wire] = []
    real_of = Wire.of

    def recording_of(send: object) -> Wire | None:
        wire = real_of(send)
        if wire is not None:
            wires.append(wire)
        return wire

    monkeypatch.setattr(Wire, "of", staticmethod(recording_of))
    async with (
        run_live(create_app(settings), settings) as live,
        _room(live.base_url, live.ws_url, 100) as (_host, members),
    ):
        assert len(wires) == 100  # every member on the direct path
        broken = wires[37]
        if breakage == "renamed":
            broken._conn = _Renamed()
        else:  # its socket fails from the next write on
            broken._transport = _BadFdTransport(broken._transport)
            broken._fd = -1
        # Everyone, the broken member included (through the ASGI send), gets all.
        await _everyone_gets_every_chat(members)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["litestar run", "filmnight serve"])
def test_without_uvicorns_private_module_the_server_serves_over_the_asgi_send(
    tmp_path: Path, command: str
) -> None:
    port = free_port()
    database = tmp_path / f"data-{port}" / "filmnight.db"
    database.parent.mkdir(parents=True)
    upgrade(f"sqlite+aiosqlite:///{database}")  # `litestar run` does not migrate
    # A uvicorn without the module: importing it fails, and uvicorn's own "auto" choice
    # (today that very module) is its other websockets protocol.
    blocked = (
        "import sys; sys.modules['uvicorn.protocols.websockets.websockets_sansio_impl'] = None; "
        "import uvicorn.config; uvicorn.config.WS_PROTOCOLS['auto'] = "
        "'uvicorn.protocols.websockets.websockets_impl:WebSocketProtocol'"
    )
    if command == "litestar run":
        start = (
            "from litestar.cli.main import litestar_group; litestar_group(["
            f"'--app', 'server.app:create_app', 'run', '--host', '127.0.0.1', '--port', '{port}'])"
        )
    else:
        start = "from server.cli import main; main(['serve'])"
    launcher = [sys.executable, "-c", f"{blocked}; {start}"]
    fast_chat = {"FILMNIGHT_CHAT_PER_SECOND": "1000", "FILMNIGHT_CHAT_BURST": "1000"}
    with server_process(tmp_path, env=fast_chat, port=port, command=launcher) as server:
        asyncio.run(_one_chat(server.base_url, server.ws_url))
        log = server.log()
    assert log.count('"wire.off"') == 1  # said once, at start-up or at the first socket


async def _one_chat(base_url: str, ws_url: str) -> None:
    async with _room(base_url, ws_url, 2) as (_host, members):
        await _everyone_gets_every_chat(members)
