"""The reconnect storm's members, in a process of their own (driven by bench/realtime/storm.py).

Run as ``python -m bench.realtime.storm_members``: it reads one JSON command per
line on stdin and answers each with one JSON line on stdout. Each member is a lean
sans-I/O ``websockets`` connection (bench/realtime/members.py) that behaves as the
project's clients do (realtime/client.py, web-client/js/live.js):

* it holds the ``seq`` of the last event it applied, and every reconnect sends
  ``hello`` with it as ``last_seq``;
* after a 1012 close naming a window (``{"reason": "restart", "retry_ms": [lo, hi]}``)
  it comes back at a uniformly random moment within it; after any other loss, and
  while connecting fails, it backs off: ``uniform(d / 2, d)`` with
  ``d = min(10 s, 0.1 s * 2 ** attempt)``, with ``d`` at most 0.5 s while a
  restarted process is expected back (``realtime.client.reconnect_delay``);
* every durable event must carry the next ``seq``: a gap, a duplicate or a welcome
  that starts over (``resumed`` false) after the first is counted as an error.

One member of each session (its ``speaker``) sends a chat message as soon as it has
resumed after a drop, so the members that come back later must receive it in their
replay (or live), each exactly once.

Against the raw ``websockets`` server (bench/realtime/raw_server.py) a member sends
``{"type":"hello"}`` and any welcome counts as its resume: that server keeps no log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import resource
import socket
import struct
import sys
import time
from dataclasses import dataclass, field

import msgspec
import uvloop
from websockets.exceptions import InvalidState

from bench.realtime.members import SansIOMember, connect
from realtime.client import reconnect_delay

__all__ = ["main"]

MAX_BACKOFF_S = 10.0


class Frame(msgspec.Struct):
    type: str
    seq: int | None = None
    resumed: bool | None = None


_decode = msgspec.json.Decoder(Frame).decode


def restart_window(code: int, reason: str) -> tuple[float, float] | None:
    """The window of a 1012 close's hint, in seconds (docs/protocol.md, Close codes)."""
    if code != 1012:
        return None
    try:
        low, high = json.loads(reason)["retry_ms"]
        return float(low) / 1000, float(high) / 1000
    except (ValueError, TypeError, KeyError):
        return None


@dataclass
class StormMember:
    url: str
    token: str
    session: int
    speaker: bool
    raw: bool
    last_seq: int | None = None
    conn: SansIOMember | None = None
    welcomed_at: float | None = None
    """When this member's latest welcome arrived (the resume, after a drop)."""
    resumed: bool = False
    """A welcome arrived since the last mark (with ``resumed`` true on filmnight)."""
    closed_at: float | None = None
    """When the server (or the cut) ended its connection, after the last mark."""
    close_code: int | None = None
    errors: list[str] = field(default_factory=list)
    welcomes: int = 0
    storm: int = 0
    spoke: int = -1
    attempts: int = 0
    restarting: bool = False
    acks: int = 0

    def hello(self) -> str:
        if self.raw:
            return '{"type":"hello"}'
        hello: dict[str, object] = {"type": "hello", "token": self.token}
        if self.last_seq is not None:
            hello["last_seq"] = self.last_seq
        return json.dumps(hello)

    def on_frame(self, raw: str | bytes, _arrived: float | None) -> None:
        frame = _decode(raw)
        if frame.type == "welcome":
            self._welcome(frame)
            return
        if frame.type == "ack":
            self.acks += 1
            return
        if self.raw or frame.seq is None or frame.type == "error":
            return
        if self.last_seq is not None and frame.seq != self.last_seq + 1:
            kind = "duplicate" if frame.seq <= self.last_seq else "gap"
            self.errors.append(f"{kind}: {frame.seq} after {self.last_seq}")
        if self.last_seq is None or frame.seq > self.last_seq:
            self.last_seq = frame.seq

    def _welcome(self, frame: Frame) -> None:
        first = self.welcomes == 0
        self.welcomes += 1
        self.welcomed_at = time.time()
        if self.raw or first:
            self.resumed = True
            if not self.raw:
                self.last_seq = frame.seq
            return
        if not frame.resumed:
            self.errors.append(f"welcome not resumed (last_seq {self.last_seq})")
        elif frame.seq != self.last_seq:
            self.errors.append(f"resumed at {frame.seq}, asked {self.last_seq}")
        self.last_seq = frame.seq
        self.resumed = True
        if self.speaker and self.spoke != self.storm and self.conn is not None:
            self.spoke = self.storm
            text = f"storm {self.storm} session {self.session}"
            command = {"type": "chat", "text": text, "id": f"storm-{self.storm}"}
            with contextlib.suppress(InvalidState):
                self.conn.protocol.send_text(json.dumps(command).encode())
                self.conn._flush()


