"""Text frames written straight onto the socket, serialized once for every member.

Through ASGI, each ``websocket.send`` under uvicorn's ``websockets-sansio`` protocol
costs a coroutine, a frame object and its serialization, per member: a fan-out to
1,000 members built the same bytes 1,000 times.  Frames from a server are not
masked, so one event's frame is the same bytes for every member: :func:`frame_of`
builds them once (it remembers the last text it was given, and a room hands the
same ``str`` to each of its connections in turn), :func:`frames_of` does the same
for the events a room hands over together, and :class:`Wire` writes them onto the
socket's transport, several frames in one write.

The direct write is taken only while it is exactly what uvicorn's ``send`` would
do: the handshake is done, the connection is open and no close was sent or
received, no extension changes the frame, and the transport is not pushing back.
Otherwise the caller uses the ASGI path, which waits for the socket to drain and
reports a disconnect, as before.

Inside :func:`write_pass` (the hub's delivery of one publish to this process's
rooms), frames for sockets with nothing buffered are collected instead and
written when the pass ends, with the socket's own ``write`` system call; a large
pass is split between the event loop's thread and one writer thread, so the
kernel's part of a fan-out (most of it, on loopback) runs on two cores.  The pass
is synchronous, so no other write reaches those sockets in between; what a socket
does not take at once goes to its transport, in order, which buffers it as usual.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State

__all__ = ["THREADED_PASS", "Wire", "frame_of", "frames_of", "write_pass"]

THREADED_PASS = 256
"""Writes in a pass from which half go to the writer thread (below it, handing
over costs more than it saves)."""


class _LastFrame:
    __slots__ = ("frame", "frames", "text", "texts")

    def __init__(self) -> None:
        self.text: str | None = None
        self.frame = b""
        self.texts: Sequence[str] | None = None
        self.frames = b""


_last = _LastFrame()


def frame_of(text: str) -> bytes:
    """The unmasked WebSocket text frame carrying ``text``."""
    if text is not _last.text:
        _last.frame = Frame(Opcode.TEXT, text.encode()).serialize(mask=False)
        _last.text = text
    return _last.frame


def frames_of(texts: Sequence[str]) -> bytes:
    """The frames of ``texts``, one after the other (remembered for the same object)."""
    if texts is not _last.texts:
        _last.frames = b"".join(
            Frame(Opcode.TEXT, text.encode()).serialize(mask=False) for text in texts
        )
        _last.texts = texts
    return _last.frames


class _Pass:
    """The writes collected since :func:`write_pass` began (``None``: not in a pass)."""

    __slots__ = ("writes",)

    def __init__(self) -> None:
        self.writes: list[tuple[int, bytes, Any]] | None = None


_pass = _Pass()
_writer: ThreadPoolExecutor | None = None


@contextlib.contextmanager
def write_pass() -> Iterator[None]:
    """Collect the direct writes made inside, and make them together at the end."""
    if _pass.writes is not None:  # nested: the outer pass writes everything
        yield
        return
    writes: list[tuple[int, bytes, Any]] = []
    _pass.writes = writes
    try:
        yield
    finally:
        _pass.writes = None
        _flush(writes)


def _flush(writes: list[tuple[int, bytes, Any]]) -> None:
    global _writer
    if len(writes) < THREADED_PASS:
        rest = _write_out(writes)
    else:
        if _writer is None:
            _writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fanout-writer")
        # A socket's writes all go to one side (by its descriptor), so they stay in order.
        theirs = _writer.submit(_write_out, [w for w in writes if w[0] & 1])
        rest = _write_out([w for w in writes if not w[0] & 1])
        rest += theirs.result()
    for transport, data in rest:
        transport.write(data)  # buffered by the transport, or its error handled there


def _write_out(writes: list[tuple[int, bytes, Any]]) -> list[tuple[Any, bytes]]:
    """Write each buffer with one system call (the GIL is released during it); return
    what the sockets did not take, for their transports."""
    rest: list[tuple[Any, bytes]] = []
    behind: set[int] = set()  # sockets with bytes left over: later writes queue behind
    write = os.write
    for fd, data, transport in writes:
        if fd in behind:
            rest.append((transport, data))
            continue
        try:
            sent = write(fd, data)
        except OSError:  # full (EAGAIN) or gone: the transport retries or reports it
            sent = 0
        if sent < len(data):
            rest.append((transport, data[sent:]))
            behind.add(fd)
    return rest


class Wire:
    """One socket's direct frame writer (see the module docstring)."""

    __slots__ = ("_conn", "_fd", "_protocol", "_transport")

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol
        # Both are the protocol's for its whole life; held here, a fan-out's check of
        # a socket reads this object and those two only (see :meth:`_write`).
        self._transport = protocol.transport
        self._conn = protocol.conn
        self._fd = -1

    @classmethod
    def of(cls, send: object) -> Wire | None:
        """The writer behind an ASGI ``send``, if it is uvicorn's websockets-sansio one."""
        owner = getattr(send, "__self__", None)
        if (
            not isinstance(owner, WebSocketsSansIOProtocol)
            or owner.conn.extensions
            or owner.transport is None  # not connected (never so once a handler runs)
        ):
            return None
        return cls(owner)

    def write(self, text: str) -> bool:
        """Write ``text`` as one frame now (or at the end of the pass); ``False`` when
        the ASGI path must take it.

        This runs once per member of a fan-out, so the frame's cache is read here
        and the rest is one call (:meth:`_write`).
        """
        return self._write(_last.frame if text is _last.text else frame_of(text))

    def write_all(self, texts: Sequence[str]) -> bool:
        """Write each text as its own frame, in one write; ``False``: nothing written."""
        return self._write(frames_of(texts))

    def _write(self, data: bytes) -> bool:
        """Collect or write ``data`` when uvicorn's ``send`` would write it at once.

        In a pass, three checks (the state, a closing transport, an empty buffer)
        say as much as uvicorn's flags: its connection is ``OPEN`` only after the
        handshake's 101 went out (so ``handshake_complete``, no ``initial_response``)
        and until a close is sent, received or forced (every path that sets
        ``close_sent`` moves it off ``OPEN``); a closing transport covers
        ``disconnected``; and a transport with nothing buffered is not pushing back
        (uvicorn's ``writable`` is cleared only above the high-water mark).  Reading
        only this object, the connection and the transport matters: a fan-out
        visits each member's objects once, cold, so every further object is a cache
        miss per member.  Otherwise uvicorn's own conditions are checked one by one.
        """
        transport = self._transport
        if self._conn.state is not State.OPEN or transport.is_closing():
            return False
        writes = _pass.writes
        if writes is not None and not transport.get_write_buffer_size():
            fd = self._fd
            if fd < 0:
                fd = self._fd = transport.get_extra_info("socket").fileno()
            writes.append((fd, data, transport))
            return True
        protocol = self._protocol
        if (
            protocol.close_sent
            or protocol.disconnected
            or not protocol.handshake_complete
            or protocol.initial_response is not None
            or not protocol.writable.is_set()
        ):
            return False
        transport.write(data)
        return True
