"""One WebSocket connection's lifecycle, independent of the web framework.

hello (with a deadline) → authenticate → join the room (buffering) → welcome and
replay → live: commands are rate-limited, decoded and validated in one step, and
handed to the :class:`Gateway` the server supplies; events arrive from the room.

Outgoing frames are written at once while the socket keeps up, and wait in a
bounded backlog while it pushes back, so a slow socket never stalls its room: when
the backlog overflows, or the socket has taken nothing for ``stall_timeout_s``
while data waits for it, that connection alone is let go (:meth:`Connection.let_go`):
its :data:`CloseCode.RESUME` close is attempted once and its socket aborted
:data:`ABORT_AFTER_S` later, and the client reconnects and resumes.  The events a
room hands over together go out in one write.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque
from collections.abc import Awaitable, Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Protocol, runtime_checkable

import msgspec
import structlog

from realtime.framing import EPHEMERAL
from realtime.metrics import FRAMES, WS_CLOSES, WS_CONNECTIONS, WS_SLOW_CONSUMERS
from realtime.protocol import (
    Ack,
    ClientMessage,
    ErrorEvent,
    Hello,
    Ping,
    Pong,
    command_id_of,
    decode_client,
    encode,
)
from realtime.ratelimit import TokenBucket
from realtime.room import Outbound, Room, Rooms

__all__ = [
    "ABORT_AFTER_S",
    "SEAT_LOST",
    "CloseCode",
    "Connection",
    "ConnectionLimits",
    "Connections",
    "Gateway",
    "Member",
    "Rejected",
    "Transport",
    "WelcomePlan",
    "restart_reason",
    "serve_connection",
]

log = structlog.get_logger(__name__)
_conn_ids = itertools.count(1)
SEAT_LOST = frozenset({"session_ended", "not_a_member"})
"""``error`` codes that mean the seat is gone: the error is sent, then the socket is
closed with :data:`CloseCode.GONE` (the server raises them in one place,
``server.sessions.seats``)."""
ABORT_AFTER_S = 1.0
"""How long a let-go connection's close frame may take before its socket is aborted:
the frame waits behind everything the peer has not read, so it may never leave."""


class CloseCode(IntEnum):
    """Close codes the server uses (documented in docs/protocol.md)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    POLICY = 1008
    TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    """A fault of the server's while serving this connection (logged); come back."""
    SERVER_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    """The server can't serve this connection right now (its database is unreachable)."""
    RESUME = 4000
    """Reconnect and resume with ``last_seq`` (slow consumer, or the server is draining)."""
    UNAUTHORIZED = 4401
    FORBIDDEN = 4403
    GONE = 4410
    """The session ended or the member left: do not reconnect."""
    TOO_MANY_CONNECTIONS = 4429


def restart_reason(low_ms: int, high_ms: int) -> str:
    """The reason of a restart's 1012 close: JSON naming the window, in milliseconds,
    in which to reconnect at a uniformly random moment (docs/protocol.md, Close codes),
    so the members of a process do not all come back at once."""
    return msgspec.json.encode({"reason": "restart", "retry_ms": [low_ms, high_ms]}).decode()


class Transport(Protocol):
    """What the lifecycle needs from a socket (Litestar's WebSocket via a small adapter)."""

    async def receive(self) -> str | bytes | None:
        """The next frame, or ``None`` once the client has gone."""
        ...

    def try_send(self, text: str) -> bool:
        """Write one text frame now if that needs no waiting; ``False``: use :meth:`send`.

        A transport without such a shortcut returns ``False`` always.
        """
        ...

    def try_send_all(self, texts: Sequence[str]) -> bool:
        """Write every text as its own frame, all in one write, now if that needs no
        waiting; ``False`` (nothing written): send them one by one."""
        ...

    def send(self, text: str) -> Awaitable[None]:
        """Write one text frame; suspends only while the socket pushes back."""
        ...

    async def close(self, code: int, reason: str = "") -> None: ...

    def buffered(self) -> int:
        """Bytes this process holds for the socket that the peer has not taken yet (the
        transport's write buffer); 0 when the transport cannot tell."""
        ...

    def abort(self) -> None:
        """Drop the socket now, with whatever is buffered for it (no close handshake)."""
        ...


