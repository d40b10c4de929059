"""A graceful stop on SIGTERM (or Ctrl+C): drain, tell every member to come back, exit.

uvicorn, on its own, stops listening and closes every WebSocket with a bare 1012 at
once, then waits for its tasks, and finally re-raises the signal (so the process
dies of it).  :class:`GracefulServer` runs this sequence first, bounded by
``shutdown_grace_s`` from the signal:

1. ``/readyz`` answers 503 ``draining`` for ``shutdown_drain_s``, while everything
   is still served, so a load balancer takes the process out before anything closes;
2. the listening sockets close (new connections are refused);
3. every member's socket stops taking commands, the ones in flight are applied and
   answered, and it closes with 1012 and a reason naming a window to come back in
   (``realtime.connection.restart_reason``): members reconnect, spread over
   ``restart_reconnect_window_s``, to another process or to this one restarted, and
   resume from their ``last_seq``;
4. uvicorn's own shutdown then runs (HTTP connections, the app's lifespan: batches
   written, the hub and the database closed) and the process exits with code 0.

A second signal skips what is left of the drain.
"""

from __future__ import annotations

import asyncio
import signal
from types import FrameType

import structlog
import uvicorn

from realtime.connection import Connections, restart_reason

__all__ = ["GracefulServer"]

log = structlog.get_logger(__name__)

_LIFESPAN_SHARE = 0.25
"""Part of the grace kept for uvicorn's shutdown and the app's lifespan end."""


class GracefulServer(uvicorn.Server):
    """uvicorn's server with the drain above in front of its shutdown."""

    def __init__(
        self,
        config: uvicorn.Config,
        connections: Connections,
        *,
        grace_s: float,
        drain_s: float,
        reconnect_window_s: float,
    ) -> None:
        super().__init__(config)
        self.connections = connections
        self.grace_s = grace_s
        self.drain_s = drain_s
        self.reconnect_window_s = reconnect_window_s
        self._stop_requested = False
        self._drain: asyncio.Task[None] | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Not recorded for re-raising (uvicorn's default): a drained stop exits with 0.
        if self._stop_requested:
            if sig == signal.SIGINT and self.should_exit:
                self.force_exit = True
            self.should_exit = True  # a second signal: stop draining
            return
        self._stop_requested = True

    async def on_tick(self, counter: int) -> bool:
        # Runs every 0.1 s on the event loop (not in the signal handler).
        if self._stop_requested and self._drain is None:
            self._drain = asyncio.create_task(self._drain_then_exit())
        if self._drain is not None and self._drain.done():
            return True
        return await super().on_tick(counter)

    async def _drain_then_exit(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.grace_s
        connections = self.connections
        log.info("server.draining", connections=len(connections), drain_s=self.drain_s)
        connections.draining = True
        await asyncio.sleep(self.drain_s)
        for server in getattr(self, "servers", []):
            server.close()  # refuse new connections; open ones go on
        window_ms = int(self.reconnect_window_s * 1000)
        reason = restart_reason(min(100, window_ms), window_ms)
        budget = (deadline - loop.time()) * (1 - _LIFESPAN_SHARE)
        left = await connections.restart_all(reason, max(0.5, budget))
        # What remains of the grace bounds uvicorn's wait for its tasks.
        self.config.timeout_graceful_shutdown = max(1, int((deadline - loop.time()) / 2))
        log.info("server.drained", let_go=left)
