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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State

__all__ = ["Wire", "frame_of", "frames_of"]


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


class Wire:
    """One socket's direct frame writer (see the module docstring)."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol

    @classmethod
    def of(cls, send: object) -> Wire | None:
        """The writer behind an ASGI ``send``, if it is uvicorn's websockets-sansio one."""
        owner = getattr(send, "__self__", None)
        if not isinstance(owner, WebSocketsSansIOProtocol) or owner.conn.extensions:
            return None
        return cls(owner)

    def write(self, text: str) -> bool:
        """Write ``text`` as one frame now; ``False`` when the ASGI path must take it."""
        protocol = self._protocol  # the checks of _open, inlined: this runs per member
        if (
            protocol.close_sent
            or protocol.disconnected
            or not protocol.handshake_complete
            or protocol.initial_response is not None
            or not protocol.writable.is_set()
            or protocol.conn.state is not State.OPEN
            or protocol.transport.is_closing()
        ):
            return False
        protocol.transport.write(frame_of(text))
        return True

    def write_all(self, texts: Sequence[str]) -> bool:
        """Write each text as its own frame, in one write; ``False``: nothing written."""
        if not self._open():
            return False
        self._protocol.transport.write(frames_of(texts))
        return True

    def _open(self) -> bool:
        protocol = self._protocol
        return not (
            protocol.close_sent
            or protocol.disconnected
            or not protocol.handshake_complete
            or protocol.initial_response is not None
            or not protocol.writable.is_set()
            or protocol.conn.state is not State.OPEN
            or protocol.transport.is_closing()
        )
