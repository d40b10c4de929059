"""Client-side estimate of the offset to server time from ping/pong samples."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

__all__ = ["ClockOffsetEstimator"]


@dataclass(frozen=True, slots=True)
class _Sample:
    rtt_ms: float
    offset_ms: float


class ClockOffsetEstimator:
    """Keep the last ``window`` samples; trust the one with the smallest round trip."""

    def __init__(self, window: int = 8) -> None:
        self._samples: deque[_Sample] = deque(maxlen=window)

    def add_sample(self, t0_client_ms: float, server_time_ms: float, t1_client_ms: float) -> None:
        rtt = t1_client_ms - t0_client_ms
        if rtt < 0:
            return
        self._samples.append(_Sample(rtt, server_time_ms - (t0_client_ms + t1_client_ms) / 2))

    @property
    def _best(self) -> _Sample | None:
        return min(self._samples, key=lambda s: s.rtt_ms, default=None)

    @property
    def offset_ms(self) -> float:
        best = self._best
        return best.offset_ms if best else 0.0

    @property
    def rtt_ms(self) -> float | None:
        best = self._best
        return best.rtt_ms if best else None

    def server_now(self, client_now_ms: float) -> float:
        return client_now_ms + self.offset_ms
