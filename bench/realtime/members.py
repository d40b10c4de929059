"""The benchmark's members: ``websockets`` client connections in two builds.

``asyncio``
    websockets' own asyncio client: each connection has a reader task that takes
    frames with ``async for``, as a bot would.
``sansio``
    websockets' sans-I/O ``ClientProtocol`` (the same handshake, framing, masking and
    ping replies) driven from a plain asyncio protocol: each text frame is handed to
    a callback inside ``data_received``, with no task, queue or future per frame.

A thousand members live in one driving process, so the cost per received frame in
that process is part of every fan-out latency measured. The sans-I/O build costs a
few microseconds per frame where the asyncio one costs tens, so the latency it
measures is mostly the server's; ``--client`` picks the build.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Protocol, cast

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

__all__ = ["KINDS", "Member", "connect"]

OnFrame = Callable[[str | bytes], None]


class Member(Protocol):
    """One member's connection."""

    async def send(self, text: str) -> None: ...

    async def recv(self) -> str | bytes:
        """The next frame; only before ``listen``."""
        ...

    def listen(self, on_frame: OnFrame) -> None:
        """From now on hand every frame to ``on_frame`` as it arrives."""

    async def close(self) -> None: ...


class AsyncioMember:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._reader: asyncio.Task[None] | None = None

    async def send(self, text: str) -> None:
        await self.ws.send(text)

    async def recv(self) -> str | bytes:
        return await self.ws.recv()

    def listen(self, on_frame: OnFrame) -> None:
        async def read() -> None:
            with contextlib.suppress(websockets.ConnectionClosed):
                async for raw in self.ws:
                    on_frame(raw)

        self._reader = asyncio.create_task(read())

    async def close(self) -> None:
        await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)


class SansIOMember(asyncio.Protocol):
    def __init__(self, protocol: ClientProtocol) -> None:
        self.protocol = protocol
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inbox: asyncio.Queue[str | bytes] = asyncio.Queue()
        self._on_frame: OnFrame = self._inbox.put_nowait
        self._fragments: list[bytes] = []
        self._fragmented_text = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses; they have its methods
        self.transport = cast(asyncio.Transport, transport)
        self.protocol.send_request(self.protocol.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Frame):
                self._frame(event)
            elif isinstance(event, Response) and not self.opened.done():
                if self.protocol.handshake_exc is not None:
                    self.opened.set_exception(self.protocol.handshake_exc)
                else:
                    self.opened.set_result(None)
        self._flush()  # pongs, the close handshake

    def eof_received(self) -> bool | None:
        self.protocol.receive_eof()
        self._flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    def _frame(self, frame: Frame) -> None:
        data = cast(bytes, frame.data)  # a received frame's payload is bytes
        if frame.opcode is Opcode.TEXT or frame.opcode is Opcode.BINARY:
            if frame.fin:
                self._on_frame(data.decode() if frame.opcode is Opcode.TEXT else data)
                return
            self._fragments = [data]
            self._fragmented_text = frame.opcode is Opcode.TEXT
        elif frame.opcode is Opcode.CONT:
            self._fragments.append(data)
            if frame.fin:
                whole = b"".join(self._fragments)
                self._fragments = []
                self._on_frame(whole.decode() if self._fragmented_text else whole)

    def _flush(self) -> None:
        assert self.transport is not None
        out = self.protocol.data_to_send()
        if out and not self.transport.is_closing():
            if out[-1] == b"":  # the protocol asks for the TCP connection to be closed
                self.transport.writelines(out[:-1])
                self.transport.close()
            else:
                self.transport.writelines(out)

    # Member

    async def send(self, text: str) -> None:
        self.protocol.send_text(text.encode())
        self._flush()

    async def recv(self) -> str | bytes:
        return await self._inbox.get()

    def listen(self, on_frame: OnFrame) -> None:
        self._on_frame = on_frame

    async def close(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.protocol.send_close(1000)
        self._flush()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.closed), 5)
        self.transport.close()


async def _connect_asyncio(url: str) -> Member:
    ws = await websockets.connect(url, max_queue=None, compression=None, open_timeout=60)
    return AsyncioMember(ws)


async def _connect_sansio(url: str) -> Member:
    uri = parse_uri(url)
    loop = asyncio.get_running_loop()
    _transport, member = await loop.create_connection(
        lambda: SansIOMember(ClientProtocol(uri, max_size=None)), uri.host, uri.port
    )
    await asyncio.wait_for(member.opened, 60)
    return member


KINDS = ("sansio", "asyncio")


async def connect(kind: str, url: str) -> Member:
    """Open a member's connection to ``url`` with the client build ``kind``."""
    if kind == "sansio":
        return await _connect_sansio(url)
    return await _connect_asyncio(url)
