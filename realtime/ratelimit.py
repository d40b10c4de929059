"""A token bucket per connection (pure: the caller passes the clock)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["TokenBucket"]


@dataclass(slots=True)
class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up."""

    rate: float
    burst: int
    tokens: float = field(init=False)
    updated: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)

    def full(self, now: float) -> bool:
        """Refilled to ``burst``: it then decides exactly as a new bucket would."""
        if self.updated is None:
            return True
        return self.tokens + (now - self.updated) * self.rate >= self.burst

    def take(self, now: float) -> float:
        """Take a token; returns 0 when allowed, else the seconds until one is free."""
        if self.updated is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate
