"""hello → welcome: how fast members get in, and what each one costs the server to hold.

    uv run python -m bench.realtime welcome [--repeat 3] [--shapes 1x1000,1000x10] [--profile FILE]

Two shapes, each against filmnight and against the raw ``websockets`` server
(bench/realtime/raw_server.py, which answers a hello with a small welcome) started
in the same run:

- one session of 1,000 members (``1x1000``);
- 1,000 sessions of 10 members (``1000x10``).

The seats (sessions, invites, joins: the HTTP API) are made before anything is
measured. A measured window opens every member's socket, sends its ``hello`` with
its valid token and waits for its ``welcome`` (at most ``--concurrency`` handshakes
at once, the same for both servers); the rate is members over the time from the
first socket opened to the last welcome held. Then, once the server has settled
(its CPU quiet), the server's memory per connection is its RSS growth over the
window divided by the connections. The members read everything that reaches them
until they close. Beside each rate, the CPU the server process and this (the
members') process spent per welcome: the client reads every welcome whole (some
160 KB each into a session of 1,000), so its figure says whether it, rather than
the server, set the pace. Neither side negotiates permessage-deflate (filmnight
runs with it off, the raw server with ``compression=None``, and the members offer
no extension), so both send the same kind of frames.

Each shape is measured ``--repeat`` times, alternating between the servers, so a
slow spell of this shared machine falls on both; the table gives the medians and
the median of the round-by-round ratios. Every window runs against a freshly
started server process (filmnight on the same database, its seats kept), so its
memory figure is what a process grows by when that many members come in, the
allocator's high-water mark included: a process does not give that back.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import msgspec
import uvloop

from bench.realtime.__main__ import (
    RAW,
    SERVER_ENV,
    _cpu_seconds,
    _raise_fd_limit,
    _rss_kib,
    floor_server,
    quiet,
    table,
)
from bench.realtime.members import KINDS, Member, connect
from bench.realtime.storm import _profiler
from tests.support.server_process import ServerProcess, server_process
from tests.support.services import free_port

__all__ = ["main"]


class _Frame(msgspec.Struct):
    type: str


_decode = msgspec.json.Decoder(_Frame).decode


@dataclass
class Seats:
    """One server's members for a shape: (socket URL, hello frame) each."""

    name: str
    pid: int
    members: list[tuple[str, str]]
    rates: list[float] = field(default_factory=list)
    kib: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)
    """The server process's CPU (user + system) per welcome over the window, in ms."""
    client_ms: list[float] = field(default_factory=list)
    """This (the members') process's CPU per welcome over the window, in ms: it must
    stay well under the server's, or the client, not the server, is measured."""


async def filmnight_seats(base_url: str, sessions: int, size: int) -> list[tuple[str, str]]:
    """Make ``sessions`` sessions of ``size`` seats through the HTTP API (not measured)."""
    ws = base_url.replace("http", "ws", 1)
    out: list[tuple[str, str]] = []
    sem = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:

        async def seat(code: str, i: int) -> str:
            async with sem:
                response = await http.post(
                    f"/api/v1/invites/{code}/join", json={"name": f"m{i}", "bot": True}
                )
                response.raise_for_status()
                return str(response.json()["token"])

        async def session(n: int) -> list[tuple[str, str]]:
            async with sem:
                response = await http.post("/api/v1/sessions", json={"host_name": f"h{n}"})
                response.raise_for_status()
                host = response.json()
            tokens = [host["token"]]
            tokens += await asyncio.gather(*(seat(host["invite_code"], i) for i in range(size - 1)))
            url = f"{ws}/ws/v1/sessions/{host['session_id']}"
            return [(url, _hello(token)) for token in tokens]

        for batch in range(0, sessions, 50):
            last = min(sessions, batch + 50)
            made = await asyncio.gather(*(session(n) for n in range(batch, last)))
            for members in made:
                out.extend(members)
    return out


def _hello(token: str) -> str:
    return msgspec.json.encode({"type": "hello", "token": token}).decode()


