"""The benchmark's members: ``websockets`` client connections in two builds.

``asyncio``
    websockets' own asyncio client: each connection has a reader task that takes
    frames with ``async for``, as a bot would.
``sansio``
    websockets' sans-I/O ``ClientProtocol`` (the same handshake, framing, masking and
    ping replies) on a plain non-blocking socket that the loop watches: each read
    is one ``recvmsg``, and each text frame is handed to a callback at once, with no
    task, queue or future per frame.

A thousand members live in one driving process, so the time this process takes to
reach a member's frame is not the server's: websockets' parser alone takes about
8 µs a frame on this machine's 2 cores, and the last frames of a 1,000-member event
are read some 10 to 30 ms after they arrived. The sansio build therefore asks the
kernel to stamp each packet as it arrives at the member's socket (``SO_TIMESTAMPNS``,
Linux) and hands that time with every frame: when the event reached the member,
however long this process then took to get to it. The asyncio build has no stamp
and gives only the time it read the frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import sys
from collections.abc import Callable
from typing import Protocol, cast

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

__all__ = ["KINDS", "Member", "connect"]

OnFrame = Callable[[str | bytes, float | None], None]
"""Takes a frame and when it arrived at the member's socket (the kernel's receive
timestamp, seconds on the wall clock), or ``None`` where the build has no such stamp."""


class Member(Protocol):
    """One member's connection."""

    async def send(self, text: str) -> None: ...

    async def recv(self) -> str | bytes:
        """The next frame; only before ``listen``."""
        ...

    def listen(self, on_frame: OnFrame, *, exact: bool = False) -> None:
        """From now on hand every frame to ``on_frame`` as it arrives.

        ``exact``: read one frame per system call, so that each frame's arrival stamp
        is its own (see :class:`SansIOMember`); a build without stamps ignores it.
        """

    async def close(self) -> None: ...


class AsyncioMember:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._reader: asyncio.Task[None] | None = None

    async def send(self, text: str) -> None:
        await self.ws.send(text)

    async def recv(self) -> str | bytes:
        return await self.ws.recv()

    def listen(self, on_frame: OnFrame, *, exact: bool = False) -> None:
        async def read() -> None:
            with contextlib.suppress(websockets.ConnectionClosed):
                async for raw in self.ws:
                    on_frame(raw, None)

        self._reader = asyncio.create_task(read())

    async def close(self) -> None:
        await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)


