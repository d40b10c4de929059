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

The path leans on uvicorn's private protocol class, so it is fenced: that module is
imported lazily and inside a guard, only for the uvicorn versions the tests cover
(:data:`UVICORN_TESTED`, pinned the same in ``pyproject.toml``), and a protocol
missing an attribute read here gets no wire; otherwise everything takes the ASGI
``send`` (logged once).  A TLS transport never gets a wire: its frames must go
through the encryption layer, not onto the socket.  And a wire whose write fails
(a renamed attribute, an OS error) turns itself off and leaves that connection to
the ASGI path; a failing transport write at the end of a pass aborts that socket
alone (its client resumes), never the rest of the pass.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import structlog
from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, State
from websockets.server import ServerProtocol
from websockets.streams import StreamReader

__all__ = [
    "THREADED_PASS",
    "UVICORN_TESTED",
    "Wire",
    "frame_of",
    "frames_of",
    "release_handshake",
    "sansio_protocol",
    "write_pass",
]

log = structlog.get_logger(__name__)

UVICORN_TESTED = ((0, 35), (0, 55))
"""uvicorn versions ``[first, end)`` the direct path is tested with: 0.35 introduced the
websockets-sansio protocol; ``pyproject.toml`` pins the same range."""

_SANSIO_MODULE = "uvicorn.protocols.websockets.websockets_sansio_impl"
_PROTOCOL_ATTRIBUTES = (
    "transport",
    "conn",
    "close_sent",
    "disconnected",
    "handshake_complete",
    "initial_response",
    "writable",
)
"""What :class:`Wire` reads on uvicorn's protocol (private: checked per connection)."""


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:2])


@functools.cache
def sansio_protocol() -> type[Any] | None:
    """uvicorn's websockets-sansio protocol class, when the direct path may use it.

    Checked once per process (``filmnight serve`` asks at start-up); ``None``, logged
    once, when the installed uvicorn is outside :data:`UVICORN_TESTED` or the module
    cannot be imported: every frame then takes the ASGI ``send``.
    """
    try:
        import uvicorn

        version = str(getattr(uvicorn, "__version__", ""))
        first, end = UVICORN_TESTED
        if not first <= _version(version) < end:
            log.warning("wire.off", reason="untested uvicorn version", uvicorn=version)
            return None
        module = importlib.import_module(_SANSIO_MODULE)
        protocol: type[Any] = module.WebSocketsSansIOProtocol
    except Exception as exc:  # ImportError, or the class moved: the ASGI path still works
        log.warning("wire.off", reason="uvicorn's protocol is not importable", error=repr(exc))
        return None
    return protocol


class _Off:
    """Stands in for a failed wire's connection: its state is never ``OPEN``, so the
    first check of :meth:`Wire._write` refuses every later frame (no extra check)."""

    __slots__ = ()
    state = None


_OFF = _Off()

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
        try:
            transport.write(data)  # buffered by the transport, or its error handled there
        except Exception as exc:
            # Part of a frame may be on the wire: this socket alone is dropped, its
            # client reconnects and resumes; the pass goes on for everyone else.
            log.warning("wire.flush_failed", error=repr(exc))
            with contextlib.suppress(Exception):
                transport.abort()


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
        """The writer behind an ASGI ``send``, if it is uvicorn's websockets-sansio one
        on a plain (not TLS) socket, with every attribute this class reads."""
        protocol_class = sansio_protocol()
        owner: Any = getattr(send, "__self__", None)
        if protocol_class is None or not isinstance(owner, protocol_class):
            return None
        try:
            if (
                not all(hasattr(owner, name) for name in _PROTOCOL_ATTRIBUTES)
                or owner.conn.extensions
                or owner.transport is None  # not connected (never so once a handler runs)
                or not _plain_socket(owner.transport)
            ):
                return None
            return cls(owner)
        except Exception as exc:  # the private protocol changed shape: use the ASGI path
            log.warning("wire.unusable", error=repr(exc))
            return None

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

        Any error turns this wire off (:meth:`_turn_off`): the frame and every later
        one take the ASGI path, and the room's other members are not affected.
        """
        try:
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
        except Exception as exc:
            self._turn_off(exc)
            return False

    def _turn_off(self, exc: Exception) -> None:
        """Nothing was written (each step above fails before anything is collected,
        and a transport's ``write`` raises before it buffers: socket errors are handled
        inside it): leave this connection to the ASGI path from now on."""
        log.warning("wire.failed", error=repr(exc))
        self._conn = _OFF


def _plain_socket(transport: Any) -> bool:
    """Does ``transport`` write straight to a socket?  Not over TLS (asyncio's and
    uvloop's TLS transports report their ``sslcontext`` and ``ssl_object``, and their
    ``socket`` is the raw one beneath the encryption)."""
    return (
        transport.get_extra_info("sslcontext") is None
        and transport.get_extra_info("ssl_object") is None
        and transport.get_extra_info("socket") is not None
    )


def release_handshake(send: object) -> None:
    """Once the socket is accepted, let go of what uvicorn's websockets-sansio protocol
    keeps of the handshake (the request and the response, with their headers: some
    3 KiB a connection, read by nobody after the accept), the request held by the
    frame parser included, and the scope's list of the request's headers: after the
    accept, ``scope["headers"]`` is empty. Other servers: nothing."""
    protocol_class = sansio_protocol()
    owner: Any = getattr(send, "__self__", None)
    if protocol_class is None or not isinstance(owner, protocol_class):
        return
    if getattr(owner, "handshake_complete", False):
        for name in ("request", "response"):
            if hasattr(owner, name):
                setattr(owner, name, None)
        scope = getattr(owner, "scope", None)
        if isinstance(scope, dict) and isinstance(scope.get("headers"), list):
            # The request's headers as the ASGI scope lists them (the app's scope is
            # the same dict): read before the accept (the Origin check), never after.
            scope["headers"] = []
        with contextlib.suppress(Exception):  # another websockets: the request stays held
            _restart_parser(owner.conn)


def _restart_parser(conn: Any) -> None:
    """Hand ``conn`` (a websockets ``ServerProtocol``) a frame parser that does not hold
    the handshake's request: its own parser keeps the request (with its headers, some
    1.5 KiB) in its frame for the connection's life, then parses frames exactly as
    :meth:`Protocol.parse` does, which is what takes over here. Only between frames
    (the parser waits for the next frame's first byte, nothing read of it), so no
    byte is lost; mid-frame the parser is left as it is."""
    parser = conn.parser
    frames = getattr(parser, "gi_yieldfrom", None)
    waiting = getattr(frames, "gi_yieldfrom", None)
    if (
        conn.state is not State.OPEN
        or conn.reader.buffer
        or getattr(parser, "gi_code", None) is not ServerProtocol.parse.__code__
        or getattr(frames, "gi_code", None) is not Protocol.parse.__code__
        or getattr(waiting, "gi_code", None) is not StreamReader.at_eof.__code__
    ):
        return
    fresh = Protocol.parse(conn)
    next(fresh)  # to the same wait: the next frame's first byte
    conn.parser = fresh
    parser.close()
