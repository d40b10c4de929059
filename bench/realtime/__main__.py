"""Realtime benchmark: fan-out latency and throughput, idle connections, against the raw floor.

    uv run python -m bench.realtime [--quick]
    uv run python -m bench.realtime welcome [--repeat 3]   (bench/realtime/welcome.py)

Starts one filmnight server process (embedded default: SQLite, in-memory fan-out,
with the per-member chat and command limits lifted) and, in the same run, a minimal
broadcast server written directly on ``websockets`` (the floor for Python on this
machine). This process drives both with ``websockets`` clients over loopback and
prints a table; delivered events/s are also given as a ratio to the raw floor.

For the latency cases a third server runs too, ``bare`` (bench/realtime/bare_server.py):
one event serialized once and written to every member's socket with nothing in
between, the least a Python server can take to reach a room on this machine. Its
figures are what the machine itself allows, to read the latencies against.

The event that fans out is a chat message: on filmnight it is validated, written to
the durable event log with its ``seq`` in one SQLite transaction, then sent to every
member of the room. Latency is from the sender's command to the moment the event
reached the last member's socket: the kernel stamps each packet as it arrives there
(``SO_TIMESTAMPNS``, bench/realtime/members.py), so the figure is the server's and
the loopback's, not the time this one process takes to parse a thousand members'
frames after they have arrived. That later time, when this process had read the
event off every member's socket, is printed beside it ("read"). Both clocks are
this machine's wall clock. A steady run sends ``--steady-events`` events (200,
20 s at 10 events/s) so that its p99 is not simply its slowest event; a saturated
run lasts ``--seconds``.

The many-rooms case (1,000 rooms of 10, every room with one event in flight) is
measured in ``--repeat`` windows per target and the table gives the medians, with
the median of the window-by-window ratios: this machine is shared, and its speed
drifts from one minute to the next. The targets' windows alternate when this
process may hold both targets' connections at once (the open-file limit); else
each target's rooms are built, measured and closed in turn.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx
import msgspec
import psutil
import uvloop

from bench.realtime.members import KINDS, Member, connect
from tests.support.server_process import server_process
from tests.support.services import free_port

REPO = Path(__file__).resolve().parents[2]
SERVER_ENV = {
    "FILMNIGHT_MAX_MEMBERS": "100000",
    "FILMNIGHT_SESSIONS_PER_MINUTE": "1000000",
    "FILMNIGHT_JOINS_PER_MINUTE": "1000000",
    "FILMNIGHT_INVITE_LOOKUPS_PER_MINUTE": "1000000",
    "FILMNIGHT_CHAT_PER_SECOND": "100000",
    "FILMNIGHT_CHAT_BURST": "100000",
    "FILMNIGHT_WS_COMMANDS_PER_SECOND": "100000",
    "FILMNIGHT_WS_COMMAND_BURST": "100000",
    "FILMNIGHT_WS_SEND_QUEUE": "4096",
    "FILMNIGHT_WS_IDLE_TIMEOUT_S": "600",
    "FILMNIGHT_LOG_LEVEL": "warning",
}


class Frame(msgspec.Struct):
    type: str
    seq: int | None = None
    text: str | None = None
    position_ms: int | None = None


_decode = msgspec.json.Decoder(Frame).decode


@dataclass
class Room:
    """One room's clients and what they received (seq → time of the last receipt)."""

    sender: Member
    members: list[Member]
    kind: str = "chat"
    """The event that fans out: ``chat`` (a message) or ``playback`` (the host seeks)."""
    sent_at: dict[str, float] = field(default_factory=dict)
    seq_of: dict[int, str] = field(default_factory=dict)
    received: dict[int, int] = field(default_factory=dict)
    last_arrival: dict[int, float] = field(default_factory=dict)
    """When the event reached the last of the members' sockets (their latest stamp)."""
    last_receipt: dict[int, float] = field(default_factory=dict)
    """When this process had read the event off every member's socket."""
    complete: asyncio.Event = field(default_factory=asyncio.Event)


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return (
        ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))] if ordered else float("nan")
    )


def _now() -> float:
    """The wall clock, which the members' arrival stamps are on too."""
    return time.time()


