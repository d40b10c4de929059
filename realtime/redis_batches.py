"""Redis commands sent in batches: every command issued while the previous batch is
on the wire goes in the next one, as one pipeline (one connection, one round trip).

redis-py gives each concurrent command a pooled connection of its own, and its pool
refuses more than ``max_connections`` (100) with ``MaxConnectionsError``: a reconnect
storm of thousands of members made presence and the hub's publishes fail.  Batched,
a process holds one connection for them however many members arrive at once, and
a storm's commands cost one write and one read per batch instead of per command.
Commands go out in the order they were issued, and each caller gets its own
command's answer (or its error: one bad command does not fail the others).
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis

__all__ = ["CommandBatches"]


class CommandBatches:
    """Queues commands and sends them as pipelines, one batch at a time."""

    def __init__(self, client: aioredis.Redis, max_batch: int = 1000) -> None:
        self._client = client
        self._max_batch = max_batch
        self._queue: list[tuple[tuple[Any, ...], asyncio.Future[Any]]] = []
        self._sender: asyncio.Task[None] | None = None
        self.batches = 0
        """Pipelines sent so far (the tests count them)."""

    def call(self, *args: Any) -> asyncio.Future[Any]:
        """Queue one command (``"ZADD", key, score, member``); its answer as parsed by
        redis-py, or the error Redis or the connection raised."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.append((args, future))
        if self._sender is None:
            self._sender = loop.create_task(self._send())
        return future

    async def _send(self) -> None:
        try:
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                await self._send_batch(batch)
        except BaseException:  # stopped (the loop is closing): nobody is left waiting
            queued, self._queue = self._queue, []
            for _, future in queued:
                if not future.done():
                    future.set_exception(ConnectionError("stopped"))
            raise
        finally:
            self._sender = None

    async def _send_batch(self, batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]]) -> None:
        self.batches += 1
        pipeline = self._client.pipeline(transaction=False)
        for args, _ in batch:
            pipeline.execute_command(*args)
        try:
            answers = await pipeline.execute(raise_on_error=False)
        except BaseException as exc:  # the connection failed: every caller hears of it
            for _, future in batch:
                if not future.done():
                    failed = exc if isinstance(exc, Exception) else ConnectionError("stopped")
                    future.set_exception(failed)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), answer in zip(batch, answers, strict=True):
            if future.done():  # its caller gave up waiting
                continue
            if isinstance(answer, Exception):
                future.set_exception(answer)
            else:
                future.set_result(answer)

    async def close(self) -> None:
        """Wait for the batches under way (their callers get their answers)."""
        sender = self._sender
        if sender is not None:
            await asyncio.gather(sender, return_exceptions=True)