class Members:
    def __init__(self) -> None:
        self.members: list[StormMember] = []
        self.running = False
        self.tasks: list[asyncio.Task[None]] = []
        self.cut_at: float | None = None

    def stopped(self) -> bool:
        return not self.running

    async def open(self, member: StormMember) -> bool:
        try:
            conn = await connect("sansio", member.url)
        except Exception:
            return False
        assert isinstance(conn, SansIOMember)
        member.conn = conn
        conn.listen(member.on_frame)
        # A process that is stopping may close the socket before the hello goes out:
        # then the close (1012 and its window) is what :meth:`life` acts on.
        with contextlib.suppress(InvalidState):
            await conn.send(member.hello())
        return True

    async def life(self, member: StormMember) -> None:
        """Connected already: wait for the end of each connection, come back, repeat."""
        while self.running:
            conn = member.conn
            if conn is not None:
                await conn.closed
                if self.stopped():
                    return
                close = conn.protocol.close_rcvd
                code, reason = (close.code, close.reason) if close is not None else (1006, "")
                member.closed_at = time.time()
                member.close_code = code
                member.conn = None
                if code in {4401, 4403, 4410}:
                    member.errors.append(f"seat lost: {code} {reason}")
                    return
                window = restart_window(code, reason)
                if window is not None:
                    member.attempts = 0
                    member.restarting = True
                    await asyncio.sleep(random.uniform(*window))
                else:
                    member.attempts = 1
                    await asyncio.sleep(_backoff(member))
            while self.running and member.conn is None:
                if await self.open(member):
                    member.attempts = 0
                    member.restarting = False
                    break
                member.attempts += 1
                await asyncio.sleep(_backoff(member))

    async def connect_all(self, parallel: int = 100) -> dict[str, object]:
        """Every member connected (``parallel`` handshakes at a time) and welcomed; one
        sent away meanwhile (a 1013 while the server is busy) comes back by itself."""
        started = time.time()
        gate = asyncio.Semaphore(parallel)
        self.running = True

        async def one(member: StormMember) -> None:
            async with gate:
                while not await self.open(member):
                    member.attempts += 1
                    await asyncio.sleep(_backoff(member))
                member.attempts = 0
            await self.life(member)

        self.tasks = [asyncio.create_task(one(m)) for m in self.members]
        deadline = time.time() + 900
        while time.time() < deadline and any(not m.welcomes for m in self.members):
            await asyncio.sleep(0.1)
        opened = [m.welcomes > 0 for m in self.members]
        return {
            "opened": sum(opened),
            "welcomed": sum(1 for m in self.members if m.welcomes),
            "took": time.time() - started,
        }

    def mark(self) -> None:
        for member in self.members:
            member.resumed = False
            member.closed_at = None
            member.storm += 1
        self.cut_at = None

    def cut(self) -> float:
        """Every socket cut at once (a reset, no close handshake): a network blip."""
        self.cut_at = time.time()
        linger = struct.pack("ii", 1, 0)
        for member in self.members:
            conn = member.conn
            if conn is not None and conn.sock.fileno() != -1:
                with contextlib.suppress(OSError):
                    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                conn._lost(None)
        return self.cut_at

    def status(self) -> dict[str, object]:
        return {
            "members": len(self.members),
            "resumed": sum(1 for m in self.members if m.resumed),
            "dropped": sum(1 for m in self.members if m.closed_at is not None),
            "errors": sum(len(m.errors) for m in self.members),
        }

    def report(self) -> dict[str, object]:
        closes: dict[str, int] = {}
        for m in self.members:
            if m.close_code is not None:
                closes[str(m.close_code)] = closes.get(str(m.close_code), 0) + 1
        by_session: dict[int, set[int | None]] = {}
        for m in self.members:
            by_session.setdefault(m.session, set()).add(m.last_seq)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "resumed_at": [m.welcomed_at for m in self.members if m.resumed],
            "closed_at": [m.closed_at for m in self.members if m.closed_at is not None],
            "close_codes": closes,
            "errors": [e for m in self.members for e in m.errors][:20],
            "error_count": sum(len(m.errors) for m in self.members),
            "sessions_apart": sum(1 for seqs in by_session.values() if len(seqs) != 1),
            "cpu_s": usage.ru_utime + usage.ru_stime,
        }

    async def chat(self, count: int, timeout: float = 120.0) -> dict[str, object]:
        """Every speaker sends ``count`` chat messages at once; wait for their acks."""
        speakers = [m for m in self.members if m.speaker and m.conn is not None]
        before = sum(m.acks for m in speakers)
        sent = 0
        for m in speakers:
            assert m.conn is not None
            with contextlib.suppress(InvalidState):  # closed meanwhile: it sends nothing
                for n in range(count):
                    command = {"type": "chat", "text": f"burst {n}", "id": f"burst-{m.storm}-{n}"}
                    m.conn.protocol.send_text(json.dumps(command).encode())
                    sent += 1
            m.conn._flush()
        wanted = before + sent
        deadline = time.time() + timeout
        while time.time() < deadline and sum(m.acks for m in speakers) < wanted:
            await asyncio.sleep(0.02)
        return {"acked": sum(m.acks for m in speakers) - before}

    async def stop(self) -> None:
        self.running = False
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for member in self.members:
            if member.conn is not None:
                member.conn._lost(None)


def _backoff(member: StormMember) -> float:
    low, high = reconnect_delay(
        member.attempts, restarting=member.restarting, max_backoff_s=MAX_BACKOFF_S
    )
    return random.uniform(low, high)


async def serve() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    members = Members()

    def answer(value: object) -> None:
        sys.stdout.write(json.dumps(value) + "\n")
        sys.stdout.flush()

    while line := await reader.readline():
        command = json.loads(line)
        op = command["op"]
        if op == "load":
            members.members = [
                StormMember(url, token, session, speaker, command["raw"])
                for url, token, session, speaker in command["members"]
            ]
            answer({"loaded": len(members.members)})
        elif op == "connect":
            answer(await members.connect_all())
        elif op == "mark":
            members.mark()
            answer({"marked": True})
        elif op == "cut":
            answer({"cut_at": members.cut()})
        elif op == "status":
            answer(members.status())
        elif op == "chat":
            answer(await members.chat(command["count"]))
        elif op == "report":
            answer(members.report())
        elif op == "quit":
            await members.stop()
            answer({"bye": True})
            return


def main() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    uvloop.run(serve())


if __name__ == "__main__":
    main()
