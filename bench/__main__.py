"""Run every benchmark, one after the other: ``uv run python -m bench [--quick]``.

Each benchmark prints its own table; ``--quick`` passes through to the ones that
have a short mode (a smoke run, not figures to report).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS: list[tuple[str, list[str], list[str]]] = [
    (
        "lobby: sessions, joins, handshakes",
        ["bench/bench_lobby.py"],
        ["--calls", "100", "--handshakes", "100"],
    ),
    ("realtime: fan-out against the raw floor", ["-m", "bench.realtime"], ["--quick"]),
    ("watch party: playback command to every member", ["bench/bench_party.py"], ["--seconds", "1"]),
    ("browser: a first visit to an invite link", ["bench/bench_client.py"], ["--runs", "3"]),
    ("watchlist import: spider, parser, encryption", ["bench/bench_import.py"], ["--repeat", "1"]),
    ("encrypted lists: each step of the envelope", ["bench/bench_crypto.py"], []),
    ("voting methods: winners on 1,000 ballots", ["bench/bench_methods.py"], []),
    (
        "voting: candidates, methods, a live poll",
        ["bench/bench_voting.py"],
        ["--members", "100", "--repeat", "3"],
    ),
    ("limits for tonight: a page of candidates", ["bench/bench_limits.py"], ["--repeat", "2"]),
    (
        "film details: a 1,500-film export against TMDb's 40/s",
        ["bench/bench_enrichment.py"],
        ["--quick"],
    ),
]


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    failed = 0
    for title, target, quick_args in BENCHMARKS:
        print(f"\n== {title}", flush=True)
        result = subprocess.run(
            [sys.executable, *target, *(quick_args if quick else [])], cwd=REPO, check=False
        )
        failed += result.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
