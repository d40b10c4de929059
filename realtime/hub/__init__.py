"""Fan-out hub: a memory implementation for one process, a Redis one for several."""

from __future__ import annotations

from realtime.hub.base import Hub, HubUnavailable, Listener
from realtime.hub.memory import MemoryHub
from realtime.hub.redis import RedisHub

__all__ = ["Hub", "HubUnavailable", "Listener", "MemoryHub", "RedisHub", "create_hub"]


def create_hub(redis_url: str | None) -> Hub:
    """Redis when a URL is configured, else in memory."""
    return RedisHub(redis_url) if redis_url else MemoryHub()
