"""One read per key at a time, shared by every caller that asked while it waited.

A reconnect storm brings a room's members back within milliseconds of each other,
and each used to make the same database read for itself (the replay after its
``last_seq``, the party record when its socket dropped).  Here the first caller of
a key starts a read at once; callers of that key who arrive while it runs wait and
are answered together by the next read, which starts only after the last of them
asked (so it sees at least what each one's own read would have seen).

With ``spacing_s``, a key's reads are at least that far apart while asks keep
coming: after each read the key waits ``spacing_s`` for more asks before the next
read, and only a key with no ask left stops.  A lone ask is still read at once; in a
burst each ask waits at most ``spacing_s`` longer, and the burst shares far fewer
reads.  That matters most where a read costs little time but a fixed price: on
SQLite a reader's statements run in place (``server.db.sqlite_driver``), so a read
is over before the next hello has asked, and without spacing 1,000 hellos into one
session made some 290 token reads (each one a database session, a transaction and a
statement to build; 130 while reads went to the driver's thread); spaced, each read
answers the hellos being answered at once (up to ``ws_hellos_at_once``), and a
hello into a session of 1,000 costs the server 0.46 ms of CPU instead of 0.76 ms
(``uv run python -m bench.realtime welcome``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

__all__ = ["BURST_SPACING_S", "SharedReads"]

BURST_SPACING_S = 0.005
"""The spacing of the reads a reconnect storm's hellos and departures share (token
checks, replays, the party record): 5 ms is unnoticeable beside a handshake."""

K = TypeVar("K", bound=Hashable)
A = TypeVar("A")
R = TypeVar("R")


class SharedReads(Generic[K, A, R]):
    """Calls ``read(key, asks)`` once for a batch of asks of one key; ``read``
    answers each ask, in order.  At most one read per key runs at a time, and while
    asks keep coming, reads of a key are at least ``spacing_s`` apart."""

    def __init__(
        self, read: Callable[[K, Sequence[A]], Awaitable[Sequence[R]]], *, spacing_s: float = 0.0
    ) -> None:
        self._read = read
        self._spacing_s = spacing_s
        self._waiting: dict[K, list[tuple[A, asyncio.Future[R]]]] = {}
        self._running: dict[K, asyncio.Task[None]] = {}
        self.reads = 0
        """Reads made (for tests and the benchmark's curiosity)."""

    async def ask(self, key: K, ask: A) -> R:
        answer: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append((ask, answer))
        if key not in self._running:
            task = asyncio.get_running_loop().create_task(self._drain(key))
            self._running[key] = task
        return await answer

    async def _drain(self, key: K) -> None:
        try:
            while batch := self._waiting.pop(key, None):
                batch = [(ask, answer) for ask, answer in batch if not answer.done()]
                if not batch:
                    continue
                self.reads += 1
                try:
                    results = await self._read(key, [ask for ask, _ in batch])
                except Exception as exc:
                    for _, answer in batch:
                        if not answer.done():
                            answer.set_exception(exc)
                    continue
                except BaseException:
                    for _, answer in batch:
                        answer.cancel()
                    raise
                for (_, answer), result in zip(batch, results, strict=True):
                    if not answer.done():
                        answer.set_result(result)
                if self._spacing_s:  # more asks of the burst join the next read
                    await asyncio.sleep(self._spacing_s)
        finally:
            del self._running[key]
            for _, answer in self._waiting.pop(key, []):
                answer.cancel()
