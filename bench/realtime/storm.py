"""Reconnect storm: every member dropped at once, and the time until all have resumed.

    uv run python -m bench.realtime.storm [--members 10000] [--quick]

``--members`` members in sessions of ``--session-size`` (10), their seats made
beforehand through the HTTP API, connect and hold the ``seq`` of their last event.
Then all are dropped at once, and the figure is the time from the drop until every
member has its welcome with ``resumed`` true (its replay follows in the same write);
afterwards every member's ``seq`` must have run on without a gap or a duplicate and
every member of a session must hold the same last ``seq`` (one member per session
chats as soon as it is back, so the late ones get that in their replay). The
members are lean sans-I/O clients in ``--clients`` processes of their own
(bench/realtime/storm_members.py), behaving as the project's clients do (the
restart window of a 1012 close, else capped exponential back-off with jitter).

The drops, each measured on its own:

``cut``
    every member's socket reset at once (a network blip); they come back at once,
    after a back-off of 0.1-0.2 s.
``restart``
    the process gets SIGTERM (a deploy): it closes every socket with 1012 and a
    window of ``restart_reconnect_window_s``, exits, and is started again on the same
    port and database; timed both from the signal and from the first close.
``proxy``
    HAProxy (deploy/haproxy.cfg) in front of two processes on PostgreSQL and a
    private Redis: every socket cut at once, then each process restarted in turn
    (its members come back through the proxy to the other process).

The same number of connections reconnect to the raw ``websockets`` server
(bench/realtime/raw_server.py) in the same run, cut and restarted (killed and
started again: it has no log to resume from, so its welcome is its "resume").

With ``--load`` the proxy case also measures what PostgreSQL and Redis carry: the
database's committed transactions and rows (``pg_stat_database``) and Redis's
commands (``INFO commandstats``) counted over the storms (per hello) and over a
burst of chat messages (per event).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
import redis

from bench.realtime.__main__ import REPO, SERVER_ENV, _raise_fd_limit, table
from tests.support.haproxy import Proxy, haproxy
from tests.support.redis_server import private_redis
from tests.support.server_process import ServerProcess, server_process
from tests.support.services import POSTGRES_ADMIN_URL, free_port

STORM_ENV = {
    **SERVER_ENV,
    "FILMNIGHT_WS_IDLE_TIMEOUT_S": "3600",
    "FILMNIGHT_WS_PING_INTERVAL_S": "600",
}


# ------------------------------------------------------------------ the members' processes


class Clients:
    """The member processes; each holds whole sessions."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.procs: list[asyncio.subprocess.Process] = []

    async def start(self) -> None:
        for _ in range(self.count):
            self.procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bench.realtime.storm_members",
                    cwd=REPO,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    limit=1 << 26,
                )
            )

    async def _call(self, proc: asyncio.subprocess.Process, command: dict[str, Any]) -> Any:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(command).encode() + b"\n")
        await proc.stdin.drain()
        line = await proc.stdout.readline()
        if not line:
            raise RuntimeError("a member process ended")
        return json.loads(line)

    async def all(self, op: str, **args: Any) -> list[Any]:
        return list(await asyncio.gather(*(self._call(p, {"op": op, **args}) for p in self.procs)))

    async def load(self, seats: list[tuple[str, str, int, bool]], raw: bool) -> None:
        """Give each process whole sessions (a session's members compare their seqs)."""
        parts: list[list[tuple[str, str, int, bool]]] = [[] for _ in self.procs]
        for seat in seats:
            parts[seat[2] % len(parts)].append(seat)
        await asyncio.gather(
            *(
                self._call(p, {"op": "load", "raw": raw, "members": part})
                for p, part in zip(self.procs, parts, strict=True)
            )
        )

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.all("quit"), 30)
        for proc in self.procs:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
        self.procs = []


# ------------------------------------------------------------------ seats


