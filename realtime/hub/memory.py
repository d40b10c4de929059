"""The in-memory hub: one process, no backend (the embedded default)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from realtime.hub.base import Batches, Listener, LocalListeners, LocalScope

__all__ = ["MemoryHub"]


class MemoryHub:
    """Publish delivers to this process's listeners, synchronously and in order."""

    def __init__(self, *, local_scope: LocalScope | None = None) -> None:
        self._listeners = LocalListeners(local_scope)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._listeners.clear()

    async def publish(self, channel: str, payload: bytes) -> None:
        self._listeners.deliver(channel, (payload,))

    async def publish_many(self, channel: str, payloads: Sequence[bytes]) -> None:
        await self.publish_all(((channel, payloads),))

    async def publish_all(self, batches: Batches) -> None:
        self._listeners.deliver_all([(channel, p) for channel, p in batches if p])

    def subscribe(self, channel: str, listener: Listener) -> Callable[[], None]:
        self._listeners.add(channel, listener)

        def unsubscribe() -> None:
            self._listeners.remove(channel, listener)

        return unsubscribe

    def on_resync(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Nothing is ever missed in one process."""

    async def healthy(self) -> bool:
        return True
