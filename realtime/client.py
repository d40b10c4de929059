"""A Python client for bots (and tests): join by invite, stay connected, resume without loss.

    async with await FilmnightClient.join("http://host/join/CODE", "Robo") as bot:
        async for event in bot.events():
            if isinstance(event, RoundStarted):
                await bot.send(Vote(round_id=event.round_id, film_id=..., choice="yes"))

* Events arrive as typed :mod:`realtime.protocol` objects through :meth:`events`,
  each durable event exactly once and in ``seq`` order, across reconnects.
* The client reconnects by itself (capped exponential back-off with jitter) and
  resumes with ``last_seq``; a ``welcome`` with ``resumed=False`` means "reload
  your state from ``welcome.session``".  A server that restarts closes with 1012
  and names a window to come back in: the first attempt waits a random moment in
  it, so a process's members do not all return at once.  While the restarted
  process is not yet listening (the reconnect is refused), the client keeps trying
  every ``RESTART_RETRY_CAP_S`` at most (for ``RESTART_FAST_ATTEMPTS`` attempts)
  rather than backing off to seconds: the process is expected back any moment.
* :meth:`send` gives each command an ``id`` and awaits its ``ack``; a command in
  flight when the connection drops is sent again with the same ``id``, which the
  server applies at most once.
* The clock offset to server time is estimated from ping/pong in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import httpx
import msgspec
import websockets
from websockets.asyncio.client import ClientConnection

from realtime.clock import ClockOffsetEstimator
from realtime.protocol import (
    Ack,
    ClientMessage,
    ErrorEvent,
    Hello,
    Ping,
    Pong,
    ServerMessage,
    Welcome,
    decode_server,
    encode,
)

__all__ = ["CommandFailed", "FilmnightClient", "Seat", "SeatLost"]

TERMINAL_CLOSE_CODES = {4401, 4403, 4410}
SERVER_RESTART = 1012


RESTART_RETRY_CAP_S = 0.5
"""After a restart's close, a refused reconnect is tried again within this (seconds)."""
RESTART_FAST_ATTEMPTS = 20
"""... for this many attempts (about 10 s); then the usual back-off takes over."""


def reconnect_delay(attempt: int, *, restarting: bool, max_backoff_s: float) -> tuple[float, float]:
    """The range (seconds) to wait before reconnect ``attempt`` (1, 2, ...) after a
    failure: capped exponential back-off, capped lower while a restarting server
    (a 1012 close) is expected back."""
    cap = max_backoff_s
    if restarting and attempt <= RESTART_FAST_ATTEMPTS:
        cap = min(cap, RESTART_RETRY_CAP_S)
    delay = min(cap, 0.1 * 2**attempt)
    return delay / 2, delay


def restart_window(code: int, reason: str) -> tuple[float, float] | None:
    """The window (seconds) a restart's close names to reconnect in (docs/protocol.md:
    close 1012 with ``{"reason": "restart", "retry_ms": [low, high]}``), if any."""
    if code != SERVER_RESTART:
        return None
    try:
        hint = msgspec.json.decode(reason)
        low, high = hint["retry_ms"]
        low, high = float(low), float(high)
    except (msgspec.DecodeError, TypeError, KeyError, ValueError):
        return None
    if not 0 <= low <= high <= 60_000:
        return None
    return low / 1000, high / 1000


class CommandFailed(Exception):
    """The server refused a command: ``code`` is the protocol's stable error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class SeatLost(Exception):
    """The connection closed for good (bad token, session ended, member left)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"closed {code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Seat:
    """What joining returns: where the session is and the member's token."""

    base_url: str
    session_id: str
    member_id: str
    token: str


def _split_invite(invite: str, base_url: str | None) -> tuple[str, str]:
    if "://" in invite:
        parts = urlsplit(invite)
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) < 2 or segments[-2] != "join":
            raise ValueError("an invite URL looks like https://host/join/CODE")
        return f"{parts.scheme}://{parts.netloc}", segments[-1]
    if base_url is None:
        raise ValueError("pass base_url with a bare invite code")
    return base_url.rstrip("/"), invite


