"""The connection's send side: bounded queues, slow consumers, orderly ends (no sockets needed)."""

from __future__ import annotations

import asyncio

from realtime.connection import CloseCode, Connection, Member


class StuckTransport:
    """A peer that never reads: every send blocks."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed: tuple[int, str] | None = None
        self.release = asyncio.Event()

    async def receive(self) -> str | bytes | None:
        await self.release.wait()
        return None

    async def send(self, text: str) -> None:
        await self.release.wait()
        self.sent.append(text)

    async def close(self, code: int, reason: str = "") -> None:
        self.closed = (code, reason)


class FastTransport(StuckTransport):
    async def send(self, text: str) -> None:
        self.sent.append(text)


async def test_a_slow_consumer_is_closed_with_resume_and_never_buffers_without_bound() -> None:
    transport = StuckTransport()
    conn = Connection(transport, Member("s", "m"), queue_size=8)
    conn.start()
    conn.go_live(0)
    for seq in range(1, 50):
        conn.deliver(seq, f'{{"seq":{seq}}}')
    await asyncio.sleep(0.05)
    assert transport.closed is not None and transport.closed[0] == CloseCode.RESUME
    assert conn.closed and conn._queue.qsize() <= 8
    conn.deliver(99, "ignored after close")
    await conn.flush_and_stop(timeout=0.1)


async def test_events_before_going_live_are_held_then_deduplicated() -> None:
    transport = FastTransport()
    conn = Connection(transport, Member("s", "m"), queue_size=64)
    conn.start()
    conn.deliver(3, "three")
    conn.deliver(0, "ephemeral")
    conn.deliver(4, "four")
    conn.send("welcome")
    conn.go_live(3)  # the welcome already covers seq 3
    conn.deliver(4, "four again")
    conn.deliver(5, "five")
    await conn.flush_and_stop()
    assert transport.sent == ["welcome", "ephemeral", "four", "five"]


async def test_end_closes_gone_after_what_is_queued() -> None:
    transport = FastTransport()
    conn = Connection(transport, Member("s", "m"), queue_size=64)
    conn.start()
    conn.go_live(0)
    conn.deliver(1, "member.left")
    conn.end("you left the session")
    conn.end("twice is harmless")
    await asyncio.sleep(0.05)
    assert transport.sent == ["member.left"]
    assert transport.closed == (CloseCode.GONE, "you left the session")
    await conn.flush_and_stop()