def _receiver(room: Room) -> Callable[[str | bytes, float | None], None]:
    """Count each event's receipts; note when it reached the last member and when
    this process had read it off every member's socket."""
    size = len(room.members)

    def receive(raw: str | bytes, arrived: float | None) -> None:
        now = _now()
        frame = _decode(raw)
        if frame.type != room.kind or frame.seq is None:
            return
        marker = frame.text if room.kind == "chat" else str(frame.position_ms)
        if marker is None:
            return
        count = room.received.get(frame.seq, 0) + 1
        room.received[frame.seq] = count
        room.seq_of.setdefault(frame.seq, marker)
        at = now if arrived is None else arrived
        if at > room.last_arrival.get(frame.seq, 0.0):
            room.last_arrival[frame.seq] = at
        if count == size:
            room.last_receipt[frame.seq] = now
            room.complete.set()

    return receive


# ------------------------------------------------------------------ servers


class Target(Protocol):
    """A server under test: makes rooms of connected members."""

    name: str
    pid: int

    async def room(self, size: int) -> Room: ...

    def rss_kib(self) -> int: ...

    async def fanout(self) -> tuple[float, float] | None:
        """The server's own fan-out time so far: (seconds, events), if it reports one."""
        ...


class Filmnight:
    name = "filmnight"

    def __init__(self, base_url: str, pid: int, client: str, also: tuple[str, ...] = ()) -> None:
        """``also``: base URLs of more processes; members are spread over all of them."""
        self.client = client
        self.base_url = base_url
        self.ws_url = base_url.replace("http", "ws", 1)
        self.ws_urls = [self.ws_url, *(u.replace("http", "ws", 1) for u in also)]
        self.pid = pid
        self.http = httpx.AsyncClient(base_url=base_url, timeout=60)

    async def room(self, size: int) -> Room:
        host = (await self.http.post("/api/v1/sessions", json={"host_name": "bench"})).json()
        sem = asyncio.Semaphore(16)

        async def seat(i: int) -> str:
            async with sem:
                response = await self.http.post(
                    f"/api/v1/invites/{host['invite_code']}/join",
                    json={"name": f"m{i}", "bot": True},
                )
                return str(response.json()["token"])

        tokens = [host["token"], *await asyncio.gather(*(seat(i) for i in range(size - 1)))]

        async def seated(n: int, token: str) -> Member:
            base = self.ws_urls[n % len(self.ws_urls)]
            url = f"{base}/ws/v1/sessions/{host['session_id']}"
            async with sem:
                member = await connect(self.client, url)
                await member.send(msgspec.json.encode({"type": "hello", "token": token}).decode())
                while _decode(await member.recv()).type != "welcome":
                    pass
                return member

        members = list(await asyncio.gather(*(seated(n, t) for n, t in enumerate(tokens))))
        return Room(sender=members[0], members=members)

    def rss_kib(self) -> int:
        return _rss_kib(self.pid)

    async def fanout(self) -> tuple[float, float] | None:
        text = (await self.http.get("/metrics")).text
        values = dict.fromkeys(("sum", "count"), 0.0)
        for line in text.splitlines():
            for key in values:
                if line.startswith(f"filmnight_fanout_seconds_{key} "):
                    values[key] = float(line.split()[1])
        return values["sum"], values["count"]


RAW = "raw websockets"
BARE = "bare frame writes"


class FloorServer:
    """A minimal broadcast server of this folder (``raw_server`` or ``bare_server``)."""

    def __init__(self, name: str, port: int, pid: int, client: str) -> None:
        self.name = name
        self.client = client
        self.url = f"ws://127.0.0.1:{port}"
        self.pid = pid
        self.rooms = 0

    async def room(self, size: int) -> Room:
        self.rooms += 1
        url = f"{self.url}/room/{self.rooms}"

        async def seated() -> Member:
            member = await connect(self.client, url)
            await member.send('{"type":"hello"}')
            await member.recv()
            return member

        members = list(await asyncio.gather(*(seated() for _ in range(size))))
        return Room(sender=members[0], members=members)

    def rss_kib(self) -> int:
        return _rss_kib(self.pid)

    async def fanout(self) -> tuple[float, float] | None:
        return None


def _rss_kib(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss // 1024)


def table(header: list[str], rows: list[list[str]]) -> str:
    """``rows`` under ``header``, in columns padded to their widest cell."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(header, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    lines.extend(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows)
    return "\n".join(lines)


def _cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


async def quiet(pid: int, busy_below: float = 0.05, limit_s: float = 60.0) -> None:
    """Wait until the server uses under ``busy_below`` of a core, so that work a scenario
    set off (departures, presence) is not measured against the next one."""
    deadline = time.perf_counter() + limit_s
    before = _cpu_seconds(pid)
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.5)
        now = _cpu_seconds(pid)
        if now - before < busy_below * 0.5:
            return
        before = now


@contextlib.contextmanager
def floor_server(module: str, name: str, client: str) -> Iterator[FloorServer]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", f"bench.realtime.{module}", str(port)], cwd=REPO
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            time.sleep(0.05)
        yield FloorServer(name, port, process.pid, client)
    finally:
        process.kill()
        process.wait()


# ------------------------------------------------------------------ scenarios


@contextlib.asynccontextmanager
async def reading(
    room: Room, settle_s: float | None = None, *, exact: bool = False
) -> AsyncIterator[Room]:
    """Read every member's frames; measure only after the room has settled (joins done).

    ``exact``: one frame per read, so each frame has its own arrival stamp (see
    bench/realtime/members.py); without it, a read of several frames stamps them
    all with the last one's arrival, which can only make a latency longer.
    """
    receive = _receiver(room)
    for member in room.members:
        member.listen(receive, exact=exact)
    await asyncio.sleep(1.0 + len(room.members) / 1000 if settle_s is None else settle_s)
    try:
        yield room
    finally:
        await asyncio.gather(*(member.close() for member in room.members))


async def _send(room: Room, n: int) -> None:
    if room.kind == "playback":
        position = n * 1000 + 1
        room.sent_at[str(position)] = _now()
        command = {"type": "playback", "action": "seek", "position_ms": position}
        await room.sender.send(msgspec.json.encode(command).decode())
        return
    text = f"bench-{n}"
    room.sent_at[text] = _now()
    await room.sender.send(msgspec.json.encode({"type": "chat", "text": text}).decode())


def _latencies(room: Room, done_at: dict[int, float]) -> list[float]:
    """Milliseconds from each complete event's command to ``done_at`` (by seq)."""
    out = []
    for seq in room.last_receipt:
        text = room.seq_of.get(seq)
        if text in room.sent_at and seq in done_at:
            out.append((done_at[seq] - room.sent_at[text]) * 1000)
    return out


def _latency_figures(room: Room) -> dict[str, float]:
    arrived = _latencies(room, room.last_arrival)
    read = _latencies(room, room.last_receipt)
    return {
        "p50": _pct(arrived, 50),
        "p99": _pct(arrived, 99),
        "read_p50": _pct(read, 50),
        "read_p99": _pct(read, 99),
        "events": len(arrived),
    }


async def _server_fanout_ms(target: Target, before: tuple[float, float] | None) -> float | None:
    """Mean time the server took to write one publish to the room's sockets since ``before``."""
    after = await target.fanout()
    if before is None or after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1]) * 1000


def _progress(target: Target, scenario: str) -> None:
    """One line on stderr as each measurement starts (a full run takes minutes)."""
    print(f"measuring {target.name}: {scenario}", file=sys.stderr, flush=True)


async def steady(target: Target, size: int, rate: float, count: int) -> dict[str, float]:
    """``count`` events, one every ``1 / rate`` seconds."""
    async with reading(await target.room(size), exact=True) as room:
        _progress(target, f"steady {size}")
        before = await target.fanout()
        start = time.perf_counter()
        for n in range(count):
            await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
            await _send(room, n)
        await _drain(room, count)
        server_ms = await _server_fanout_ms(target, before)
    out = _latency_figures(room)
    if server_ms is not None:
        out["server_ms"] = server_ms
    return out


async def saturated(target: Target, size: int, seconds: float, window: int = 8) -> dict[str, float]:
    async with reading(await target.room(size)) as room:
        _progress(target, f"saturated {size}")
        before = await target.fanout()
        sent = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            while sent - len(room.last_receipt) < window:
                await _send(room, sent)
                sent += 1
            room.complete.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(room.complete.wait(), 5)
        await _drain(room, sent)
        elapsed = time.perf_counter() - start
        server_ms = await _server_fanout_ms(target, before)
    delivered = sum(room.received.values())
    out = {**_latency_figures(room), "delivered_s": delivered / elapsed}
    if server_ms is not None:
        out["server_ms"] = server_ms
    return out