async def make_seats(
    base_url: str, ws_url: str, members: int, size: int
) -> list[tuple[str, str, int, bool]]:
    """``members`` seats in sessions of ``size``: ``(ws url, token, session, speaker)``."""
    sessions = members // size
    gate = asyncio.Semaphore(24)
    seats: list[tuple[str, str, int, bool]] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as http:

        async def post(path: str, body: dict[str, object]) -> dict[str, Any]:
            async with gate:
                for _ in range(5):
                    response = await http.post(path, json=body)
                    if response.status_code in {200, 201}:
                        return dict(response.json())
                    await asyncio.sleep(0.5)
                raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")

        async def session(n: int) -> None:
            host = await post("/api/v1/sessions", {"host_name": f"s{n}"})
            url = f"{ws_url}/ws/v1/sessions/{host['session_id']}"
            joined = await asyncio.gather(
                *(
                    post(
                        f"/api/v1/invites/{host['invite_code']}/join",
                        {"name": f"m{i}", "bot": True},
                    )
                    for i in range(size - 1)
                )
            )
            seats.append((url, host["token"], n, True))
            seats.extend((url, j["token"], n, False) for j in joined)

        await asyncio.gather(*(session(n) for n in range(sessions)))
    return seats


# ------------------------------------------------------------------ one storm


@dataclass
class Storm:
    name: str
    members: int
    resumed: int
    from_drop_s: float
    """Drop (the signal or the cut) to the last member's resumed welcome."""
    from_close_s: float
    """The first close the members saw to the last resumed welcome."""
    p50_s: float
    errors: int
    sessions_apart: int
    client_cpu_s: float
    server_cpu_s: float
    listen_overflows: int
    """Connections the kernel dropped for a full accept queue (TcpExt ListenOverflows,
    counted for the whole machine: other programs' sockets too)."""
    accept_queue: tuple[int, int] = (0, 0)
    """The longest accept queue seen on the servers' listening sockets, and its limit."""
    started: float = 0.0
    notes: list[str] = field(default_factory=list)


class CpuMeter:
    """CPU seconds of a changing set of processes (a restarted one is a new pid): each
    pid's last reading counts, so a process that exited keeps what it had used."""

    def __init__(self, pids: Callable[[], list[int]]) -> None:
        self.pids = pids
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.sample(start=True)

    def sample(self, *, start: bool = False) -> None:
        for pid in self.pids():
            with contextlib.suppress(psutil.Error):
                times = psutil.Process(pid).cpu_times()
                used = float(times.user + times.system)
                self.first.setdefault(pid, used if start else 0.0)
                self.last[pid] = used

    def used(self) -> float:
        self.sample()
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


async def storm(
    name: str,
    clients: Clients,
    drop: Callable[[], Awaitable[float]],
    expected: int,
    server_pids: Callable[[], list[int]],
    timeout: float = 600.0,
    profile: Path | None = None,
    ports: tuple[int, ...] = (),
    profiled: Callable[[], list[int]] | None = None,
) -> Storm:
    """Drop ``expected`` members with ``drop`` (which returns when the drop began) and
    wait until every member dropped has resumed."""
    await clients.all("mark")
    client_cpu = CpuMeter(clients.pids)
    server_cpu = CpuMeter(server_pids)
    pids_before = server_pids()
    print(f"storm: {name} ({expected} members)", file=sys.stderr, flush=True)
    spy = _profiler(profiled() if profiled is not None else pids_before, profile)
    overflows = _listen_overflows()
    started = await drop()
    deadline = time.time() + timeout
    queue = (0, 0)
    looks = 0
    while time.time() < deadline:
        await asyncio.sleep(0.1)
        server_cpu.sample()
        looks += 1
        if ports and looks % 3 == 0:
            seen = await asyncio.to_thread(_accept_queue, ports)
            queue = (max(queue[0], seen[0]), max(queue[1], seen[1]))
        states = await clients.all("status")
        dropped = sum(s["dropped"] for s in states)
        resumed = sum(s["resumed"] for s in states)
        if dropped >= expected and resumed >= dropped:
            break
    if spy is not None:  # before the speakers' messages are waited for
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
    reports = await clients.all("report")
    # Let the speakers' messages reach everyone before the seqs are compared.
    for _ in range(50):
        if sum(r["sessions_apart"] for r in reports) == 0:
            break
        await asyncio.sleep(0.2)
        reports = await clients.all("report")
    resumed_at = [t for r in reports for t in r["resumed_at"]]
    closed_at = [t for r in reports for t in r["closed_at"]]
    last = max(resumed_at) if resumed_at else float("nan")
    result = Storm(
        name,
        expected,
        len(resumed_at),
        last - started,
        last - min(closed_at) if closed_at else float("nan"),
        statistics.median(resumed_at) - started if resumed_at else float("nan"),
        sum(r["error_count"] for r in reports),
        sum(r["sessions_apart"] for r in reports),
        client_cpu.used(),
        server_cpu.used(),
        _listen_overflows() - overflows,
        queue,
        started,
    )
    for r in reports:
        result.notes.extend(r["errors"][:3])
    print(f"  {result}", file=sys.stderr, flush=True)
    return result