@dataclass(frozen=True, slots=True)
class Member:
    """An authenticated member on a connection."""

    session_id: str
    member_id: str
    seen_seq: int = field(default=0, compare=False)
    """The session's newest ``seq`` when the hello was authenticated: the welcome's
    state is at least that new."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """Authentication failed: close with ``code``."""

    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class WelcomePlan:
    """What to send right after ``hello``: the welcome frame and, when resuming, the replay.

    ``seq`` is the newest event the client has after these frames (the welcome's own
    ``seq`` is the position before the replay).
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

    def queue_of(self, command: ClientMessage) -> object | None:
        """The queue that applies ``command`` strictly in arrival order, if there is one.

        Consecutive commands of one queue are pipelined: the next is read and queued
        (:meth:`submit`) while the ones before it are applied (so a burst shares one
        transaction). Any other command waits until everything before it has been
        applied, then goes to :meth:`handle`.
        """
        ...

    def submit(self, member: Member, command: ClientMessage) -> Awaitable[Ack | ErrorEvent | None]:
        """Queue a command that :meth:`queue_of` names a queue for; the awaitable (a
        future, ideally: it costs no task) gives its answer and never raises."""
        ...

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
    pipelined_commands: int = 16
    """Commands of one connection being applied at once (see :meth:`Gateway.queue_of`)."""
    stall_timeout_s: float = 10.0
    """A socket that takes no byte for this long while data waits for it is let go."""


