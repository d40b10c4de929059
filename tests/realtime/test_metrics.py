"""The loop histogram reports what prometheus_client's own histogram would."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram

from realtime.metrics import LoopHistogram

BUCKETS = (0.001, 0.01, 0.1, 1.0)


def _samples(collector: object, registry: CollectorRegistry) -> dict[str, float]:
    registry.register(collector)  # type: ignore[arg-type]
    return {
        f"{s.name}{s.labels}": s.value
        for family in registry.collect()
        for s in family.samples
        if not s.name.endswith("_created")
    }


@given(st.lists(st.sampled_from([0.0, *BUCKETS]) | st.floats(0, 5), max_size=50))
def test_buckets_count_and_sum_match_prometheus_client(values: list[float]) -> None:
    ours = LoopHistogram("t_seconds", "test", BUCKETS)
    theirs = Histogram("t_seconds", "test", buckets=BUCKETS, registry=None)
    for value in values:
        ours.observe(value)
        theirs.observe(value)
    mine = _samples(ours, CollectorRegistry())
    reference = _samples(theirs, CollectorRegistry())
    assert mine.keys() == reference.keys()
    for key, value in reference.items():
        assert abs(mine[key] - value) < 1e-9, key
