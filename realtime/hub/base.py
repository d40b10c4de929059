"""The hub interface: publish bytes on a channel, deliver them to every listener of it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, runtime_checkable

import structlog

__all__ = ["Hub", "HubUnavailable", "Listener", "LocalListeners"]

log = structlog.get_logger(__name__)

Listener = Callable[[Sequence[bytes]], None]
"""Called on the event loop with the exact bytes of one publish (one payload, or the
payloads of one ``publish_many`` in order); must not block."""


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

    def subscribe(self, channel: str, listener: Listener) -> Callable[[], None]: ...

    def on_resync(self, callback: Callable[[], Awaitable[None]]) -> None: ...

    async def healthy(self) -> bool: ...


class LocalListeners:
    """This process's listeners per channel; a listener that raises does not stop the others."""

    def __init__(self) -> None:
        self._by_channel: dict[str, list[Listener]] = {}

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
        for listener in list(self._by_channel.get(channel, ())):
            try:
                listener(payloads)
            except Exception:
                log.exception("hub.listener_failed")

    def clear(self) -> None:
        self._by_channel.clear()
