"""Fan-out hub: a memory implementation for one process, a Redis one for several."""

from __future__ import annotations

from realtime.hub.base import Hub, HubUnavailable, Listener, LocalScope
from realtime.hub.memory import MemoryHub
from realtime.hub.redis import RedisHub

__all__ = [
    "Hub",
    "HubUnavailable",
    "Listener",
    "LocalScope",
    "MemoryHub",
    "RedisHub",
    "create_hub",
]


def create_hub(redis_url: str | None, *, local_scope: LocalScope | None = None) -> Hub:
    """Redis when a URL is configured, else in memory; ``local_scope`` wraps each
    delivery to this process's listeners."""
    if redis_url:
        return RedisHub(redis_url, local_scope=local_scope)
    return MemoryHub(local_scope=local_scope)
