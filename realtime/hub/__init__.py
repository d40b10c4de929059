"""Fan-out hub (provisional memory-only version; replaced by the full hub package)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

Listener = Callable[[bytes], None]


@runtime_checkable
class Hub(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def publish(self, channel: str, payload: bytes) -> None: ...
    def subscribe(self, channel: str, listener: Listener) -> Callable[[], None]: ...
    def on_resync(self, callback: Callable[[], Awaitable[None]]) -> None: ...
    async def healthy(self) -> bool: ...


class MemoryHub:
    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = {}

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._listeners.clear()

    async def publish(self, channel: str, payload: bytes) -> None:
        for listener in list(self._listeners.get(channel, [])):
            listener(payload)

    def subscribe(self, channel: str, listener: Listener) -> Callable[[], None]:
        self._listeners.setdefault(channel, []).append(listener)

        def unsubscribe() -> None:
            listeners = self._listeners.get(channel, [])
            if listener in listeners:
                listeners.remove(listener)

        return unsubscribe

    def on_resync(self, callback: Callable[[], Awaitable[None]]) -> None:
        return None

    async def healthy(self) -> bool:
        return True


def create_hub(redis_url: str | None) -> Hub:
    return MemoryHub()