class FilmnightClient:
    """One member's live connection to a session."""

    def __init__(
        self,
        seat: Seat,
        *,
        max_backoff_s: float = 10.0,
        ping_interval_s: float = 5.0,
        ack_timeout_s: float = 10.0,
    ) -> None:
        self.seat = seat
        self.last_seq: int | None = None
        self.welcome: Welcome | None = None
        self.clock = ClockOffsetEstimator()
        self._max_backoff_s = max_backoff_s
        self._ping_interval_s = ping_interval_s
        self._ack_timeout_s = ack_timeout_s
        self._events: asyncio.Queue[ServerMessage | SeatLost] = asyncio.Queue()
        self._pending: dict[str, tuple[bytes, asyncio.Future[Ack]]] = {}
        self._ws: ClientConnection | None = None
        self._connected = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._closing = False
        self.reconnects = 0
        self.last_close: tuple[int, str] | None = None
        """The code and reason of the last close the server sent (``None``: none yet)."""

    # ------------------------------------------------------------ joining

    @classmethod
    async def join(
        cls,
        invite: str,
        name: str,
        *,
        bot: bool = True,
        base_url: str | None = None,
        **options: Any,
    ) -> FilmnightClient:
        """Join by invite URL (or code and ``base_url``) and connect."""
        base, code = _split_invite(invite, base_url)
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            response = await http.post(
                f"/api/v1/invites/{code}/join", json={"name": name, "bot": bot}
            )
        if response.status_code != 201:
            body = (
                response.json()
                if response.headers.get("content-type", "").startswith("application/json")
                else {}
            )
            raise CommandFailed(
                body.get("code", f"http_{response.status_code}"), body.get("message", response.text)
            )
        data = response.json()
        client = cls(Seat(base, data["session_id"], data["member_id"], data["token"]), **options)
        await client.connect()
        return client

    async def connect(self) -> None:
        """Start the connection loop and wait for the first welcome."""
        if self._runner is None:
            self._runner = asyncio.create_task(self._run())
        waiter = asyncio.create_task(self._connected.wait())
        done, _ = await asyncio.wait({waiter, self._runner}, return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            waiter.cancel()
            self._runner.result()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._runner
        for _, future in self._pending.values():
            if not future.done():
                future.cancel()

    # ------------------------------------------------------------ using it

    async def events(self) -> AsyncIterator[ServerMessage]:
        """Every event, in order; raises :class:`SeatLost` when the seat is gone."""
        while True:
            item = await self._events.get()
            if isinstance(item, SeatLost):
                raise item
            yield item

    async def next_event(self, *types: type[Any], timeout: float = 10.0) -> Any:
        """The next event of one of ``types`` (others are dropped), within ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            item = await asyncio.wait_for(self._events.get(), max(0.0, deadline - loop.time()))
            if isinstance(item, SeatLost):
                raise item
            if not types or isinstance(item, types):
                return item

    async def send(self, command: ClientMessage) -> Ack:
        """Send a command with an ``id`` and wait for its ack (:class:`CommandFailed` on error)."""
        command_id = getattr(command, "id", None) or uuid.uuid4().hex
        command = msgspec.structs.replace(command, id=command_id)
        frame = encode(command)
        future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = (frame, future)
        try:
            await self._send_frame(frame)
            return await asyncio.wait_for(asyncio.shield(future), self._ack_timeout_s)
        finally:
            self._pending.pop(command_id, None)

    def server_now_ms(self) -> float:
        return self.clock.server_now(time.time() * 1000)

    # ------------------------------------------------------------ the loop

    async def _send_frame(self, frame: bytes) -> None:
        if self._ws is None:
            return  # resent after the reconnect
        with contextlib.suppress(websockets.ConnectionClosed):
            await self._ws.send(frame.decode())

    async def _run(self) -> None:
        attempt = 0
        restarting = False  # since a 1012 close, until a connection opens
        while not self._closing:
            window: tuple[float, float] | None = None
            # Read the seat each time: a caller may point it at another process.
            ws_base = self.seat.base_url.replace("http", "ws", 1)
            url = f"{ws_base}/ws/v1/sessions/{self.seat.session_id}"
            try:
                async with websockets.connect(url, open_timeout=10, max_size=2**22) as ws:
                    await ws.send(
                        encode(Hello(token=self.seat.token, last_seq=self.last_seq)).decode()
                    )
                    self._ws = ws
                    attempt = 0
                    restarting = False
                    pinger = asyncio.create_task(self._ping(ws))
                    try:
                        await self._read(ws)
                    finally:
                        pinger.cancel()
                        self._ws = None
            except websockets.ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else 1006
                reason = closed.rcvd.reason if closed.rcvd else ""
                if closed.rcvd is not None:
                    self.last_close = (code, reason)
                if code in TERMINAL_CLOSE_CODES:
                    self._events.put_nowait(SeatLost(code, reason))
                    self._connected.set()
                    return
                window = restart_window(code, reason)
            except (OSError, TimeoutError, websockets.InvalidHandshake):
                pass  # unreachable or restarting: back off below and try again
            self._connected.clear()
            self.reconnects += 1
            if window is not None:  # the server restarts: come back within its window
                attempt = 0
                restarting = True
                await asyncio.sleep(random.uniform(*window))
                continue
            attempt += 1
            low, high = reconnect_delay(
                attempt, restarting=restarting, max_backoff_s=self._max_backoff_s
            )
            await asyncio.sleep(random.uniform(low, high))

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            try:
                message = decode_server(raw)
            except msgspec.DecodeError:
                continue
            if isinstance(message, Welcome):
                self.welcome = message
                # The position the protocol gives: the snapshot's, or (resumed) the
                # last_seq we sent, which the replay that follows advances.
                self.last_seq = message.seq
                self._connected.set()
                self._events.put_nowait(message)
                for frame, future in list(self._pending.values()):
                    if not future.done():
                        await ws.send(frame.decode())
                continue
            if isinstance(message, Pong):
                self.clock.add_sample(message.t, message.server_time, time.time() * 1000)
                continue
            if isinstance(message, Ack | ErrorEvent) and message.id is not None:
                pending = self._pending.get(message.id)
                if pending is not None and not pending[1].done():
                    if isinstance(message, Ack):
                        pending[1].set_result(message)
                    else:
                        pending[1].set_exception(CommandFailed(message.code, message.message))
                    continue
            seq = getattr(message, "seq", None)
            if isinstance(seq, int) and not isinstance(message, Ack):
                if self.last_seq is not None and seq <= self.last_seq:
                    continue
                self.last_seq = seq
            self._events.put_nowait(message)

    async def _ping(self, ws: ClientConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await ws.send(encode(Ping(t=time.time() * 1000)).decode())
                await asyncio.sleep(self._ping_interval_s)