async def _drain(room: Room, count: int, timeout: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout
    while len(room.last_receipt) < count and time.perf_counter() < deadline:
        room.complete.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(room.complete.wait(), 1)


@dataclass
class Rooms:
    """One target's rooms for the many-rooms case, built and read."""

    target: Target
    rooms: list[Room]
    kib_per_conn: float
    rates: list[float] = field(default_factory=list)
    """Delivered events per second, one figure per window measured."""


async def build_rooms(target: Target, rooms: int, size: int) -> Rooms:
    """``rooms`` rooms of ``size``, idle; the server's memory per connection they took."""
    await quiet(target.pid)
    before = target.rss_kib()
    built = [await target.room(size) for _ in range(rooms)]
    await asyncio.sleep(1)
    return Rooms(target, built, (target.rss_kib() - before) / (rooms * size))


async def rooms_window(held: Rooms, seconds: float) -> None:
    """Every room sending (one event in flight each) for ``seconds``; notes the rate."""
    # Idle rooms keep a server a little busy (pings, presence): settle, do not wait for 0.
    await quiet(held.target.pid, busy_below=0.25, limit_s=10)
    _progress(held.target, f"{len(held.rooms)} rooms x {len(held.rooms[0].members)}")
    counted = [sum(room.received.values()) for room in held.rooms]
    start = time.perf_counter()
    sent = [len(room.sent_at) for room in held.rooms]
    while time.perf_counter() - start < seconds:
        for i, room in enumerate(held.rooms):
            if sent[i] - len(room.last_receipt) < 1:
                await _send(room, sent[i])
                sent[i] += 1
        await asyncio.sleep(0.001)
    elapsed = time.perf_counter() - start
    delivered = sum(sum(room.received.values()) for room in held.rooms) - sum(counted)
    held.rates.append(delivered / elapsed)
    print(f"  {held.rates[-1]:,.0f} events/s", file=sys.stderr, flush=True)
    for i, room in enumerate(held.rooms):  # the window's last events land before the next
        await _drain(room, sent[i], timeout=10)


async def many_rooms(
    targets: list[Target], rooms: int, size: int, seconds: float, repeat: int
) -> list[Rooms]:
    """Each target's rooms, then ``repeat`` rounds in which each target sends in turn.

    The targets' windows alternate, so a slow spell of this (shared) machine falls on
    both alike; the figures are the medians. When this process may not hold every
    target's connections at once, each target's rooms are built, measured ``repeat``
    times and closed before the next target's.
    """
    if _fd_limit() < len(targets) * rooms * size + 1000:
        held = []
        for target in targets:
            built = await build_rooms(target, rooms, size)
            async with _reading_all([built]):
                for _ in range(repeat):
                    await rooms_window(built, seconds)
            held.append(built)
        return held
    held = [await build_rooms(target, rooms, size) for target in targets]
    async with _reading_all(held):
        for _ in range(repeat):
            for built in held:
                await rooms_window(built, seconds)
    return held


@contextlib.asynccontextmanager
async def _reading_all(held: list[Rooms]) -> AsyncIterator[None]:
    async with contextlib.AsyncExitStack() as stack:
        for built in held:
            for room in built.rooms:
                await stack.enter_async_context(reading(room, settle_s=0))
        await asyncio.sleep(2.0)
        yield


# ------------------------------------------------------------------ main


def _raise_fd_limit(want: int = 0) -> None:
    """Raise the open-file limit to the hard limit, or to ``want`` where allowed (root)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if want > hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _fd_limit() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


SCENARIOS = ("steady", "saturated", "rooms")


async def run(
    targets: list[Target],
    sizes: list[int],
    seconds: float,
    rooms: int,
    scenarios: tuple[str, ...] = SCENARIOS,
    repeat: int = 3,
    steady_events: int = 200,
) -> list[list[str]]:
    rows: list[list[str]] = []
    results: dict[tuple[str, str], dict[str, float]] = {}
    for target in targets:
        for size in sizes:
            if "steady" in scenarios:
                await quiet(target.pid)
                results[(target.name, f"steady {size}")] = await steady(
                    target, size, 10.0, steady_events
                )
            if "saturated" in scenarios:
                await quiet(target.pid)
                results[(target.name, f"saturated {size}")] = await saturated(target, size, seconds)
    # the bare server is a latency reference only; the many-rooms case compares with raw
    throughput = [target for target in targets if target.name != BARE]
    held = await many_rooms(throughput, rooms, 10, seconds, repeat) if "rooms" in scenarios else []
    for key in [f"{kind} {s}" for kind in ("steady", "saturated") for s in sizes]:
        for target in targets:
            r = results.get((target.name, key))
            if r is None:
                continue
            ratio = ""
            if "delivered_s" in r and target.name != RAW and (RAW, key) in results:
                ratio = f"{r['delivered_s'] / results[(RAW, key)]['delivered_s']:.2f}x"
            rows.append(
                [
                    target.name,
                    key,
                    f"{r['p50']:.1f}",
                    f"{r['p99']:.1f}",
                    f"{r['read_p50']:.1f}",
                    f"{r['read_p99']:.1f}",
                    f"{r.get('delivered_s', 0):,.0f}" if "delivered_s" in r else "",
                    ratio,
                    f"{r['server_ms']:.2f}" if "server_ms" in r else "",
                ]
            )
    raw = next((built for built in held if built.target.name == RAW), None)
    for built in held:
        ratio = ""
        if raw is not None and built is not raw:
            pairs = zip(built.rates, raw.rates, strict=True)
            ratio = f"{statistics.median(ours / theirs for ours, theirs in pairs):.2f}x"
        rows.append(
            [
                built.target.name,
                f"{rooms} rooms x 10 ({rooms * 10} conns, {built.kib_per_conn:.1f} KiB/conn)",
                "",
                "",
                "",
                "",
                f"{statistics.median(built.rates):,.0f}",
                ratio,
                "",
            ]
        )
    return rows


def main() -> None:
    if sys.argv[1:2] == ["welcome"]:  # hello -> welcome rate, memory per connection
        from bench.realtime.welcome import main as welcome

        welcome(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="small rooms and short runs (a smoke test)"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=5.0,
        help="length of each saturated run and of each many-rooms window",
    )
    parser.add_argument(
        "--steady-events",
        type=int,
        default=200,
        help="events of each steady run, at 10 events/s (a p99 of fewer than 100 is their largest)",
    )
    parser.add_argument(
        "--rooms", type=int, default=1000, help="rooms of 10 for the many-rooms case"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="windows per target in the many-rooms case, alternating between targets; "
        "the table gives the medians",
    )
    parser.add_argument(
        "--client",
        choices=KINDS,
        default=KINDS[0],
        help="the members' websockets client build (see bench/realtime/members.py)",
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated subset of {', '.join(SCENARIOS)} (default: all)",
    )
    parser.add_argument(
        "--sizes", default="", help="comma-separated room sizes (default: 10,100,1000)"
    )
    parser.add_argument(
        "--targets",
        default="filmnight,raw,bare",
        help="comma-separated servers to measure: filmnight, raw, bare (default: all; "
        "bare only in the latency cases)",
    )
    args = parser.parse_args()
    scenarios = tuple(s for s in args.scenarios.split(",") if s)
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    sizes = [10, 100] if args.quick else [10, 100, 1000]
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",")]
    seconds = 1.0 if args.quick else args.seconds
    rooms = 20 if args.quick else args.rooms
    steady_events = 10 if args.quick else max(1, args.steady_events)
    _raise_fd_limit(2 * rooms * 10 + 4096)  # both targets' rooms at once, where allowed
    uvloop.install()
    with (
        tempfile.TemporaryDirectory() as tmp,
        server_process(Path(tmp), SERVER_ENV) as server,
        floor_server("raw_server", RAW, args.client) as raw,
        floor_server("bare_server", BARE, args.client) as bare,
    ):
        ours = Filmnight(server.base_url, server.process.pid, args.client)
        chosen: dict[str, Target] = {"filmnight": ours, "raw": raw, "bare": bare}
        names = [name for name in args.targets.split(",") if name]
        if not names or set(names) - set(chosen):
            parser.error(f"--targets takes filmnight, raw and/or bare, not {args.targets!r}")
        targets = [chosen[name] for name in names]
        rows = asyncio.run(
            run(targets, sizes, seconds, rooms, scenarios, max(1, args.repeat), steady_events)
        )
    header = [
        "server",
        "scenario",
        "p50 ms",
        "p99 ms",
        "read p50",
        "read p99",
        "delivered/s",
        "vs raw",
        "server fan-out ms",
    ]
    print(table(header, rows))
    print(
        f"\n(machine: {os.cpu_count()} cores; members: {args.client} websockets client;\n"
        " p50/p99: command sent -> the event arrived at the last member's socket (the "
        "kernel's receive stamp; the asyncio client has none and gives the read time);\n"
        " read: command sent -> this process had read the event off every member's socket;"
        "\n server fan-out: mean time the "
        "server took to write one publish (the events committed together) to every "
        "member's socket, from its metrics)"
    )


if __name__ == "__main__":
    main()
