"""A small raw WebSocket client for protocol tests (the bot SDK is tested separately)."""

from __future__ import annotations

import asyncio
import json
from ssl import SSLContext
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

__all__ = ["RawMember", "connect_member"]


class RawMember:
    """One connection, speaking JSON frames; ``frames`` keeps everything received."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self.unread: list[dict[str, Any]] = []
        """Frames ``recv_type`` skipped, for ``next_type`` to find later."""

    async def send(self, message: dict[str, Any] | str | bytes) -> None:
        await self.ws.send(json.dumps(message) if isinstance(message, dict) else message)

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        frame: dict[str, Any] = json.loads(raw)
        self.frames.append(frame)
        return frame

    async def recv_type(self, *types: str, timeout: float = 5.0) -> dict[str, Any]:
        """The next frame of one of ``types``, skipping others (kept in ``frames``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.recv(max(0.01, deadline - loop.time()))
            if frame["type"] in types:
                return frame
            self.unread.append(frame)

    async def next_type(self, *types: str, timeout: float = 5.0) -> dict[str, Any]:
        """Like ``recv_type``, but first takes a frame an earlier ``recv_type`` skipped."""
        for index, frame in enumerate(self.unread):
            if frame["type"] in types:
                del self.unread[: index + 1]
                return frame
        self.unread.clear()
        return await self.recv_type(*types, timeout=timeout)

    async def quiet(self, duration: float = 0.3) -> list[dict[str, Any]]:
        """Everything that arrives within ``duration``."""
        got = []
        try:
            while True:
                got.append(await self.recv(duration))
        except TimeoutError:
            return got

    async def close_code(self, timeout: float = 5.0) -> int | None:
        """Wait for the server to close; return its close code."""
        try:
            while True:
                await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None

    async def close(self) -> None:
        await self.ws.close()


async def connect_member(
    ws_base: str,
    session_id: str,
    token: str | None,
    last_seq: int | None = None,
    *,
    origin: str | None = None,
    hello: bool = True,
    ssl: SSLContext | None = None,
) -> tuple[RawMember, dict[str, Any] | None]:
    """Open the session socket, say hello, return the member and the welcome frame."""
    ws = await websockets.connect(
        f"{ws_base}/ws/v1/sessions/{session_id}",
        ssl=ssl,
        origin=origin,  # type: ignore[arg-type]
        max_size=2**22,
        open_timeout=5,
    )
    member = RawMember(ws)
    if not hello:
        return member, None
    await member.send({"type": "hello", "token": token, "last_seq": last_seq})
    welcome = await member.recv_type("welcome")
    return member, welcome