class Connection:
    """The outgoing half: frames go out at once, and wait in a bounded backlog only while
    the socket pushes back.

    A frame is written *eagerly*: :meth:`send` starts the transport's ``send``
    coroutine in place, and a socket with room in its buffer takes the frame without
    ever suspending, so a fan-out to 1,000 members costs no task switch, no queue
    and no future per frame.  When a send does suspend (the peer reads slowly and
    the transport's buffer is over its high-water mark), that send is finished by a
    flusher task and later frames wait behind it in a backlog of ``queue_size``;
    when the backlog overflows, the connection alone is closed with
    :data:`CloseCode.RESUME`.
    """

    # Slots: a fan-out reads every member's connection once, cold from memory, and a
    # slotted object is one fetch where an instance dict is several.
    __slots__ = (
        "_backlog",
        "_close_task",
        "_end_reason",
        "_flusher",
        "_let_go",
        "_pending",
        "_queue_size",
        "_stall_low",
        "_stall_since",
        "_transport",
        "_try_send",
        "_wake",
        "close_code",
        "closed",
        "id",
        "last_seq",
        "live",
        "member",
        "restart_reason",
    )

    def __init__(self, transport: Transport, member: Member, queue_size: int) -> None:
        self.id = f"c{next(_conn_ids)}"
        self.member = member
        self.last_seq = 0
        self.live = False
        self.closed = False
        self.close_code: int | None = None
        self._transport = transport
        self._try_send = transport.try_send
        self._queue_size = queue_size
        self._backlog: deque[str] | None = None
        """Frames waiting behind a suspended send (``None``: the socket keeps up)."""
        self._end_reason: str | None = None
        """Set by :meth:`end` while frames wait: close once the backlog is out."""
        self._pending: list[Outbound] | None = []
        """What the room handed over before the welcome went out (``None`` once live:
        an empty deque is some 600 bytes a connection would keep for nothing)."""
        self._flusher: asyncio.Task[None] | None = None
        self._close_task: asyncio.Task[None] | None = None
        self._let_go = False
        self._stall_since = 0.0
        """When the buffered bytes were last seen shrinking (0: nothing buffered)."""
        self._stall_low = 0
        """The fewest buffered bytes seen since ``_stall_since``."""
        self.restart_reason: str | None = None
        """Set by :meth:`restart`: read no more commands, close with 1012 and this reason."""
        self._wake: asyncio.Timeout | None = None
        """The command loop's idle timer, which :meth:`restart` fires to stop its wait."""

    @property
    def member_id(self) -> str:
        return self.member.member_id

    @property
    def backlog(self) -> int:
        """Frames waiting for the socket to drain."""
        return len(self._backlog) if self._backlog is not None else 0

    def end(self, reason: str) -> None:
        """Close with :data:`CloseCode.GONE` once the frames already accepted are sent."""
        if self.closed:
            return
        if self._backlog is not None:
            self._end_reason = reason  # the flusher closes after the frames before it
        else:
            self._close_task = asyncio.get_running_loop().create_task(
                self._close(CloseCode.GONE, reason)
            )
        self.closed = True
        self.close_code = CloseCode.GONE

    def drop(self, reason: str) -> None:
        """Delivering to this connection failed: close it with :data:`CloseCode.RESUME`."""
        self.abort(CloseCode.RESUME, reason)

    def deliver(self, batch: Outbound) -> None:
        """Called by the room with the session's events (never blocks); events this
        connection already has (from its replay) are skipped."""
        if self.closed:
            return
        if self._pending is not None:  # not live yet
            self._pending.append(batch)
            return
        if batch.oldest > self.last_seq or not batch.oldest:  # every durable one is new
            if batch.newest:
                self.last_seq = batch.newest
            texts = batch.texts
            # The common case, inlined: one event, a socket that keeps up.
            if len(texts) == 1 and self._backlog is None and self._try_send(texts[0]):
                FRAMES["out"] += 1
                return
            self.send_all(texts)
            return
        fresh = []
        for seq, text in batch.events:
            if seq != EPHEMERAL:
                if seq <= self.last_seq:
                    continue
                self.last_seq = seq
            fresh.append(text)
        self.send_all(fresh)

    def go_live(self, seq: int) -> None:
        """The welcome (at ``seq``) and the replay are sent; release what arrived meanwhile."""
        self.last_seq = seq
        self.live = True
        pending, self._pending = self._pending or [], None
        for batch in pending:
            self.deliver(batch)

    def send_all(self, texts: Sequence[str]) -> None:
        """Send frames in order: in one write while the socket keeps up."""
        if len(texts) == 1:
            self.send(texts[0])
        elif texts and not self.closed:
            if self._backlog is None and self._transport.try_send_all(texts):
                FRAMES["out"] += len(texts)
                return
            for text in texts:
                self.send(text)

    def send(self, text: str) -> None:
        if self.closed:
            return
        backlog = self._backlog
        if backlog is None:
            self._send_now(text)
        elif len(backlog) < self._queue_size:
            backlog.append(text)
        else:
            self.let_go("slow consumer: reconnect and resume")

    def _send_now(self, text: str) -> None:
        if self._try_send(text):
            FRAMES["out"] += 1
            return
        sending = self._transport.send(text).__await__()
        try:
            waiting = sending.send(None)
        except StopIteration:
            FRAMES["out"] += 1
            return
        except Exception:  # the peer is gone; the command loop sees it and ends
            self.closed = True
            return
        self._backlog = deque()
        self._flusher = asyncio.get_running_loop().create_task(self._flush(sending, waiting))

    async def _flush(self, sending: Generator[Any, None, None], waiting: object) -> None:
        """Finish the suspended send, then the backlog; then go back to eager sends."""
        try:
            await _finish(sending, waiting)
            FRAMES["out"] += 1
            while self._backlog:
                await self._transport.send(self._backlog.popleft())
                FRAMES["out"] += 1
            if self._end_reason is not None:
                await self._close(CloseCode.GONE, self._end_reason)
        except asyncio.CancelledError:
            raise
        except Exception:
            self.closed = True
        finally:
            self._backlog = None

    def let_go(self, reason: str) -> None:
        """Give up on a socket that does not take its frames: its :data:`CloseCode.RESUME`
        close is attempted once, and the socket is aborted :data:`ABORT_AFTER_S` later,
        which frees it and everything buffered for it (the close frame waits behind
        that buffer, so it may never leave).  The room's other members are not involved.
        """
        if self._let_go:
            return
        self._let_go = True
        WS_SLOW_CONSUMERS.inc()
        self.abort(CloseCode.RESUME, reason)  # nothing new when it is closing already
        asyncio.get_running_loop().call_later(ABORT_AFTER_S, self._transport.abort)

    def restart(self, reason: str) -> None:
        """The process is going away: take no further command, let the ones in flight be
        applied and answered, then close with :data:`CloseCode.SERVER_RESTART` and
        ``reason`` (the command loop does it; see :func:`serve_connection`)."""
        if self.closed or self.restart_reason is not None:
            return
        self.restart_reason = reason
        wake = self._wake
        if wake is not None and wake.when() is not None:  # waiting for a frame: stop it
            wake.reschedule(asyncio.get_running_loop().time())

    def stalled(self, now: float, timeout: float) -> bool:
        """Has the socket taken no byte for ``timeout`` while bytes wait for it?

        Called by :meth:`Connections.check` a few times per ``timeout``: taking bytes
        shrinks the transport's buffer, so a buffer that has not been smaller than its
        smallest size since ``timeout`` ago means nothing was taken (or less than the
        room added, which the backlog's bound deals with anyway).
        """
        size = self._transport.buffered()
        if not size:
            self._stall_since = 0.0
            return False
        if not self._stall_since or size < self._stall_low:
            self._stall_since = now
            self._stall_low = size
            return False
        return now - self._stall_since >= timeout

    def abort(self, code: int, reason: str) -> None:
        """Close now, dropping what waits in the backlog (non-blocking)."""
        if self.closed:
            return
        self.closed = True
        self.close_code = code
        if self._backlog is not None:
            self._backlog.clear()
        if self._flusher is not None:
            self._flusher.cancel()
        self._close_task = asyncio.get_running_loop().create_task(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        WS_CLOSES.labels(str(code)).inc()
        with contextlib.suppress(Exception):
            await self._transport.close(code, reason)

    async def flush_and_stop(self, timeout: float = 1.0) -> None:
        """Let the backlog go out (bounded), then stop the flusher."""
        if self._flusher is not None:
            if not self._flusher.done():
                with contextlib.suppress(TimeoutError, Exception):
                    await asyncio.wait_for(asyncio.shield(self._flusher), timeout)
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._flusher
        if self._close_task is not None:
            with contextlib.suppress(Exception):
                await self._close_task


async def _finish(coroutine: Generator[Any, None, None], waiting: object) -> None:
    """Drive a coroutine that was started by hand and suspended on ``waiting`` to its end.

    This is what a task does for a coroutine: wait for the future it yielded (a bare
    ``yield`` means "run me again soon"), resume it, repeat.  Its own errors
    propagate; cancelling the caller closes it.
    """
    try:
        while True:
            if isinstance(waiting, asyncio.Future):
                await asyncio.wait((waiting,))
            else:
                await asyncio.sleep(0)
            try:
                waiting = coroutine.send(None)
            except StopIteration:
                return
    except BaseException:
        coroutine.close()
        raise


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


class Connections:
    """This process's open connections, and the check that lets stalled ones go.

    The check visits every connection a few times per ``stall_timeout_s`` (one
    buffer-size read each), so sending a frame costs nothing more.
    """

    def __init__(self, stall_timeout_s: float, *, hellos_at_once: int = 16) -> None:
        self.stall_timeout_s = stall_timeout_s
        self.hello_turns = asyncio.Semaphore(hellos_at_once)
        """Hellos being answered at once (authenticate, welcome, replay): the rest wait
        their turn in arrival order (see :func:`serve_connection`)."""
        self._open: set[Connection] = set()
        self.draining = False
        """The process is stopping: ``/readyz`` answers 503 so no new member is sent here."""
        self.restarting: str | None = None
        """The close reason of a restart under way (new sockets get it at once)."""
        self._all_closed: asyncio.Event | None = None
        """Set when the last connection ends during a restart."""

    def __len__(self) -> int:
        return len(self._open)

    def __iter__(self) -> Iterator[Connection]:
        return iter(list(self._open))

    def add(self, conn: Connection) -> None:
        self._open.add(conn)

    def discard(self, conn: Connection) -> None:
        self._open.discard(conn)
        if not self._open and self._all_closed is not None:
            self._all_closed.set()

    def check(self, now: float) -> int:
        """Let go of every connection stalled at ``now``; how many were."""
        stalled = [c for c in self._open if c.stalled(now, self.stall_timeout_s)]
        for conn in stalled:
            log.info("ws.stalled", conn=conn.id, buffered=conn._transport.buffered())
            conn.let_go("stalled: reconnect and resume")
        return len(stalled)

    async def restart_all(self, reason: str, timeout: float) -> int:
        """Ask every connection to come back later (:meth:`Connection.restart`) and wait
        until they have all ended, at most ``timeout``; sockets still open then are let
        go.  Connections opened from now on are closed the same way at once.  Returns
        how many were still open at the deadline."""
        self.draining = True
        self.restarting = reason
        self._all_closed = asyncio.Event()
        for conn in self:
            conn.restart(reason)
        if self._open:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_closed.wait(), timeout)
        left = list(self._open)
        for conn in left:
            conn.let_go("restart")
        return len(left)

    async def run_stall_check(self) -> None:
        """Check for stalls until cancelled (several looks per timeout, at most 1 s apart)."""
        interval = min(1.0, self.stall_timeout_s / 4)
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval)
            try:
                self.check(loop.time())
            except Exception:  # never let one odd transport stop the check for all
                log.exception("ws.stall_check_failed")


