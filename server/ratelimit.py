"""Per-client rate limits for the calls that could be used to guess invite codes.

Moving windows from the ``limits`` library, in memory for one process or in Redis
when the deployment has several; answered with 429 and ``Retry-After``.  If Redis
is unreachable the limits fall back to this process's memory, so an outage neither
fails every join nor lifts the brute-force protection.
"""

from __future__ import annotations

import math
import time

import structlog
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from server.errors import ApiError

__all__ = ["RateLimits"]

log = structlog.get_logger(__name__)


class RateLimits:
    """Named per-minute limits keyed by client address."""

    def __init__(self, per_minute: dict[str, int], redis_url: str = "") -> None:
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._shared = (
            MovingWindowRateLimiter(RedisStorage("async+" + redis_url, implementation="redispy"))
            if redis_url
            else None
        )
        self._items = {name: RateLimitItemPerMinute(n) for name, n in per_minute.items()}

    async def _hit(self, item: RateLimitItem, name: str, client: str) -> tuple[bool, float]:
        limiters = [self._shared, self._local] if self._shared else [self._local]
        for limiter in limiters:
            try:
                if await limiter.hit(item, name, client):
                    return True, 0.0
                stats = await limiter.get_window_stats(item, name, client)
                return False, stats.reset_time
            except Exception as exc:  # the shared store is down: use this process's memory
                log.warning("ratelimit.shared_store_unavailable", error=type(exc).__name__)
        return True, 0.0

    async def check(self, name: str, client: str) -> None:
        allowed, reset_time = await self._hit(self._items[name], name, client)
        if allowed:
            return
        retry_after = max(1, math.ceil(reset_time - time.time()))
        raise ApiError(
            429,
            "rate_limited",
            f"Too many attempts; try again in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )
