"""Voting methods alone: the winner on 1,000 random ballots over 20 films, each method.

    uv run python bench/bench_methods.py [--ballots 1000] [--films 20] [--repeat 50]

Pure computation (``server.voting.methods.tally``), no server.  Two kinds of
profile: complete rankings, and truncated ones (each ballot lists a random 1 to
all of the films, the rest tied last).  Each cell is the time of one whole
``tally`` call, explanation included, over ``--repeat`` runs after one warm-up.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.voting.methods import METHODS, Method, tally


def profile(films: list[str], ballots: int, *, truncated: bool, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(ballots):
        ranking = films[:]
        rng.shuffle(ranking)
        out.append(ranking[: rng.randint(1, len(films))] if truncated else ranking)
    return out


def percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile: a value that was actually measured."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def measure(
    method: Method, films: list[str], ballots: list[list[str]], repeat: int
) -> tuple[str | None, float, float]:
    winner = tally(method, films, ballots).winner  # warm-up, and the answer to show
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        tally(method, films, ballots)
        times.append((time.perf_counter() - start) * 1000)
    return winner, statistics.median(times), percentile(times, 99)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ballots", type=int, default=1000)
    parser.add_argument("--films", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    films = [f"f{i}" for i in range(args.films)]
    print(f"{args.ballots} ballots over {args.films} films, {args.repeat} runs each\n")
    print(f"{'method':<10} {'ballots':<10} {'winner':>7} {'median ms':>10} {'p99 ms':>8}")
    for truncated in (False, True):
        ballots = profile(films, args.ballots, truncated=truncated, seed=args.seed)
        kind = "truncated" if truncated else "complete"
        for method in METHODS:
            winner, median, p99 = measure(method, films, ballots, args.repeat)
            print(f"{method:<10} {kind:<10} {winner or '-':>7} {median:>10.2f} {p99:>8.2f}")


if __name__ == "__main__":
    main()