class SansIOMember:
    """A member on a plain non-blocking socket, read with ``recvmsg``.

    Reading the socket directly (not through a transport) is what gives each read
    the kernel's receive timestamp, where the platform has one: the stamp of the
    last packet the read took. A read that takes an event's frame together with a
    later one (a server's keepalive ping that came in before this process got to
    the socket) would give the event the later packet's time, so in ``exact`` mode
    each read takes one frame: the next frame's header is peeked at, and the read
    asks for that frame's bytes and no more. That is a second system call per
    frame, which the latency runs can afford and the throughput runs leave out.
    The kernel may still merge a later packet into the event's while both wait
    in the socket (TCP's receive coalescing), and then the merged one carries the
    later stamp: rare (about one event in a few hundred here), and it can only
    make a latency longer.
    """

    def __init__(self, protocol: ClientProtocol, sock: socket.socket) -> None:
        self.protocol = protocol
        self.sock = sock
        self.loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = self.loop.create_future()
        self.closed: asyncio.Future[None] = self.loop.create_future()
        self._inbox: asyncio.Queue[str | bytes] = asyncio.Queue()
        self._on_frame: OnFrame = lambda data, _arrived: self._inbox.put_nowait(data)
        self._fragments: list[bytes] = []
        self._fragmented_text = False
        self._unsent = b""
        self._close_when_sent = False
        self._stamped = _stamp_arrivals(sock)
        self._arrived: float | None = None
        self._exact = False
        self._frame_left = 0
        """Bytes of the frame being read that are still in the socket (``exact`` mode)."""

    def start(self) -> None:
        self.loop.add_reader(self.sock.fileno(), self._readable)
        self.protocol.send_request(self.protocol.connect())
        self._flush()

    # the socket

    def _readable(self) -> None:
        try:
            size = self._next_read()
            if not size:
                return  # a frame's header is still on its way
            data, ancillary, _flags, _address = self.sock.recvmsg(size, _ANCILLARY_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._lost(exc)
            return
        if not data:
            self.protocol.receive_eof()
            self._flush()
            self._lost(None)
            return
        if self._frame_left:
            self._frame_left = max(0, self._frame_left - len(data))
        self._arrived = _arrival(ancillary) if self._stamped else None
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

    def _next_read(self) -> int:
        """How many bytes to ask for: all there is, or in ``exact`` mode the rest of
        one frame (0: its header has not all arrived yet)."""
        if not self._exact or not self.opened.done():
            return _RECV_SIZE
        if self._frame_left:
            return self._frame_left
        head = self.sock.recv(_LONGEST_HEADER, socket.MSG_PEEK)
        if not head:
            return _RECV_SIZE  # the end of the stream: the read sees it
        size = frame_size(head)
        if size is None:
            return 0
        self._frame_left = size
        return size

    def _write(self, data: bytes) -> None:
        if self._unsent:
            self._unsent += data
            return
        try:
            sent = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as exc:
            self._lost(exc)
            return
        if sent < len(data):
            self._unsent = data[sent:]
            self.loop.add_writer(self.sock.fileno(), self._writable)

    def _writable(self) -> None:
        try:
            sent = self.sock.send(self._unsent)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._lost(exc)
            return
        self._unsent = self._unsent[sent:]
        if not self._unsent:
            self.loop.remove_writer(self.sock.fileno())
            if self._close_when_sent:
                self._lost(None)

    def _lost(self, exc: Exception | None) -> None:
        if self.sock.fileno() != -1:
            self.loop.remove_reader(self.sock.fileno())
            self.loop.remove_writer(self.sock.fileno())
            self.sock.close()
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    def _frame(self, frame: Frame) -> None:
        data = cast(bytes, frame.data)  # a received frame's payload is bytes
        if frame.opcode is Opcode.TEXT or frame.opcode is Opcode.BINARY:
            if frame.fin:
                self._on_frame(
                    data.decode() if frame.opcode is Opcode.TEXT else data, self._arrived
                )
                return
            self._fragments = [data]
            self._fragmented_text = frame.opcode is Opcode.TEXT
        elif frame.opcode is Opcode.CONT:
            self._fragments.append(data)
            if frame.fin:
                whole = b"".join(self._fragments)
                self._fragments = []
                self._on_frame(whole.decode() if self._fragmented_text else whole, self._arrived)

    def _flush(self) -> None:
        out = self.protocol.data_to_send()
        if not out or self.sock.fileno() == -1:
            return
        if out[-1] == b"":  # the protocol asks for the TCP connection to be closed
            self._write(b"".join(out[:-1]))
            if self._unsent:
                self._close_when_sent = True
            else:
                self._lost(None)
        else:
            self._write(b"".join(out))

    # Member

    async def send(self, text: str) -> None:
        self.protocol.send_text(text.encode())
        self._flush()

    async def recv(self) -> str | bytes:
        return await self._inbox.get()

    def listen(self, on_frame: OnFrame, *, exact: bool = False) -> None:
        self._on_frame = on_frame
        self._exact = exact

    async def close(self) -> None:
        if self.closed.done():
            return
        self.protocol.send_close(1000)
        self._flush()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.closed), 5)
        self._lost(None)


_RECV_SIZE = 1 << 16
_TIMESPEC = struct.Struct("@ll")
_ANCILLARY_SIZE = socket.CMSG_SPACE(_TIMESPEC.size)
_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux's value (asm-generic)
"""Ask the kernel to stamp each received packet; a ``recvmsg`` then carries the stamp
of the last packet it read (``SCM_TIMESTAMPNS``, the same number), on the wall clock."""


_LONGEST_HEADER = 14  # 2 bytes, an 8-byte length, a 4-byte mask


def frame_size(head: bytes) -> int | None:
    """The length in bytes of the WebSocket frame that starts ``head`` (RFC 6455, 5.2),
    or ``None`` while ``head`` does not hold its whole header."""
    if len(head) < 2:
        return None
    masked = 4 if head[1] & 0x80 else 0
    code = head[1] & 0x7F
    if code < 126:
        header, length = 2, code
    elif code == 126:
        header = 4
        if len(head) < header:
            return None
        length = int.from_bytes(head[2:4], "big")
    else:
        header = 10
        if len(head) < header:
            return None
        length = int.from_bytes(head[2:10], "big")
    return header + masked + length


def _stamp_arrivals(sock: socket.socket) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


def _arrival(ancillary: list[tuple[int, int, bytes]]) -> float | None:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            seconds, nanoseconds = _TIMESPEC.unpack_from(data)
            return float(seconds) + float(nanoseconds) / 1e9
    return None


async def _connect_asyncio(url: str) -> Member:
    ws = await websockets.connect(url, max_queue=None, compression=None, open_timeout=60)
    return AsyncioMember(ws)


async def _connect_sansio(url: str) -> Member:
    uri = parse_uri(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        await asyncio.get_running_loop().sock_connect(sock, (uri.host, uri.port))
    except BaseException:
        sock.close()
        raise
    member = SansIOMember(ClientProtocol(uri, max_size=None), sock)
    member.start()
    try:
        await asyncio.wait_for(member.opened, 60)
    except BaseException:
        member._lost(None)
        raise
    return member


KINDS = ("sansio", "asyncio")


async def connect(kind: str, url: str) -> Member:
    """Open a member's connection to ``url`` with the client build ``kind``."""
    if kind == "sansio":
        return await _connect_sansio(url)
    return await _connect_asyncio(url)
