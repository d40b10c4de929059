"""The WebSocket route ``/ws/v1/sessions/{session_id}``: Origin guard, then the lifecycle.

Litestar checks no ``Origin`` on upgrades, so a page on another site could open a
socket with the victim's cookies (cross-site WebSocket hijacking): we refuse any
browser origin that is neither this server's own nor in ``allowed_origins``.
Clients that send no ``Origin`` (bots) authenticate with their token like anyone.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import WebSocket, websocket
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath

from realtime.connection import CloseCode, ConnectionLimits, Gateway, serve_connection
from realtime.room import Rooms

__all__ = ["origin_allowed", "session_socket"]


def origin_allowed(origin: str | None, host: str | None, allowed: list[str]) -> bool:
    """Same-origin (Origin's host:port equals the Host header) or an exact allow-list match."""
    if origin is None:
        return True
    if origin in allowed:
        return True
    parts = urlsplit(origin)
    return bool(host) and parts.scheme in {"http", "https"} and parts.netloc == host


class _SocketTransport:
    """Adapts Litestar's WebSocket to ``realtime.connection.Transport``."""

    def __init__(self, socket: WebSocket[Any, Any, Any]) -> None:
        self._socket = socket

    async def receive(self) -> str | bytes | None:
        try:
            message = await self._socket.receive()
        except WebSocketDisconnect:
            return None
        if message["type"] != "websocket.receive":
            return None
        text = message.get("text")
        return text if text is not None else message.get("bytes") or b""

    async def send(self, text: str) -> None:
        await self._socket.send_data(text, mode="text")

    async def close(self, code: int, reason: str = "") -> None:
        if self._socket.connection_state != "disconnect":
            await self._socket.close(code=code, reason=reason)


@websocket("/ws/v1/sessions/{session_id:str}", name="session_socket")
async def session_socket(
    socket: WebSocket[Any, Any, Any],
    session_id: FromPath[str],
    gateway: NamedDependency[Gateway],
    rooms: NamedDependency[Rooms],
    connection_limits: NamedDependency[ConnectionLimits],
    allowed_origins: NamedDependency[list[str]],
) -> None:
    if not origin_allowed(
        socket.headers.get("origin"), socket.headers.get("host"), allowed_origins
    ):
        await socket.receive()  # the connect event; closing now refuses the handshake (HTTP 403)
        await socket.close(code=CloseCode.FORBIDDEN, reason="origin not allowed")
        return
    await socket.accept()
    await serve_connection(_SocketTransport(socket), session_id, gateway, rooms, connection_limits)
