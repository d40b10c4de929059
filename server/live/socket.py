"""The WebSocket route ``/ws/v1/sessions/{session_id}``: Origin guard, then the lifecycle.

Litestar checks no ``Origin`` on upgrades, so a page on another site could open a
socket with the victim's cookies (cross-site WebSocket hijacking): we refuse any
browser origin that is neither this server's own nor in ``allowed_origins``.
Clients that send no ``Origin`` (bots) authenticate with their token like anyone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Sequence
from typing import Any, cast
from urllib.parse import urlsplit

import structlog
from litestar import WebSocket, websocket
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath
from litestar.types import ASGIApp, Receive, Scope, Send

from realtime.connection import (
    CloseCode,
    ConnectionLimits,
    Connections,
    Gateway,
    serve_connection,
)
from realtime.room import Rooms
from server.db.engine import UNREACHABLE
from server.live.wire import Wire, release_handshake, sansio_protocol

__all__ = ["DIRECT_SEND", "origin_allowed", "session_socket", "with_direct_send"]

log = structlog.get_logger(__name__)


def origin_allowed(origin: str | None, host: str | None, allowed: list[str]) -> bool:
    """Same-origin (Origin's host:port equals the Host header) or an exact allow-list match."""
    if origin is None:
        return True
    if origin in allowed:
        return True
    parts = urlsplit(origin)
    return bool(host) and parts.scheme in {"http", "https"} and parts.netloc == host


DIRECT_SEND = "filmnight.direct_send"
"""Scope key of the server's own ASGI ``send`` (see :func:`with_direct_send`)."""


def with_direct_send(app: ASGIApp) -> ASGIApp:
    """Wrap the application so WebSocket handlers can reach the server's ``send``.

    Every frame a fan-out writes would otherwise pass through a coroutine per
    middleware layer (Litestar's disconnect guard, its exception middleware) that
    only ever acts on HTTP responses or on the handshake. The wrapper sits outside
    them all and puts the server's own ``send`` into the WebSocket scope, and
    :class:`_SocketTransport` writes text frames with it. The handshake and the
    close still go through Litestar. Without the wrapper (Litestar's test client,
    ``litestar run``) frames take Litestar's path and nothing else changes.

    Whether uvicorn's protocol may be written to directly is decided here, at
    start-up (:func:`server.live.wire.sansio_protocol` logs once when it may not).
    """
    sansio_protocol()

    async def direct(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.WEBSOCKET:
            cast("dict[str, Any]", scope)[DIRECT_SEND] = send
        await app(scope, receive, send)

    return direct


class _SocketTransport:
    """Adapts Litestar's WebSocket to ``realtime.connection.Transport``."""

    def __init__(self, socket: WebSocket[Any, Any, Any]) -> None:
        self._socket = socket
        scope = cast("dict[str, Any]", socket.scope)
        self._send: Send = scope.get(DIRECT_SEND) or socket.send
        self._wire = Wire.of(self._send)
        if self._wire is not None:  # one call less per frame of a fan-out
            self.try_send = self._wire.write  # type: ignore[method-assign]
        # The server's socket transport (asyncio's or uvloop's, plain or TLS), for the
        # stall check and the abort; absent under a server that does not expose it.
        raw = getattr(getattr(scope.get(DIRECT_SEND), "__self__", None), "transport", None)
        usable = all(hasattr(raw, name) for name in ("get_write_buffer_size", "abort"))
        self._raw: Any = raw if usable else None

    async def receive(self) -> str | bytes | None:
        try:
            message = await self._socket.receive()
        except WebSocketDisconnect:
            return None
        if message["type"] != "websocket.receive":
            return None
        text = message.get("text")
        return text if text is not None else message.get("bytes") or b""

    def try_send(self, text: str) -> bool:
        return self._wire is not None and self._wire.write(text)

    def try_send_all(self, texts: Sequence[str]) -> bool:
        return self._wire is not None and self._wire.write_all(texts)

    def send(self, text: str) -> Awaitable[None]:
        # The ASGI event itself (``send_data`` would add a layer per frame; the socket
        # is accepted before the lifecycle starts).
        return self._send({"type": "websocket.send", "bytes": None, "text": text})

    async def close(self, code: int, reason: str = "") -> None:
        if self._socket.connection_state != "disconnect":
            await self._socket.close(code=code, reason=reason)

    def buffered(self) -> int:
        raw = self._raw
        if raw is None or raw.is_closing():
            return 0
        return int(raw.get_write_buffer_size())

    def abort(self) -> None:
        if self._raw is not None:
            self._raw.abort()  # no-op on a transport that is closed already


def _header(scope: Any, name: bytes) -> str | None:
    """A request header's value, read off the scope (Litestar's ``headers`` would build,
    and keep for the connection's life, a mapping of them all)."""
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


@websocket("/ws/v1/sessions/{session_id:str}", name="session_socket")
async def session_socket(
    socket: WebSocket[Any, Any, Any],
    session_id: FromPath[str],
    gateway: NamedDependency[Gateway],
    rooms: NamedDependency[Rooms],
    connection_limits: NamedDependency[ConnectionLimits],
    allowed_origins: NamedDependency[list[str]],
    connections: NamedDependency[Connections],
) -> None:
    if not origin_allowed(
        _header(socket.scope, b"origin"), _header(socket.scope, b"host"), allowed_origins
    ):
        await socket.receive()  # the connect event; closing now refuses the handshake (HTTP 403)
        await socket.close(code=CloseCode.FORBIDDEN, reason="origin not allowed")
        return
    await socket.accept()
    release_handshake(cast("dict[str, Any]", socket.scope).get(DIRECT_SEND))
    transport = _SocketTransport(socket)
    try:
        await serve_connection(
            transport, session_id, gateway, rooms, connection_limits, connections=connections
        )
    except UNREACHABLE as exc:  # at hello (authenticate, welcome) or later: come back
        log.warning("ws.database_unreachable", error=type(exc).__name__)
        with contextlib.suppress(Exception):
            await transport.close(CloseCode.TRY_AGAIN_LATER, "try again later")
