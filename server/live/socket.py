"""The WebSocket route ``/ws/v1/sessions/{session_id}``: Origin guard, then the lifecycle.

Litestar checks no ``Origin`` on upgrades, so a page on another site could open a
socket with the victim's cookies (cross-site WebSocket hijacking): we refuse any
browser origin that is neither this server's own nor in ``allowed_origins``.
Clients that send no ``Origin`` (bots) authenticate with their token like anyone.

Under ``filmnight serve`` the route is served by :func:`with_direct_sockets`, in
front of Litestar: a socket is held for hours and every frame it receives, and the
hello of every reconnect, would otherwise pass through Litestar's router, its
middleware, its dependency resolution and its ``WebSocket`` wrappers, none of which
acts on this route (its middleware acts on HTTP responses, its dependencies are the
same objects for every connection). Litestar's own handler, :func:`session_socket`,
serves the same route the same way where the wrapper is not used (``litestar run``,
Litestar's test client).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import structlog
from litestar import Litestar, WebSocket, websocket
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

__all__ = [
    "SocketRoute",
    "origin_allowed",
    "serve_socket",
    "session_path",
    "session_socket",
    "with_direct_sockets",
]

log = structlog.get_logger(__name__)


def origin_allowed(origin: str | None, host: str | None, allowed: list[str]) -> bool:
    """Same-origin (Origin's host:port equals the Host header) or an exact allow-list match."""
    if origin is None:
        return True
    if origin in allowed:
        return True
    parts = urlsplit(origin)
    return bool(host) and parts.scheme in {"http", "https"} and parts.netloc == host


@dataclass(frozen=True, slots=True)
class SocketRoute:
    """What every connection of the route is served with (one per process)."""

    gateway: Gateway
    rooms: Rooms
    limits: ConnectionLimits
    allowed_origins: list[str]
    connections: Connections


_SESSION_PATH = re.compile(r"/ws/v1/sessions/([^/]+)/?")


def session_path(path: str) -> str | None:
    """The session id of a path of the route (as Litestar matches it: one segment, a
    trailing slash allowed), else ``None``."""
    match = _SESSION_PATH.fullmatch(path)
    return match.group(1) if match else None


def with_direct_sockets(app: Litestar) -> ASGIApp:
    """Wrap the application so the session route's sockets are served in front of it.

    Every other request (HTTP, the lifespan) goes to Litestar as before. Whether
    uvicorn's protocol may be written to directly (:class:`~server.live.wire.Wire`)
    is decided here, at start-up (:func:`server.live.wire.sansio_protocol` logs once
    when it may not).
    """
    sansio_protocol()

    async def front(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.WEBSOCKET:
            session_id = session_path(scope["path"])
            if session_id is not None:
                route: SocketRoute = app.state.socket_route
                await serve_socket(route, scope, receive, send, session_id)
                return
        await app(scope, receive, send)

    return front


class _SocketTransport:
    """Adapts an accepted ASGI WebSocket to ``realtime.connection.Transport``."""

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self._gone = False
        """A disconnect was received or a close sent: nothing more to receive."""
        self._wire = Wire.of(send)
        if self._wire is not None:  # one call less per frame of a fan-out
            self.try_send = self._wire.write  # type: ignore[method-assign]
        # The server's socket transport (asyncio's or uvloop's, plain or TLS), for the
        # stall check and the abort; absent under a server that does not expose it.
        raw = getattr(getattr(send, "__self__", None), "transport", None)
        usable = all(hasattr(raw, name) for name in ("get_write_buffer_size", "abort"))
        self._raw: Any = raw if usable else None

    async def receive(self) -> str | bytes | None:
        if self._gone:
            return None
        try:
            message = await self._receive()
        except WebSocketDisconnect:  # Litestar's wrapper, once it saw the close
            self._gone = True
            return None
        if message["type"] != "websocket.receive":
            self._gone = True
            return None
        text = message.get("text")
        return text if text is not None else message.get("bytes") or b""

    def try_send(self, text: str) -> bool:
        return self._wire is not None and self._wire.write(text)

    def try_send_all(self, texts: Sequence[str]) -> bool:
        return self._wire is not None and self._wire.write_all(texts)

    def send(self, text: str) -> Awaitable[None]:
        return self._send({"type": "websocket.send", "bytes": None, "text": text})

    async def close(self, code: int, reason: str = "") -> None:
        if self._gone:
            return
        self._gone = True
        # The peer may be gone already, unnoticed (uvicorn: ClientDisconnected, an OSError).
        with contextlib.suppress(OSError, WebSocketDisconnect):
            await self._send({"type": "websocket.close", "code": code, "reason": reason})

    def buffered(self) -> int:
        raw = self._raw
        if raw is None or raw.is_closing():
            return 0
        return int(raw.get_write_buffer_size())

    def abort(self) -> None:
        if self._raw is not None:
            self._raw.abort()  # no-op on a transport that is closed already


def _header(scope: Any, name: bytes) -> str | None:
    """A request header's value, read off the scope (no mapping of them all is built)."""
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def serve_socket(
    route: SocketRoute, scope: Scope, receive: Receive, send: Send, session_id: str
) -> None:
    """One socket of the route, from the handshake to its close (plain ASGI)."""
    if (await receive())["type"] != "websocket.connect":
        return
    if not origin_allowed(
        _header(scope, b"origin"), _header(scope, b"host"), route.allowed_origins
    ):
        # Closing before the accept refuses the handshake (HTTP 403).
        await send(
            {"type": "websocket.close", "code": CloseCode.FORBIDDEN, "reason": "origin not allowed"}
        )
        return
    await send({"type": "websocket.accept", "subprotocol": None, "headers": []})
    release_handshake(send)
    transport = _SocketTransport(receive, send)
    try:
        await serve_connection(
            transport,
            session_id,
            route.gateway,
            route.rooms,
            route.limits,
            connections=route.connections,
        )
    except UNREACHABLE as exc:  # at hello (authenticate, welcome) or later: come back
        log.warning("ws.database_unreachable", error=type(exc).__name__)
        await transport.close(CloseCode.TRY_AGAIN_LATER, "try again later")
    except Exception as exc:  # a fault of ours: this socket closes, the process serves on
        log.error("ws.failed", exc_info=exc)
        await transport.close(CloseCode.INTERNAL_ERROR, "internal error")


@websocket("/ws/v1/sessions/{session_id:str}", name="session_socket")
async def session_socket(
    socket: WebSocket[Any, Any, Any],
    session_id: FromPath[str],
    socket_route: NamedDependency[SocketRoute],
) -> None:
    """The route as Litestar serves it (without :func:`with_direct_sockets`)."""
    await serve_socket(
        socket_route, cast("Scope", socket.scope), socket.receive, socket.send, session_id
    )
