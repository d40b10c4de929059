"""The Redis hub: our own supervised pub/sub reader (see DESIGN.md, "Fan-out").

* ``publish`` delivers to this process's listeners at once, then sends the bytes,
  prefixed with this hub's origin id, to Redis; every other process's reader hands
  them to its listeners, and a reader drops its own echoes.  The payloads of one
  ``publish_many`` travel as one Redis message (``framing.pack_batch``), so every
  process delivers them together, as the publishing one does.
* One reader task owns one pub/sub connection. When it drops (Redis restarted, a
  network blip) the reader reconnects with capped, jittered exponential back-off,
  resubscribes every channel that still has listeners, and then awaits every
  ``on_resync`` callback so rooms re-read what they missed from the database.
* Publishes are sent in batches (``realtime.redis_batches``): those issued while a
  batch is on the wire go in the next one, in order, on one connection.
* Redis subscriptions follow local interest: a channel is subscribed when its first
  local listener arrives and unsubscribed when its last one leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from realtime.framing import pack_batch, unpack_batch
from realtime.hub.base import Batches, HubUnavailable, Listener, LocalListeners, LocalScope
from realtime.redis_batches import CommandBatches

__all__ = ["RedisHub"]

log = structlog.get_logger(__name__)

_ORIGIN_BYTES = 8
_CONTROL_CHANNEL = "fn:hub:control"
"""Always subscribed, so the connection has a subscription even with no rooms."""


class RedisHub:
    """Fan-out across processes through Redis pub/sub."""

    def __init__(
        self,
        url: str,
        *,
        max_backoff_s: float = 5.0,
        poll_timeout_s: float = 1.0,
        local_scope: LocalScope | None = None,
    ) -> None:
        self._url = url
        self._origin = secrets.token_bytes(_ORIGIN_BYTES)
        self._listeners = LocalListeners(local_scope)
        self._resync: list[Callable[[], Awaitable[None]]] = []
        self._max_backoff_s = max_backoff_s
        self._poll_timeout_s = poll_timeout_s
        self._client: aioredis.Redis | None = None
        self._batches: CommandBatches | None = None
        """Publishes go out in batches, in order, on one connection (every publish of
        a storm at once would exceed the client's pool)."""
        self._pubsub: aioredis.client.PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ops: set[asyncio.Task[None]] = set()
        self.connected = asyncio.Event()
        self.reconnects = 0
        self._was_connected = False

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._reader is not None:
            return
        self._client = aioredis.Redis.from_url(
            self._url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=10
        )
        self._batches = CommandBatches(self._client)
        self._reader = asyncio.create_task(self._supervise(), name="redis-hub-reader")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        for task in list(self._ops):
            task.cancel()
        await asyncio.gather(*self._ops, return_exceptions=True)
        if self._batches is not None:
            await self._batches.close()
            self._batches = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._listeners.clear()

    # ------------------------------------------------------------ the interface

    async def publish(self, channel: str, payload: bytes) -> None:
        await self.publish_many(channel, (payload,))

    async def publish_many(self, channel: str, payloads: Sequence[bytes]) -> None:
        await self.publish_all(((channel, payloads),))

    async def publish_all(self, batches: Batches) -> None:
        batches = [(channel, payloads) for channel, payloads in batches if payloads]
        if not batches:
            return
        self._listeners.deliver_all(batches)
        if self._batches is None:
            raise HubUnavailable("the hub is not started")
        published = [
            self._batches.call("PUBLISH", channel, self._origin + pack_batch(payloads))
            for channel, payloads in batches
        ]
        try:
            await (published[0] if len(published) == 1 else asyncio.gather(*published))
        except (RedisError, OSError) as exc:
            raise HubUnavailable(str(exc)) from None

    def subscribe(self, channel: str, listener: Listener) -> Callable[[], None]:
        if self._listeners.add(channel, listener):
            self._redis_op("subscribe", channel)

        def unsubscribe() -> None:
            if self._listeners.remove(channel, listener):
                self._redis_op("unsubscribe", channel)

        return unsubscribe

    def on_resync(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._resync.append(callback)

    async def healthy(self) -> bool:
        if self._client is None:
            return False
        try:
            return bool(await asyncio.wait_for(self._client.ping(), timeout=1.0))
        except (RedisError, OSError, TimeoutError):
            return False

    # ------------------------------------------------------------ internals

    def _redis_op(self, op: str, channel: str) -> None:
        pubsub = self._pubsub
        if pubsub is None:
            return  # the reader subscribes every wanted channel when it connects

        async def run() -> None:
            with contextlib.suppress(RedisError, OSError):
                await getattr(pubsub, op)(channel)

        task = asyncio.get_running_loop().create_task(run())
        self._ops.add(task)
        task.add_done_callback(self._ops.discard)

    async def _supervise(self) -> None:
        """Read until the connection fails, then back off (full jitter) and reconnect."""
        failures = 0
        while True:
            self._was_connected = False
            try:
                await self._read_until_failure()
            except (RedisError, OSError, TimeoutError):
                failures = 1 if self._was_connected else failures + 1
                ceiling = min(self._max_backoff_s, 0.05 * 2**failures)
                await asyncio.sleep(random.uniform(0, ceiling))

    async def _read_until_failure(self) -> None:
        assert self._client is not None
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(_CONTROL_CHANNEL, *self._listeners.channels())
            self._pubsub = pubsub
            self._was_connected = True
            self.connected.set()
            log.info("hub.connected", reconnects=self.reconnects)
            # redis-py reconnects a pub/sub connection (and resubscribes) by itself inside
            # get_message; this callback is how we learn of it and resync the rooms.
            connection: Any = pubsub.connection  # typed as always set; None before connect
            if connection is not None:
                connection.register_connect_callback(self._on_reconnect)
            await self._run_resync()
            while True:
                message = await pubsub.get_message(timeout=self._poll_timeout_s)
                if message is not None and message["type"] in {"message", "pmessage"}:
                    self._dispatch(message["channel"], message["data"])
        except (RedisError, OSError, TimeoutError):
            if self._was_connected:
                log.warning("hub.disconnected")
                self.reconnects += 1
            raise
        finally:
            self._pubsub = None
            self.connected.clear()
            # Bounded: cancelled mid-connect (a stop right after the start), the pub/sub
            # connection may never finish closing, and the stop would wait for ever.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pubsub.aclose(), 2.0)  # type: ignore[no-untyped-call]

    def _on_reconnect(self, _connection: object) -> None:
        self.reconnects += 1
        log.warning("hub.reconnected", reconnects=self.reconnects)
        task = asyncio.get_running_loop().create_task(self._run_resync())
        self._ops.add(task)
        task.add_done_callback(self._ops.discard)

    def _dispatch(self, channel: bytes | str, data: bytes) -> None:
        if data[:_ORIGIN_BYTES] == self._origin:
            return  # our own publish, already delivered locally
        name = channel.decode() if isinstance(channel, bytes) else channel
        try:
            payloads = unpack_batch(data[_ORIGIN_BYTES:])
        except ValueError:
            payloads = []
        if not payloads:
            log.warning("hub.bad_message", channel=name)
            return
        self._listeners.deliver(name, payloads)

    async def _run_resync(self) -> None:
        for callback in list(self._resync):
            try:
                await callback()
            except Exception:
                log.exception("hub.resync_failed")