def _listen_overflows() -> int:
    """This machine's count of connections refused for a full accept queue (all sockets)."""
    lines = Path("/proc/net/netstat").read_text().splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], values.split()[1:], strict=True))
            return int(table.get("ListenOverflows", 0))
    return 0


def _accept_queue(ports: tuple[int, ...]) -> tuple[int, int]:
    """The longest accept queue now on the sockets listening on ``ports``, and its limit
    (``ss``: Recv-Q and Send-Q of a listening socket)."""
    longest, limit = 0, 0
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            ["ss", "-ltnH"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
        for line in out.splitlines():
            fields = line.split()
            if len(fields) >= 4 and fields[3].rsplit(":", 1)[-1] in {str(p) for p in ports}:
                longest = max(longest, int(fields[1]))
                limit = max(limit, int(fields[2]))
    return longest, limit


def _profiler(pids: list[int], profile: Path | None) -> subprocess.Popen[bytes] | None:
    """py-spy sampling the (first) server process, as collapsed stacks, if asked: only
    the thread holding the GIL, so the stacks say where the CPU went (SQLAlchemy's
    greenlets show as stacks of their own, without the coroutine that awaits them)."""
    if profile is None or not pids:
        return None
    spy = subprocess.Popen(
        [
            *(
                "py-spy",
                "record",
                "--pid",
                str(pids[0]),
                "--rate",
                "250",
                "--format",
                "raw",
                "--gil",
            ),
            *("--output", str(profile), "--nonblocking"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # attached
    return spy


# ------------------------------------------------------------------ targets


@contextlib.contextmanager
def raw_server(port: int) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.realtime.raw_server", str(port)], cwd=REPO
    )
    try:
        _wait_port(port)
        yield process
    finally:
        process.kill()
        process.wait()


def _wait_port(port: int, timeout: float = 20.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {port}")


def _connections(server: ServerProcess) -> int:
    text = httpx.get(f"{server.base_url}/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith("filmnight_ws_connections "):
            return int(float(line.split()[1]))
    return 0


class Restartable:
    """One filmnight process that can be stopped (SIGTERM) and started again on its port."""

    def __init__(self, tmp: Path, env: dict[str, str], stack: contextlib.ExitStack) -> None:
        self.tmp = tmp
        self.env = env
        self.stack = stack
        self.port = free_port()
        self.server: ServerProcess | None = None
        self.ready_at = 0.0
        self.exited_at = 0.0

    def start(self) -> ServerProcess:
        # A loaded machine may take long to start a process: wait for it.
        self.server = self.stack.enter_context(
            server_process(self.tmp, self.env, self.port, ready_timeout=180)
        )
        self.ready_at = time.time()
        return self.server

    def stop(self) -> None:
        assert self.server is not None
        process = self.server.process
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)

    def pids(self) -> list[int]:
        return [self.server.process.pid] if self.server is not None else []


async def _restart(web: Restartable) -> float:
    """SIGTERM now; start the process again once it has exited (in the background)."""
    assert web.server is not None
    started = time.time()
    web.server.process.send_signal(signal.SIGTERM)

    def again() -> None:
        assert web.server is not None
        web.server.process.wait(timeout=120)
        web.exited_at = time.time()
        web.start()

    asyncio.get_running_loop().run_in_executor(None, again)
    return started


async def _seated(
    clients: Clients, seats: list[tuple[str, str, int, bool]], raw: bool
) -> dict[str, Any]:
    await clients.load(seats, raw)
    opened = await clients.all("connect")
    result = {
        "welcomed": sum(o["welcomed"] for o in opened),
        "took": max(o["took"] for o in opened),
    }
    print(f"connected: {result}", file=sys.stderr, flush=True)
    return result


async def single_process(args: argparse.Namespace, tmp: Path) -> list[Storm]:
    env = {
        **STORM_ENV,
        "FILMNIGHT_SHUTDOWN_DRAIN_S": str(args.drain),
        "FILMNIGHT_RESTART_RECONNECT_WINDOW_S": str(args.window),
        **args.server_env,
    }
    out: list[Storm] = []
    with contextlib.ExitStack() as stack:
        web = Restartable(tmp / "single", env, stack)
        server = web.start()
        print("making seats", file=sys.stderr, flush=True)
        seats = await make_seats(server.base_url, server.ws_url, args.members, args.session_size)
        clients = Clients(args.clients)
        await clients.start()
        try:
            await _seated(clients, seats, raw=False)
            if "cut" in args.drops:
                out.append(
                    await storm(
                        "filmnight, 1 process: sockets cut",
                        clients,
                        _cut(clients),
                        len(seats),
                        web.pids,
                        profile=args.profile,
                        ports=(web.port,),
                    )
                )
                await asyncio.sleep(3)
            if "restart" in args.drops:
                out.append(
                    await storm(
                        "filmnight, 1 process: SIGTERM, restart",
                        clients,
                        lambda: _restart(web),
                        len(seats),
                        web.pids,
                        ports=(web.port,),
                    )
                )
                out[-1].notes.append(_back(web, out[-1]))
        finally:
            await clients.stop()
    return out


def _back(web: Restartable, result: Storm) -> str:
    return (
        f"the process had exited {web.exited_at - result.started:.2f} s after SIGTERM "
        f"and was ready again at {web.ready_at - result.started:.2f} s"
    )


def _cut(clients: Clients) -> Callable[[], Awaitable[float]]:
    async def cut() -> float:
        return float(min(r["cut_at"] for r in await clients.all("cut")))

    return cut


async def raw(args: argparse.Namespace) -> list[Storm]:
    port = free_port()
    url = f"ws://127.0.0.1:{port}"
    seats = [
        (f"{url}/room/{n // args.session_size}", "", n // args.session_size, False)
        for n in range(args.members)
    ]
    out: list[Storm] = []
    holder: dict[str, subprocess.Popen[bytes]] = {}
    with contextlib.ExitStack() as stack:
        holder["p"] = stack.enter_context(raw_server(port))
        clients = Clients(args.clients)
        await clients.start()

        def pids() -> list[int]:
            return [holder["p"].pid]

        async def restart() -> float:
            started = time.time()
            holder["p"].kill()

            def again() -> None:
                holder["p"].wait()
                holder["p"] = stack.enter_context(raw_server(port))

            asyncio.get_running_loop().run_in_executor(None, again)
            return started

        try:
            await _seated(clients, seats, raw=True)
            if "cut" in args.drops:
                out.append(
                    await storm(
                        "raw websockets: sockets cut",
                        clients,
                        _cut(clients),
                        len(seats),
                        pids,
                        ports=(port,),
                    )
                )
                await asyncio.sleep(2)
            if "restart" in args.drops:
                out.append(
                    await storm(
                        "raw websockets: killed, restarted",
                        clients,
                        restart,
                        len(seats),
                        pids,
                        ports=(port,),
                    )
                )
        finally:
            await clients.stop()
    return out


# ------------------------------------------------------------------ proxy, PostgreSQL, Redis


@dataclass
class Load:
    """What PostgreSQL and Redis were asked for over a span."""

    scans: dict[str, int]
    """Reads of each table (index or sequential scans), by table."""
    seq_scans: dict[str, int]
    xact_commit: int
    xact_rollback: int
    tup_returned: int
    tup_fetched: int
    tup_inserted: int
    tup_updated: int
    tup_deleted: int
    redis: dict[str, int]


async def _pg_counts(database: str) -> dict[str, int]:
    """The database's transactions and rows (``pg_stat_database``), and its tables' scans
    (``pg_stat_user_tables``: one per table a statement read, by index or sequentially)."""
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}")
    try:
        row = await conn.fetchrow(
            "SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted, "
            "tup_updated, tup_deleted FROM pg_stat_database WHERE datname = $1",
            database,
        )
        tables = await conn.fetch(
            "SELECT relname, coalesce(seq_scan, 0) AS seq, coalesce(idx_scan, 0) AS idx "
            "FROM pg_stat_user_tables"
        )
    finally:
        await conn.close()
    assert row is not None
    counts = dict(row)
    for found in tables:
        counts[f"scan:{found['relname']}"] = int(found["seq"]) + int(found["idx"])
        counts[f"seqscan:{found['relname']}"] = int(found["seq"])
    return counts


def _redis_counts(url: str) -> dict[str, int]:
    info = redis.Redis.from_url(url).info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in info.items()}


async def measure(database: str, redis_url: str) -> dict[str, Any]:
    # pg_stat_database is updated by each backend at most every second or so.
    return {"pg": await _pg_counts(database), "redis": _redis_counts(redis_url)}


def delta(before: dict[str, Any], after: dict[str, Any]) -> Load:
    pg = {k: after["pg"][k] - before["pg"].get(k, 0) for k in after["pg"]}
    scans = {k.split(":", 1)[1]: pg.pop(k) for k in list(pg) if k.startswith("scan:")}
    seq_scans = {k.split(":", 1)[1]: pg.pop(k) for k in list(pg) if k.startswith("seqscan:")}
    commands = {k: after["redis"].get(k, 0) - before["redis"].get(k, 0) for k in after["redis"]}
    return Load(
        scans={k: v for k, v in scans.items() if v},
        seq_scans={k: v for k, v in seq_scans.items() if v},
        redis={k: v for k, v in commands.items() if v},
        **pg,
    )


async def proxied(args: argparse.Namespace, tmp: Path) -> tuple[list[Storm], dict[str, Any]]:
    database = f"filmnight_storm_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{database}"')
    await admin.close()
    host_part = POSTGRES_ADMIN_URL.split("://", 1)[1].rsplit("/", 1)[0]
    url = f"postgresql+asyncpg://{host_part}/{database}"
    from server.db.migrate import upgrade

    await asyncio.to_thread(upgrade, url)
    out: list[Storm] = []
    load: dict[str, Any] = {}
    try:
        with contextlib.ExitStack() as stack:
            cache = stack.enter_context(private_redis())
            env = {
                **STORM_ENV,
                "FILMNIGHT_DATABASE_URL": url,
                "FILMNIGHT_REDIS_URL": cache.url,
                "FILMNIGHT_FORWARDED_ALLOW_IPS": "127.0.0.1",
                "FILMNIGHT_MASTER_KEY": "k1:" + secrets.token_urlsafe(32),
                "FILMNIGHT_RESTART_RECONNECT_WINDOW_S": str(args.window),
                **args.server_env,
            }
            webs = [Restartable(tmp / f"web{n}", env, stack) for n in (1, 2)]
            for web in webs:
                web.start()
            proxy: Proxy = stack.enter_context(
                haproxy(tmp, f"127.0.0.1:{webs[0].port}", f"127.0.0.1:{webs[1].port}")
            )
            await asyncio.to_thread(proxy.wait_status, {"web1": "UP", "web2": "UP"})

            def pids() -> list[int]:
                return [pid for web in webs for pid in web.pids()]

            ports = (webs[0].port, webs[1].port, int(proxy.base_url.rsplit(":", 1)[1]))

            # HAProxy holds two descriptors per member (the client's, the process's): its
            # own limit (from `ulimit -n`) may hold fewer members than asked for.
            members = min(args.members, _proxy_maxconn(proxy) - 80)
            members -= members % args.session_size
            if members < args.members:
                print(f"HAProxy's maxconn holds {members} members", file=sys.stderr, flush=True)
            print("making seats (through the proxy)", file=sys.stderr, flush=True)
            ws_url = proxy.base_url.replace("http", "ws", 1)
            seats = await make_seats(proxy.base_url, ws_url, members, args.session_size)
            clients = Clients(args.clients)
            await clients.start()
            try:
                before = await measure(database, cache.url)
                joined = await _seated(clients, seats, raw=False)
                await asyncio.sleep(1.5)
                after = await measure(database, cache.url)
                load["hello (fresh)"] = (delta(before, after), joined["welcomed"])
                if "cut" in args.drops:
                    before = after
                    out.append(
                        await storm(
                            "filmnight, HAProxy + 2 processes: sockets cut",
                            clients,
                            _cut(clients),
                            len(seats),
                            pids,
                            profile=args.profile,
                            ports=ports,
                        )
                    )
                    await asyncio.sleep(1.5)
                    after = await measure(database, cache.url)
                    load["hello (resume)"] = (delta(before, after), out[-1].resumed)
                if "restart" in args.drops:
                    for n, web in enumerate(webs, start=1):
                        await asyncio.sleep(3)
                        assert web.server is not None
                        held = await asyncio.to_thread(_connections, web.server)
                        out.append(
                            await storm(
                                f"filmnight, HAProxy + 2 processes: web{n} SIGTERM, restart",
                                clients,
                                lambda web=web: _restart(web),  # type: ignore[misc]
                                held,
                                pids,
                                ports=ports,
                                # The process its members come back to.
                                profile=_suffixed(args.profile, f"web{n}-restart"),
                                profiled=webs[2 - n].pids,
                            )
                        )
                        try:
                            await asyncio.to_thread(proxy.wait_status, {f"web{n}": "UP"}, 60)
                        except AssertionError:
                            log = web.tmp / f"data-{web.port}" / "server.log"
                            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                            print(f"web{n} is not back; its log ends:\n{tail}", file=sys.stderr)
                            raise
                        out[-1].notes.append(_back(web, out[-1]))
                if args.load:
                    await asyncio.sleep(2)
                    before = await measure(database, cache.url)
                    took, events = await _chat_burst(clients, args.chats)
                    await asyncio.sleep(1.5)
                    after = await measure(database, cache.url)
                    load["chat event"] = (delta(before, after), events)
                    load["chat events/s (2 processes, through the proxy)"] = events / took
            finally:
                await clients.stop()
    finally:
        admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
    return out, load


def _suffixed(path: Path | None, suffix: str) -> Path | None:
    return None if path is None else path.with_name(f"{path.stem}-{suffix}{path.suffix}")


def _proxy_maxconn(proxy: Proxy) -> int:
    for line in proxy.command("show info").splitlines():
        if line.startswith("Maxconn:"):
            return int(line.split(":")[1])
    return 1_000_000


async def _chat_burst(clients: Clients, per_speaker: int) -> tuple[float, int]:
    started = time.time()
    results = await clients.all("chat", count=per_speaker)
    return time.time() - started, sum(r["acked"] for r in results)


# ------------------------------------------------------------------ main


def _table(rows: list[Storm]) -> str:
    header = [
        "drop",
        "members",
        "resumed",
        "all back (s)",
        "from 1st close (s)",
        "median (s)",
        "errors",
        "client CPU s",
        "server CPU s",
        "accept queue (max/limit)",
        "overflows (machine)",
    ]
    body = [
        [
            r.name,
            str(r.members),
            str(r.resumed),
            f"{r.from_drop_s:.2f}",
            f"{r.from_close_s:.2f}",
            f"{r.p50_s:.2f}",
            str(r.errors + r.sessions_apart),
            f"{r.client_cpu_s:.1f}",
            f"{r.server_cpu_s:.1f}",
            f"{r.accept_queue[0]}/{r.accept_queue[1]}",
            str(r.listen_overflows),
        ]
        for r in rows
    ]
    return table(header, body)


def _load_line(name: str, value: Any) -> str:
    if not isinstance(value, tuple):
        return f"{name}: {value:,.0f}"
    counted, n = value
    n = max(1, n)
    commands = ", ".join(f"{k} {v / n:.2f}" for k, v in sorted(counted.redis.items()))
    read = counted.tup_returned + counted.tup_fetched
    written = counted.tup_inserted + counted.tup_updated + counted.tup_deleted
    tables = ", ".join(
        f"{k} {v / n:.2f}" for k, v in sorted(counted.scans.items(), key=lambda kv: -kv[1])
    )
    seq = ", ".join(f"{k} {v / n:.2f}" for k, v in sorted(counted.seq_scans.items()))
    return (
        f"per {name} (n={n}): transactions {counted.xact_commit / n:.2f} committed "
        f"+ {counted.xact_rollback / n:.2f} read-only (rolled back), "
        f"table reads {sum(counted.scans.values()) / n:.2f} ({tables}; sequential: {seq or 0}), "
        f"rows read {read / n:.1f}, rows written {written / n:.2f}; "
        f"Redis commands {sum(counted.redis.values()) / n:.2f} ({commands})"
    )


async def run(args: argparse.Namespace) -> None:
    rows: list[Storm] = []
    load: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if "single" in args.targets:
            rows += await single_process(args, Path(tmp))
        if "raw" in args.targets:
            rows += await raw(args)
        if "proxy" in args.targets:
            storms, load = await proxied(args, Path(tmp))
            rows += storms
    print(_table(rows))
    for row in rows:
        for note in row.notes:
            print(f"  {row.name}: {note}")
    if load:
        print("\nPostgreSQL and Redis, counted (pg_stat_database, INFO commandstats):")
        for name, value in load.items():
            print(f"  {_load_line(name, value)}")
    print(
        f"\n(machine: {os.cpu_count()} cores; {args.members} members in sessions of "
        f"{args.session_size}; {args.clients} member process(es); restart window "
        f"{args.window} s; single-process drain {args.drain} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--session-size", type=int, default=10)
    parser.add_argument("--clients", type=int, default=1, help="member processes")
    parser.add_argument("--targets", default="single,raw,proxy")
    parser.add_argument("--drops", default="cut,restart")
    parser.add_argument(
        "--window", type=float, default=2.0, help="restart_reconnect_window_s of the processes"
    )
    parser.add_argument(
        "--drain",
        type=float,
        default=0.0,
        help="shutdown_drain_s of the single process (no load balancer to wait for)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting of the filmnight processes, e.g. FILMNIGHT_WS_HELLOS_AT_ONCE=100000",
    )
    parser.add_argument("--load", action="store_true", help="count PostgreSQL and Redis work")
    parser.add_argument("--chats", type=int, default=20, help="chat messages per session (--load)")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="py-spy's collapsed stacks of the (first) server process during its cut storm "
        "(single process, or web1 behind the proxy), to this file; behind the proxy also "
        "of the process taking the members during each restart (NAME-webN-restart.EXT)",
    )
    parser.add_argument("--quick", action="store_true", help="200 members (a smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.members = 200
    args.server_env = dict(item.split("=", 1) for item in args.server_env)
    args.targets = set(args.targets.split(","))
    args.drops = set(args.drops.split(","))
    _raise_fd_limit(4 * args.members + 8192)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
