"""Per-client rate limits for the calls that could be used to guess invite codes.

Moving windows from the ``limits`` library, in memory for one process or in Redis
when the deployment has several; answered with 429 and ``Retry-After``.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from server.errors import ApiError

__all__ = ["RateLimits"]


class RateLimits:
    """Named per-minute limits keyed by client address."""

    def __init__(self, per_minute: dict[str, int], redis_url: str = "") -> None:
        storage: Storage
        if redis_url:
            storage = RedisStorage("async+" + redis_url, implementation="redispy")
        else:
            storage = MemoryStorage()
        self._limiter = MovingWindowRateLimiter(storage)
        self._items = {name: RateLimitItemPerMinute(n) for name, n in per_minute.items()}

    async def check(self, name: str, client: str) -> None:
        item = self._items[name]
        if await self._limiter.hit(item, name, client):
            return
        stats = await self._limiter.get_window_stats(item, name, client)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise ApiError(
            429,
            "rate_limited",
            f"Too many attempts; try again in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )
