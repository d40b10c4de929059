"""The per-connection token bucket."""

from __future__ import annotations

import pytest

from realtime.ratelimit import TokenBucket


@pytest.mark.parametrize("start", [0.0, 1_000.0])
def test_burst_then_refill_at_the_rate(start: float) -> None:
    bucket = TokenBucket(rate=2.0, burst=3)
    assert [bucket.take(start) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(start) == pytest.approx(0.5)  # empty: one token in half a second
    assert bucket.take(start + 0.5) == 0.0  # refilled, even when the clock started at zero
    assert bucket.take(start + 10) == 0.0
    assert bucket.tokens <= 3