async def serve_connection(
    transport: Transport,
    session_id: str,
    gateway: Gateway,
    rooms: Rooms,
    limits: ConnectionLimits,
    *,
    on_live: Callable[[Connection], Awaitable[None]] | None = None,
    connections: Connections | None = None,
) -> int:
    """Run one accepted connection to its end; returns the close code used."""
    if connections is not None and connections.restarting is not None:
        # Opened while this process drains (before a load balancer noticed): come back.
        await transport.close(CloseCode.SERVER_RESTART, connections.restarting)
        WS_CLOSES.labels(str(int(CloseCode.SERVER_RESTART))).inc()
        return CloseCode.SERVER_RESTART
    hello = await _hello(transport, limits)
    if hello is None:
        await transport.close(CloseCode.UNAUTHORIZED, "a valid hello is required first")
        WS_CLOSES.labels(str(int(CloseCode.UNAUTHORIZED))).inc()
        return CloseCode.UNAUTHORIZED
    turn = _Turn(connections.hello_turns if connections is not None else None)
    try:
        await turn.take()
        if connections is not None and connections.restarting is not None:
            # The restart began while this hello waited: come back, to another process.
            await transport.close(CloseCode.SERVER_RESTART, connections.restarting)
            WS_CLOSES.labels(str(int(CloseCode.SERVER_RESTART))).inc()
            return CloseCode.SERVER_RESTART
        return await _serve_member(
            transport, session_id, hello, gateway, rooms, limits, on_live, connections, turn
        )
    finally:
        turn.give_back()


class _Turn:
    """A hello's turn to be answered (:attr:`Connections.hello_turns`).

    After a restart or a network blip every member of a process says hello at once.
    Answered all together, they would queue for the database's few pooled
    connections, where a wait past the pool's timeout fails the hello (1013) and
    its member comes back later to start over; taking turns in arrival order, each
    hello waits here instead, holding nothing, and is then answered without waiting.
    """

    def __init__(self, turns: asyncio.Semaphore | None) -> None:
        self._turns = turns
        self._held = False

    async def take(self) -> None:
        if self._turns is not None:
            await self._turns.acquire()
            self._held = True

    def give_back(self) -> None:
        """Once the welcome and replay are sent (or the hello failed); twice is harmless."""
        if self._held and self._turns is not None:
            self._held = False
            self._turns.release()


async def _serve_member(
    transport: Transport,
    session_id: str,
    hello: Hello,
    gateway: Gateway,
    rooms: Rooms,
    limits: ConnectionLimits,
    on_live: Callable[[Connection], Awaitable[None]] | None,
    connections: Connections | None,
    turn: _Turn,
) -> int:
    auth = await gateway.authenticate(session_id, hello.token)
    if isinstance(auth, Rejected):
        await transport.close(auth.code, auth.reason)
        WS_CLOSES.labels(str(auth.code)).inc()
        return auth.code

    member = auth
    conn = Connection(transport, member, limits.send_queue)
    room = rooms.join(session_id, conn)
    WS_CONNECTIONS.inc()
    if connections is not None:
        connections.add(conn)
        if connections.restarting is not None:  # the restart began during the hello
            conn.restart(connections.restarting)
    try:
        try:
            await _welcome(conn, room, gateway, hello.last_seq)
            turn.give_back()
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
            # The answers of the commands in flight went out first (the loop settles them).
            await conn._close(code, conn.restart_reason or "")
            return code
        return conn.close_code
    finally:
        # Watched until the very end: a close that waits behind a full buffer is let go.
        if connections is not None:
            connections.discard(conn)


