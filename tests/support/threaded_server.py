"""Serve an app with uvicorn in a background thread (for synchronous tests such as hypothesis)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator

import uvicorn
from litestar import Litestar

from server.live.socket import with_direct_sockets

__all__ = ["threaded_server"]


@contextlib.contextmanager
def threaded_server(app: Litestar, max_frame_bytes: int) -> Iterator[str]:
    """Yield the base URL of ``app`` served on a free loopback port; stop at exit."""
    config = uvicorn.Config(
        with_direct_sockets(app),  # as `filmnight serve` runs it
        host="127.0.0.1",
        port=0,
        ws="websockets-sansio",
        ws_max_size=max_frame_bytes,
        ws_per_message_deflate=False,
        # No keepalive pings: their payload comes from the global `random`, and a draw from
        # another thread mid-strategy makes hypothesis report the test as using `random`.
        ws_ping_interval=None,
        log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
