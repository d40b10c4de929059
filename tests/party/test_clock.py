"""The client's offset estimator under simulated latency, jitter and outliers."""

from __future__ import annotations

import random

import pytest

from realtime.clock import ClockOffsetEstimator


@pytest.mark.parametrize("true_offset", [-250_000.0, -12.0, 0.0, 3_600_000.0])
def test_the_best_round_trip_gives_an_offset_within_half_of_it(true_offset: float) -> None:
    rng = random.Random(7)
    estimator = ClockOffsetEstimator(window=8)
    client = 1_000_000.0
    best_rtt = float("inf")
    for _ in range(30):
        up = rng.uniform(5, 40) + (rng.random() < 0.2) * rng.uniform(100, 900)  # outliers
        down = rng.uniform(5, 40)  # asymmetric paths
        server_time = client + up + true_offset
        t1 = client + up + down
        estimator.add_sample(client, server_time, t1)
        best_rtt = min(best_rtt, up + down)
        client = t1 + rng.uniform(100, 1000)
    assert estimator.rtt_ms is not None
    assert abs(estimator.offset_ms - true_offset) <= estimator.rtt_ms / 2
    assert estimator.server_now(5_000.0) == pytest.approx(5_000.0 + estimator.offset_ms)


def test_no_samples_and_impossible_samples() -> None:
    estimator = ClockOffsetEstimator()
    assert estimator.offset_ms == 0.0 and estimator.rtt_ms is None
    estimator.add_sample(100.0, 50.0, 90.0)  # the reply "before" the request: ignored
    assert estimator.rtt_ms is None