def raw_seats(url: str, sessions: int, size: int, shape: str) -> list[tuple[str, str]]:
    return [
        (f"{url}/room/{shape}-{n}", '{"type":"hello","token":"t"}')
        for n in range(sessions)
        for _ in range(size)
    ]


async def window(seats: Seats, client: str, concurrency: int) -> list[Member]:
    """Every member in, hello → welcome; notes the rate and the memory per connection."""
    await quiet(seats.pid)
    before = _rss_kib(seats.pid)
    sem = asyncio.Semaphore(concurrency)

    def ignore(_raw: str | bytes, _arrived: float | None) -> None:
        return None

    async def member(url: str, hello: str) -> Member:
        async with sem:
            m = await connect(client, url)
            await m.send(hello)
            while _decode(await m.recv()).type != "welcome":
                pass
        m.listen(ignore)  # whatever follows (presence) is read, never left in buffers
        return m

    server_cpu, client_cpu = _cpu_seconds(seats.pid), time.process_time()
    start = time.perf_counter()
    members = list(await asyncio.gather(*(member(url, hello) for url, hello in seats.members)))
    elapsed = time.perf_counter() - start
    seats.rates.append(len(members) / elapsed)
    seats.server_ms.append((_cpu_seconds(seats.pid) - server_cpu) * 1000 / len(members))
    seats.client_ms.append((time.process_time() - client_cpu) * 1000 / len(members))
    await asyncio.sleep(1.0)
    await quiet(seats.pid)
    seats.kib.append((_rss_kib(seats.pid) - before) / len(members))
    print(
        f"  {seats.name}: {seats.rates[-1]:,.0f} welcomes/s, {seats.kib[-1]:.1f} KiB/conn, "
        f"CPU per welcome: server {seats.server_ms[-1]:.2f} ms, "
        f"client {seats.client_ms[-1]:.2f} ms",
        file=sys.stderr,
        flush=True,
    )
    return members


async def close_all(members: list[Member]) -> None:
    sem = asyncio.Semaphore(256)

    async def close(m: Member) -> None:
        async with sem:
            with contextlib.suppress(Exception):
                await m.close()

    await asyncio.gather(*(close(m) for m in members))


def _shape(text: str) -> tuple[int, int]:
    sessions, size = text.split("x")
    return int(sessions), int(size)


def measure(
    shapes: list[str],
    repeat: int,
    client: str,
    concurrency: int,
    tmp: Path,
    profile: Path | None = None,
) -> list[list[str]]:
    """Seat every shape once, then ``repeat`` rounds: in each, every shape against a
    freshly started filmnight (the same database) and a freshly started raw server,
    so that each window's memory is what a process that has welcomed no one grows by."""
    port = free_port()
    ours: dict[str, Seats] = {}
    raw: dict[str, Seats] = {}
    with server_process(tmp, SERVER_ENV, port=port) as server:
        for shape in shapes:
            sessions, size = _shape(shape)
            print(f"seating {shape} (not measured)", file=sys.stderr, flush=True)
            seated = asyncio.run(filmnight_seats(server.base_url, sessions, size))
            ours[shape] = Seats("filmnight", 0, seated)
    for n in range(repeat):
        for shape in shapes:
            print(f"measuring hello -> welcome {shape}, round {n + 1}", file=sys.stderr)
            sessions, size = _shape(shape)
            with _started(tmp, port) as server:
                ours[shape].pid = server.process.pid
                where = (
                    profile.with_name(f"{profile.stem}-{shape}-{n + 1}{profile.suffix}")
                    if profile
                    else None
                )
                spy = _profiler([server.process.pid], where)
                try:
                    asyncio.run(_window(ours[shape], client, concurrency))
                finally:
                    if spy is not None:
                        spy.send_signal(signal.SIGINT)
                        spy.wait(timeout=60)
            with floor_server("raw_server", RAW, client) as floor:
                if shape not in raw:
                    raw[shape] = Seats(RAW, 0, raw_seats(floor.url, sessions, size, shape))
                raw[shape].pid = floor.pid
                raw[shape].members = raw_seats(floor.url, sessions, size, shape)
                asyncio.run(_window(raw[shape], client, concurrency))
    rows: list[list[str]] = []
    for shape in shapes:
        sessions, size = _shape(shape)
        mine, floor_seats = ours[shape], raw[shape]
        pairs = zip(mine.rates, floor_seats.rates, strict=True)
        rate_ratio = statistics.median(a / b for a, b in pairs)
        label = f"hello -> welcome, {sessions} x {size}"
        for seats in (mine, floor_seats):
            rows.append(
                [
                    seats.name,
                    label,
                    f"{statistics.median(seats.rates):,.0f}",
                    f"{rate_ratio:.2f}x" if seats is mine else "",
                    f"{statistics.median(seats.kib):.1f}",
                    f"{statistics.median(seats.server_ms):.2f}",
                    f"{statistics.median(seats.client_ms):.2f}",
                    " ".join(f"{r:,.0f}" for r in seats.rates),
                    " ".join(f"{k:.1f}" for k in seats.kib),
                ]
            )
    return rows


