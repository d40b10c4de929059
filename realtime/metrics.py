"""Prometheus instruments of the wire (exposed by the server's ``/metrics``)."""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterator

from prometheus_client import REGISTRY, Counter, Gauge
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

__all__ = [
    "FANOUT_SECONDS",
    "FRAMES",
    "WS_CLOSES",
    "WS_CONNECTIONS",
    "WS_SLOW_CONSUMERS",
    "LoopHistogram",
]

WS_CONNECTIONS = Gauge("filmnight_ws_connections", "Open WebSocket connections in this process")
WS_CLOSES = Counter("filmnight_ws_closes_total", "WebSocket closes by close code", ["code"])
WS_SLOW_CONSUMERS = Counter(
    "filmnight_ws_slow_consumers_total", "Connections closed because their send queue overflowed"
)
_le: Callable[[float], str] = floatToGoString
"""A bucket bound as Prometheus writes it (``+Inf``, ``0.001``)."""


class LoopHistogram(Collector):
    """A histogram observed from the event loop's thread only, so it needs no lock.

    ``prometheus_client.Histogram.observe`` takes a lock and walks every bucket, which
    cost a fan-out to a room of ten more than a tenth of its time; this one is a
    bisect and two additions, summed into cumulative buckets at scrape time.
    """

    def __init__(self, name: str, documentation: str, buckets: tuple[float, ...]) -> None:
        self.name = name
        self.documentation = documentation
        self.bounds = sorted(buckets)
        self._counts = [0] * (len(self.bounds) + 1)  # the last one: above every bound
        self._sum = 0.0

    def observe(self, value: float) -> None:
        self._counts[bisect.bisect_left(self.bounds, value)] += 1
        self._sum += value

    def collect(self) -> Iterator[HistogramMetricFamily]:
        cumulative, buckets = 0, []
        for bound, count in zip([*self.bounds, math.inf], self._counts, strict=True):
            cumulative += count
            buckets.append((_le(bound), cumulative))
        yield HistogramMetricFamily(
            self.name, self.documentation, buckets=buckets, sum_value=self._sum
        )


FANOUT_SECONDS = LoopHistogram(
    "filmnight_fanout_seconds",
    "Time to deliver one publish (a transaction's events, or one message from another "
    "process) to this process's connections (written to the sockets, or queued behind "
    "a slow one)",
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
)
REGISTRY.register(FANOUT_SECONDS)

FRAMES = {"in": 0, "out": 0}
"""Frames by direction, counted with a plain ``+= 1`` (a fan-out writes a frame per
member, and a locked counter would cost more than a tenth of the write); read at
scrape time by :class:`_FramesCollector`."""


class _FramesCollector(Collector):
    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "filmnight_ws_frames",
            "WebSocket frames by direction (in: from clients, out: to clients)",
            labels=["direction"],
        )
        for direction, count in FRAMES.items():
            family.add_metric([direction], count)
        yield family


REGISTRY.register(_FramesCollector())
