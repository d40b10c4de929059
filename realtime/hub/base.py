"""The hub interface: publish bytes on a channel, deliver them to every listener of it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable

import structlog

from realtime.metrics import FANOUT_SECONDS

__all__ = ["Hub", "HubUnavailable", "Listener", "LocalListeners", "LocalScope"]

log = structlog.get_logger(__name__)

Listener = Callable[[Sequence[bytes]], None]
"""Called on the event loop with the exact bytes of one publish (one payload, or the
payloads of one ``publish_many`` in order); must not block."""

Batches = Sequence[tuple[str, Sequence[bytes]]]
"""``(channel, payloads)`` pairs, as ``publish_all`` takes them."""

LocalScope = Callable[[], AbstractContextManager[object]]
"""Entered around each delivery to this process's listeners (the server's is a
write pass: their socket writes are made together when it ends)."""


class HubUnavailable(ConnectionError):
    """The hub could not reach its backend; local listeners were still served."""


@runtime_checkable
class Hub(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, channel: str, payload: bytes) -> None: ...

    async def publish_many(self, channel: str, payloads: Sequence[bytes]) -> None:
        """Publish ``payloads`` in order as one delivery: every listener gets them in one call."""
        ...

    async def publish_all(self, batches: Batches) -> None:
        """``publish_many`` for several channels: this process's listeners get them all
        inside one local scope, then the other processes get them."""
        ...

    def subscribe(self, channel: str, listener: Listener) -> Callable[[], None]: ...

    def on_resync(self, callback: Callable[[], Awaitable[None]]) -> None: ...

    async def healthy(self) -> bool: ...


class LocalListeners:
    """This process's listeners per channel; a listener that raises does not stop the others."""

    def __init__(self, scope: LocalScope | None = None) -> None:
        self._by_channel: dict[str, list[Listener]] = {}
        self._scope: LocalScope = scope or contextlib.nullcontext

    def __contains__(self, channel: str) -> bool:
        return bool(self._by_channel.get(channel))

    def channels(self) -> list[str]:
        return [channel for channel, listeners in self._by_channel.items() if listeners]

    def add(self, channel: str, listener: Listener) -> bool:
        """Add; True when it is the channel's first listener."""
        listeners = self._by_channel.setdefault(channel, [])
        listeners.append(listener)
        return len(listeners) == 1

    def remove(self, channel: str, listener: Listener) -> bool:
        """Remove; True when the channel has no listener left."""
        listeners = self._by_channel.get(channel)
        if not listeners or listener not in listeners:
            return False
        listeners.remove(listener)
        if not listeners:
            del self._by_channel[channel]
            return True
        return False

    def deliver(self, channel: str, payloads: Sequence[bytes]) -> None:
        self.deliver_all(((channel, payloads),))

    def deliver_all(self, batches: Batches) -> None:
        """Hand each batch to its channel's listeners, all inside one scope; the time it
        takes (the sockets written) is the fan-out time."""
        if not batches:
            return
        start = time.perf_counter()
        delivered = False
        with self._scope():
            for channel, payloads in batches:
                for listener in list(self._by_channel.get(channel, ())):
                    delivered = True
                    try:
                        listener(payloads)
                    except Exception:
                        log.exception("hub.listener_failed")
        if delivered:
            FANOUT_SECONDS.observe(time.perf_counter() - start)

    def clear(self) -> None:
        self._by_channel.clear()
