"""Prometheus instruments of the wire (exposed by the server's ``/metrics``)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

__all__ = ["FANOUT_SECONDS", "FRAMES", "WS_CLOSES", "WS_CONNECTIONS", "WS_SLOW_CONSUMERS"]

WS_CONNECTIONS = Gauge("filmnight_ws_connections", "Open WebSocket connections in this process")
WS_CLOSES = Counter("filmnight_ws_closes_total", "WebSocket closes by close code", ["code"])
WS_SLOW_CONSUMERS = Counter(
    "filmnight_ws_slow_consumers_total", "Connections closed because their send queue overflowed"
)
FANOUT_SECONDS = Histogram(
    "filmnight_fanout_seconds",
    "Time to hand one batch of events (those committed together) to every connection "
    "of its room in this process (written to the sockets, or queued behind a slow one)",
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
)

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
