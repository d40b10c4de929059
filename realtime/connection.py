"""One WebSocket connection's lifecycle, independent of the web framework.

hello (with a deadline) → authenticate → join the room (buffering) → welcome and
replay → live: commands are rate-limited, decoded and validated in one step, and
handed to the :class:`Gateway` the server supplies; events arrive from the room.

Outgoing frames go through a bounded queue drained by one writer task, so a slow
socket never stalls its room: when the queue overflows, that connection alone is
closed with :data:`CloseCode.RESUME` and the client reconnects and resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol, runtime_checkable

import msgspec
import structlog

from realtime.framing import EPHEMERAL
from realtime.metrics import WS_CLOSES, WS_CONNECTIONS, WS_FRAMES, WS_SLOW_CONSUMERS
from realtime.protocol import (
    Ack,
    ClientMessage,
    ErrorEvent,
    Hello,
    Ping,
    Pong,
    decode_client,
    encode,
)
from realtime.ratelimit import TokenBucket
from realtime.room import Rooms

__all__ = [
    "CloseCode",
    "Connection",
    "ConnectionLimits",
    "Gateway",
    "Member",
    "Rejected",
    "Transport",
    "WelcomePlan",
    "serve_connection",
]

log = structlog.get_logger(__name__)
_conn_ids = itertools.count(1)
_CLOSE_MARK = "\x00close:"
"""A queue entry that closes the socket after the frames before it (never valid JSON)."""
_STOP = "\x00stop"
"""A queue entry that ends the writer once the frames before it are sent."""


class CloseCode(IntEnum):
    """Close codes the server uses (documented in docs/protocol.md)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    POLICY = 1008
    TOO_BIG = 1009
    SERVER_RESTART = 1012
    RESUME = 4000
    """Reconnect and resume with ``last_seq`` (slow consumer, or the server is draining)."""
    UNAUTHORIZED = 4401
    FORBIDDEN = 4403
    GONE = 4410
    """The session ended or the member left: do not reconnect."""
    TOO_MANY_CONNECTIONS = 4429


class Transport(Protocol):
    """What the lifecycle needs from a socket (Litestar's WebSocket via a small adapter)."""

    async def receive(self) -> str | bytes | None:
        """The next frame, or ``None`` once the client has gone."""
        ...

    async def send(self, text: str) -> None: ...

    async def close(self, code: int, reason: str = "") -> None: ...


@dataclass(frozen=True, slots=True)
class Member:
    """An authenticated member on a connection."""

    session_id: str
    member_id: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """Authentication failed: close with ``code``."""

    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class WelcomePlan:
    """What to send right after ``hello``: the welcome frame and, when resuming, the replay.

    ``seq`` is the newest event the client has after these frames.
    """

    welcome: str
    seq: int
    replay: list[tuple[int, str]] = field(default_factory=list)


