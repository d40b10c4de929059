"""Session creation, joining and WebSocket handshakes against the embedded default.

    uv run python bench/bench_lobby.py [--calls 1000] [--handshakes 500]

Starts ``filmnight serve`` (SQLite, in-memory channels) in a subprocess on a free
port, drives it from this process over loopback, and prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.server_process import server_process

_ENV = {
    "FILMNIGHT_MAX_MEMBERS": "100000",
    "FILMNIGHT_SESSIONS_PER_MINUTE": "1000000",
    "FILMNIGHT_JOINS_PER_MINUTE": "1000000",
}


def _pct(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


async def _timed_calls(
    base_url: str, calls: int
) -> tuple[list[float], list[float], str, list[str], list[tuple[str, str]]]:
    create_ms: list[float] = []
    join_ms: list[float] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        code = ""
        session_id = ""
        hosts: list[tuple[str, str]] = []
        for _ in range(calls):
            start = time.perf_counter()
            response = await http.post(
                "/api/v1/sessions", json={"host_name": "Bench", "title": "Bench night"}
            )
            create_ms.append((time.perf_counter() - start) * 1000)
            response.raise_for_status()
            code = response.json()["invite_code"]
            session_id = response.json()["session_id"]
            hosts.append((session_id, response.json()["token"]))
        tokens = []
        for i in range(calls):
            start = time.perf_counter()
            response = await http.post(f"/api/v1/invites/{code}/join", json={"name": f"guest {i}"})
            join_ms.append((time.perf_counter() - start) * 1000)
            response.raise_for_status()
            tokens.append(response.json()["token"])
    return create_ms, join_ms, session_id, tokens, hosts


async def _handshakes(ws_url: str, seats: list[tuple[str, str]], concurrency: int = 20) -> float:
    """Handshakes per second up to ``welcome``; ``seats`` are (session_id, token)."""
    queue = list(seats)

    async def worker() -> int:
        done = 0
        while queue:
            session_id, token = queue.pop()
            # max_queue=None: keep reading presence frames, so the close handshake is not stuck
            # behind a full receive buffer.
            async with websockets.connect(
                f"{ws_url}/ws/v1/sessions/{session_id}", max_queue=None
            ) as ws:
                await ws.send(json.dumps({"type": "hello", "token": token, "last_seq": None}))
                while json.loads(await ws.recv())["type"] != "welcome":
                    pass
            done += 1
        return done

    start = time.perf_counter()
    total = sum(await asyncio.gather(*(worker() for _ in range(concurrency))))
    return total / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--handshakes", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, server_process(Path(tmp), _ENV) as server:
        create_ms, join_ms, session_id, tokens, hosts = asyncio.run(
            _timed_calls(server.base_url, args.calls)
        )
        small = asyncio.run(_handshakes(server.ws_url, hosts[: args.handshakes]))
        crowd = [(session_id, token) for token in tokens[: args.handshakes]]
        big = asyncio.run(_handshakes(server.ws_url, crowd))
    rows = [
        (
            "POST /sessions (create)",
            f"{statistics.median(create_ms):.2f} ms",
            f"{_pct(create_ms, 99):.2f} ms",
            len(create_ms),
        ),
        (
            "POST /invites/{code}/join",
            f"{statistics.median(join_ms):.2f} ms",
            f"{_pct(join_ms, 99):.2f} ms",
            len(join_ms),
        ),
    ]
    print(f"{'operation':<30} {'median':>12} {'p99':>12} {'calls':>7}")
    for name, median, p99, count in rows:
        print(f"{name:<30} {median:>12} {p99:>12} {count:>7}")
    for label, rate, seats in [
        ("WS handshakes, small sessions", small, min(len(hosts), args.handshakes)),
        (f"WS handshakes, {len(tokens)}-member", big, min(len(tokens), args.handshakes)),
    ]:
        print(f"{label:<30} {rate:>12.0f} /s  ({seats} handshakes to welcome, 20 concurrent)")


if __name__ == "__main__":
    main()