async def _welcome(conn: Connection, room: Room, gateway: Gateway, last_seq: int | None) -> None:
    """Send the welcome and the replay, then go live. A function of its own so that the
    welcome's text (the whole room's state) is not held for the connection's life."""
    plan = await gateway.welcome(conn.member, last_seq)
    conn.send(plan.welcome)
    for _seq, text in plan.replay:
        conn.send(text)
    room.baseline(plan.seq)
    conn.go_live(plan.seq)


async def _command_loop(
    transport: Transport, conn: Connection, gateway: Gateway, limits: ConnectionLimits
) -> int:
    pipeline = _Pipeline(conn)
    try:
        return await _read_commands(transport, conn, gateway, limits, pipeline)
    finally:
        await pipeline.settle()


class _Pipeline:
    """A connection's commands in flight, answered in order as each is applied."""

    __slots__ = ("conn", "queue", "tasks")  # one per connection: no instance dict

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.queue: object | None = None
        self.tasks: list[asyncio.Future[Ack | ErrorEvent | None]] = []
        """At most ``pipelined_commands``; a list, as an empty deque weighs some 600 bytes."""

    def add(self, queue: object, answer: Awaitable[Ack | ErrorEvent | None]) -> None:
        future = asyncio.ensure_future(answer)  # a future stays itself: no task
        future.add_done_callback(self._answer)
        self.tasks.append(future)
        self.queue = queue

    def _answer(self, future: asyncio.Future[Ack | ErrorEvent | None]) -> None:
        with contextlib.suppress(ValueError):
            self.tasks.remove(future)
        if not future.cancelled() and future.exception() is None:
            _reply(self.conn, future.result())

    async def make_room(self, queue: object | None, limit: int) -> bool:
        """Wait until a command of ``queue`` may start: after everything in flight when
        it is of another kind (or of none), else once fewer than ``limit`` are.
        False when an answer meanwhile ended the connection."""
        if queue is None or queue is not self.queue:
            await self.settle()
        while len(self.tasks) >= limit:
            await asyncio.wait(list(self.tasks), return_when=asyncio.FIRST_COMPLETED)
        return not self.conn.closed

    async def settle(self) -> None:
        """Wait until every command in flight has been applied and answered."""
        while self.tasks:
            await asyncio.wait(list(self.tasks))