@runtime_checkable
class Gateway(Protocol):
    """The server side of a connection (``server/`` implements it)."""

    async def authenticate(self, session_id: str, token: str) -> Member | Rejected: ...

    async def welcome(self, member: Member, last_seq: int | None) -> WelcomePlan: ...

    async def handle(self, member: Member, command: ClientMessage) -> Ack | ErrorEvent | None: ...

    async def connected(self, member: Member, conn_id: str) -> None: ...

    async def disconnected(self, member: Member, conn_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    hello_timeout_s: float = 10.0
    max_frame_bytes: int = 16 * 1024
    commands_per_second: float = 20.0
    command_burst: int = 40
    bad_frames_before_close: int = 20
    send_queue: int = 256
    idle_timeout_s: float = 60.0


class Connection:
    """The outgoing half: a bounded queue and one writer task."""

    def __init__(self, transport: Transport, member: Member, queue_size: int) -> None:
        self.id = f"c{next(_conn_ids)}"
        self.member = member
        self.last_seq = 0
        self.live = False
        self.closed = False
        self._transport = transport
        self._queue: asyncio.Queue[str] = asyncio.Queue(queue_size)
        self._pending: deque[tuple[int, str]] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._close_task: asyncio.Task[None] | None = None
        self.close_code: int | None = None

    @property
    def member_id(self) -> str:
        return self.member.member_id

    def start(self) -> None:
        self._writer = asyncio.get_running_loop().create_task(self._write())

    def end(self, reason: str) -> None:
        """Close with :data:`CloseCode.GONE` once the frames already queued are sent."""
        if self.closed:
            return
        self.send(_CLOSE_MARK + reason)
        self.closed = True
        self.close_code = CloseCode.GONE

    def deliver(self, seq: int, text: str) -> None:
        """Called by the room for every event of the session (never blocks)."""
        if self.closed:
            return
        if not self.live:
            self._pending.append((seq, text))
            return
        if seq != EPHEMERAL:
            if seq <= self.last_seq:
                return
            self.last_seq = seq
        self.send(text)

    def go_live(self, seq: int) -> None:
        """The welcome (at ``seq``) and the replay are queued; release what arrived meanwhile."""
        self.last_seq = seq
        self.live = True
        while self._pending:
            self.deliver(*self._pending.popleft())

    def send(self, text: str) -> None:
        if self.closed:
            return
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            WS_SLOW_CONSUMERS.inc()
            self.abort(CloseCode.RESUME, "slow consumer: reconnect and resume")

    def abort(self, code: int, reason: str) -> None:
        """Close from outside the writer (non-blocking)."""
        if self.closed:
            return
        self.closed = True
        self.close_code = code
        with contextlib.suppress(asyncio.QueueEmpty):
            while True:
                self._queue.get_nowait()
        self._close_task = asyncio.get_running_loop().create_task(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        WS_CLOSES.labels(str(code)).inc()
        with contextlib.suppress(Exception):
            await self._transport.close(code, reason)

    async def _write(self) -> None:
        try:
            while True:
                text = await self._queue.get()
                if text is _STOP:
                    return
                if text.startswith(_CLOSE_MARK):
                    await self._close(CloseCode.GONE, text[len(_CLOSE_MARK) :])
                    return
                await self._transport.send(text)
                WS_FRAMES.labels("out").inc()
        except asyncio.CancelledError:
            raise
        except Exception:
            self.closed = True

    async def flush_and_stop(self, timeout: float = 1.0) -> None:
        """Let queued frames go out (bounded), then stop the writer."""
        if self._writer is None:
            return
        if not self.closed:
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(_STOP)
            with contextlib.suppress(TimeoutError, Exception):
                await asyncio.wait_for(asyncio.shield(self._writer), timeout)
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._writer
        if self._close_task is not None:
            with contextlib.suppress(Exception):
                await self._close_task


def _error(
    code: str, message: str, command_id: str | None = None, retry_after_ms: int | None = None
) -> str:
    return encode(
        ErrorEvent(code=code, message=message, id=command_id, retry_after_ms=retry_after_ms)
    ).decode()


def _now_ms() -> int:
    return int(time.time() * 1000)


async def _hello(transport: Transport, limits: ConnectionLimits) -> Hello | None:
    try:
        frame = await asyncio.wait_for(transport.receive(), timeout=limits.hello_timeout_s)
    except TimeoutError:
        return None
    if frame is None:
        return None
    try:
        message = decode_client(frame)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    return message if isinstance(message, Hello) else None


async def serve_connection(
    transport: Transport,
    session_id: str,
    gateway: Gateway,
    rooms: Rooms,
    limits: ConnectionLimits,
    *,
    on_live: Callable[[Connection], Awaitable[None]] | None = None,
) -> int:
    """Run one accepted connection to its end; returns the close code used."""
    hello = await _hello(transport, limits)
    if hello is None:
        await transport.close(CloseCode.UNAUTHORIZED, "a valid hello is required first")
        WS_CLOSES.labels(str(int(CloseCode.UNAUTHORIZED))).inc()
        return CloseCode.UNAUTHORIZED
    auth = await gateway.authenticate(session_id, hello.token)
    if isinstance(auth, Rejected):
        await transport.close(auth.code, auth.reason)
        WS_CLOSES.labels(str(auth.code)).inc()
        return auth.code

    member = auth
    conn = Connection(transport, member, limits.send_queue)
    room = rooms.join(session_id, conn)
    WS_CONNECTIONS.inc()
    conn.start()
    try:
        plan = await gateway.welcome(member, hello.last_seq)
        conn.send(plan.welcome)
        for _seq, text in plan.replay:
            conn.send(text)
        room.baseline(plan.seq)
        conn.go_live(plan.seq)
        await gateway.connected(member, conn.id)
        if on_live is not None:
            await on_live(conn)
        code = await _command_loop(transport, conn, gateway, limits)
    finally:
        rooms.leave(session_id, conn)
        WS_CONNECTIONS.dec()
        with contextlib.suppress(Exception):
            await gateway.disconnected(member, conn.id)
        await conn.flush_and_stop()
    if conn.close_code is None:
        await conn._close(code, "")
        return code
    return conn.close_code


async def _command_loop(
    transport: Transport, conn: Connection, gateway: Gateway, limits: ConnectionLimits
) -> int:
    bucket = TokenBucket(limits.commands_per_second, limits.command_burst)
    bad_frames = 0
    refused = 0
    while not conn.closed:
        try:
            frame = await asyncio.wait_for(transport.receive(), timeout=limits.idle_timeout_s)
        except TimeoutError:
            conn.abort(CloseCode.GOING_AWAY, "idle")
            break
        if frame is None:
            return CloseCode.NORMAL
        WS_FRAMES.labels("in").inc()
        if len(frame) > limits.max_frame_bytes:
            conn.abort(CloseCode.TOO_BIG, "frame too large")
            break
        wait = bucket.take(time.monotonic())
        if wait:
            refused += 1
            if refused > limits.command_burst:
                conn.abort(CloseCode.POLICY, "command flood")
                break
            conn.send(
                _error("rate_limited", "Too many commands; slow down.", None, int(wait * 1000) + 1)
            )
            continue
        refused = 0
        if isinstance(frame, bytes):
            message: ClientMessage | None = None
            problem = "Frames must be JSON text, not binary."
        else:
            try:
                message = decode_client(frame)
                problem = ""
            except msgspec.DecodeError as exc:
                message, problem = None, f"Malformed message: {exc}"[:300]
        if message is None:
            bad_frames += 1
            if bad_frames >= limits.bad_frames_before_close:
                conn.abort(CloseCode.POLICY, "too many malformed frames")
                break
            conn.send(_error("bad_message", problem))
            continue
        if isinstance(message, Ping):
            conn.send(encode(Pong(t=message.t, server_time=_now_ms())).decode())
            continue
        if isinstance(message, Hello):
            conn.send(_error("already_authenticated", "hello is only valid as the first frame."))
            continue
        reply = await gateway.handle(conn.member, message)
        if reply is not None:
            conn.send(encode(reply).decode())
            if isinstance(reply, ErrorEvent) and reply.code in {"session_ended", "not_a_member"}:
                conn.abort(CloseCode.GONE, reply.code)
                break
    return conn.close_code or CloseCode.NORMAL