@contextlib.contextmanager
def _started(tmp: Path, port: int, attempts: int = 3) -> Iterator[ServerProcess]:
    """The server on its database again; a start this loaded machine made too slow
    for the readiness wait is tried again."""
    for attempt in range(attempts):
        try:
            with server_process(tmp, SERVER_ENV, port=port) as server:
                yield server
                return
        except RuntimeError as exc:
            if "not ready" not in str(exc) or attempt == attempts - 1:
                raise
            print("  the server was slow to start; starting it again", file=sys.stderr)
    raise AssertionError("unreachable")


async def _window(seats: Seats, client: str, concurrency: int) -> None:
    members = await window(seats, client, concurrency)
    await close_all(members)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.realtime welcome",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds per shape and server")
    parser.add_argument(
        "--shapes",
        default="1x1000,1000x10",
        help="comma-separated SESSIONSxSIZE shapes (default: 1x1000,1000x10)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=64, help="handshakes in flight at once (both servers)"
    )
    parser.add_argument("--client", choices=KINDS, default=KINDS[0])
    parser.add_argument("--quick", action="store_true", help="small shapes, one round (smoke)")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="py-spy's collapsed stacks of filmnight during each window, to FILE-SHAPE-ROUND",
    )
    args = parser.parse_args(argv)
    shapes = ["1x50", "10x5"] if args.quick else [s for s in args.shapes.split(",") if s]
    repeat = 1 if args.quick else max(1, args.repeat)
    most = max(a * b for a, b in map(_shape, shapes))
    _raise_fd_limit(most + 4096)
    uvloop.install()
    with tempfile.TemporaryDirectory() as tmp:
        rows = measure(shapes, repeat, args.client, args.concurrency, Path(tmp), args.profile)
    header = [
        "server",
        "scenario",
        "welcomes/s (median)",
        "vs raw",
        "KiB/conn (median)",
        "server CPU ms/welcome",
        "client CPU ms/welcome",
        "welcomes/s by round",
        "KiB/conn by round",
    ]
    print(table(header, rows))
    print(
        f"\n(machine: {os.cpu_count()} cores; members: {args.client} websockets client; "
        f"{args.concurrency} handshakes in flight;\n welcomes/s: members over the time from "
        "the first socket opened to the last welcome held, seats made beforehand;\n KiB/conn: "
        "the server's RSS growth over the window, once settled, per connection;\n vs raw: "
        "median of the round-by-round ratios;\n CPU ms/welcome: the server's and this client "
        "process's CPU over the window, per welcome (medians);\n permessage-deflate: off on "
        "both servers (filmnight: ws_per_message_deflate false; raw: compression=None) and "
        "not offered by the members)"
    )


if __name__ == "__main__":
    main()