def _reply(conn: Connection, reply: Ack | ErrorEvent | None) -> None:
    if reply is None:
        return
    conn.send(encode(reply).decode())
    if isinstance(reply, ErrorEvent) and reply.code in SEAT_LOST:
        conn.abort(CloseCode.GONE, reply.code)


async def _read_commands(
    transport: Transport,
    conn: Connection,
    gateway: Gateway,
    limits: ConnectionLimits,
    pipeline: _Pipeline,
) -> int:
    commands = _Commands(conn, gateway, limits, pipeline)
    loop = asyncio.get_running_loop()
    # One timer for the connection's life, re-armed per frame (``wait_for`` would
    # create a task for every frame received).
    # The timer is armed only while waiting for a frame, so :meth:`Connection.restart`
    # may fire it to end that wait without interrupting a command being applied.
    try:
        async with asyncio.timeout(None) as idle:
            conn._wake = idle
            while not conn.closed and conn.restart_reason is None:
                idle.reschedule(loop.time() + limits.idle_timeout_s)
                frame = await transport.receive()
                idle.reschedule(None)
                if frame is None:
                    return CloseCode.NORMAL
                await commands.take(frame)
    except TimeoutError:
        if not idle.expired():
            raise
        if conn.restart_reason is None:
            conn.abort(CloseCode.GOING_AWAY, "idle")
    finally:
        conn._wake = None
    if conn.restart_reason is not None and conn.close_code is None:
        return CloseCode.SERVER_RESTART
    return conn.close_code or CloseCode.NORMAL


class _Commands:
    """Turns a connection's frames into commands: limits, decoding, then the gateway."""

    __slots__ = ("bad_frames", "bucket", "conn", "gateway", "limits", "pipeline", "refused")

    def __init__(
        self, conn: Connection, gateway: Gateway, limits: ConnectionLimits, pipeline: _Pipeline
    ) -> None:
        self.conn = conn
        self.gateway = gateway
        self.limits = limits
        self.pipeline = pipeline
        self.bucket = TokenBucket(limits.commands_per_second, limits.command_burst)
        self.bad_frames = 0
        self.refused = 0

    async def take(self, frame: str | bytes) -> None:
        """Answer or apply one frame; a limit it breaks may close the connection."""
        conn, limits = self.conn, self.limits
        FRAMES["in"] += 1
        if len(frame) > limits.max_frame_bytes:
            conn.abort(CloseCode.TOO_BIG, "frame too large")
            return
        wait = self.bucket.take(time.monotonic())
        if wait:
            self.refused += 1
            if self.refused > limits.command_burst:
                conn.abort(CloseCode.POLICY, "command flood")
                return
            retry_ms = int(wait * 1000) + 1
            conn.send(
                _error(
                    "rate_limited", "Too many commands; slow down.", command_id_of(frame), retry_ms
                )
            )
            return
        self.refused = 0
        message = self._decode(frame)
        if message is None:
            return
        if isinstance(message, Ping):
            conn.send(encode(Pong(t=message.t, server_time=_now_ms())).decode())
            return
        if isinstance(message, Hello):
            conn.send(_error("already_authenticated", "hello is only valid as the first frame."))
            return
        queue = self.gateway.queue_of(message)
        if not await self.pipeline.make_room(queue, limits.pipelined_commands):
            return  # an answer in flight ended the seat
        if queue is not None:
            self.pipeline.add(queue, self.gateway.submit(conn.member, message))
            return
        _reply(conn, await self.gateway.handle(conn.member, message))

    def _decode(self, frame: str | bytes) -> ClientMessage | None:
        if isinstance(frame, bytes):
            problem = "Frames must be JSON text, not binary."
        else:
            try:
                return decode_client(frame)
            except msgspec.DecodeError as exc:
                problem = f"Malformed message: {exc}"[:300]
        self.bad_frames += 1
        if self.bad_frames >= self.limits.bad_frames_before_close:
            self.conn.abort(CloseCode.POLICY, "too many malformed frames")
        else:
            self.conn.send(_error("bad_message", problem, command_id_of(frame)))
        return None
