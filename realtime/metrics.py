"""Prometheus instruments of the wire (exposed by the server's ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

__all__ = ["WS_CLOSES", "WS_CONNECTIONS", "WS_FRAMES", "WS_SLOW_CONSUMERS"]

WS_CONNECTIONS = Gauge("filmnight_ws_connections", "Open WebSocket connections in this process")
WS_FRAMES = Counter(
    "filmnight_ws_frames_total",
    "WebSocket frames by direction (in: from clients, out: to clients)",
    ["direction"],
)
WS_CLOSES = Counter("filmnight_ws_closes_total", "WebSocket closes by close code", ["code"])
WS_SLOW_CONSUMERS = Counter(
    "filmnight_ws_slow_consumers_total", "Connections closed because their send queue overflowed"
)
