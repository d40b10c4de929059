"""Voting methods as pure functions: approval, Borda, instant-runoff and Schulze.

``tally(method, films, ballots)`` takes the shortlist in its order and each
ballot as film ids best first, possibly partial.

Ballot semantics (PROTOCOL.md): approval approves exactly the listed films; the
ranked methods rank unlisted films below every listed one, tied with each other.

- **approval**: most approvals wins.  ``{"approvals": {film: n}}``.
- **borda**: with m films, a listed film at position i (0-based) scores m-1-i;
  the unlisted films of a ballot share the remaining positions equally, each
  scoring (m-1-k)/2 for k listed films (the usual "averaged" rule for ties).
  Highest total wins.  ``{"scores": {film: points}}``.
- **irv** (instant-runoff): each round counts every ballot for its best film still
  in the race (a ballot whose listed films are all out is exhausted and ignored).
  A film with more than half of the counted ballots wins.  Otherwise every film
  with the fewest votes is eliminated at once; if that would eliminate all, the
  remaining films tie.  ``{"rounds": [{"counts": {film: n}, "eliminated": [film]}]}``.
- **schulze** (beat path): d[a][b] is the number of ballots ranking a above b.
  A defeat a→b has strength d[a][b] − d[b][a] (its margin); a path is as strong as
  its weakest defeat; p[a][b] is the strongest path (Floyd–Warshall).  A film x
  wins when p[x][y] >= p[y][x] for every y.  ``{"pairwise": d, "strongest": p}``.
  Margins (rather than winning votes) give the same winners on complete rankings
  and are the strength ``pref_voting`` uses; with partial ballots they are the
  more robust choice.

Ties: ``winners`` is the whole winner set; ``winner`` is the one earliest in the
shortlist, a rule every member can check on screen.  ``winner`` is ``None`` only
when there are no films; with films but no ballots every film ties.

An empty ballot approves nothing and ranks every film equal: it changes no
winner.  A ballot naming a film outside the shortlist, or naming one twice, is a
bug in the caller (rounds validate ballots first) and raises ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import msgspec

__all__ = ["METHODS", "Method", "MethodResult", "tally"]

Method = Literal["approval", "borda", "irv", "schulze"]
METHODS: tuple[Method, ...] = ("approval", "borda", "irv", "schulze")


class MethodResult(msgspec.Struct, kw_only=True):
    winners: list[str]
    """The winner set before the tie-break, in shortlist order."""
    winner: str | None
    explanation: dict[str, Any]


def _indexed(films: Sequence[str], ballots: Sequence[Sequence[str]]) -> list[list[int]]:
    """Ballots as shortlist positions: every method then works on plain int lists."""
    position = {film: i for i, film in enumerate(films)}
    if len(position) != len(films):
        raise ValueError("the shortlist repeats a film")
    indexed = []
    for ballot in ballots:
        try:
            row = [position[film] for film in ballot]
        except KeyError as missing:  # the round validates ballots: this is a bug upstream
            raise ValueError(f"a ballot lists {missing.args[0]!r}, not in the shortlist") from None
        if len(set(row)) != len(row):
            raise ValueError("a ballot repeats a film")
        indexed.append(row)
    return indexed


def _result(films: Sequence[str], best: list[int], explanation: dict[str, Any]) -> MethodResult:
    winners = [films[i] for i in sorted(best)]
    return MethodResult(
        winners=winners, winner=winners[0] if winners else None, explanation=explanation
    )


def _top(scores: Sequence[float]) -> list[int]:
    if not scores:
        return []
    high = max(scores)
    return [i for i, s in enumerate(scores) if s == high]


def approval(films: Sequence[str], ballots: Sequence[Sequence[str]]) -> MethodResult:
    counts = [0] * len(films)
    for ballot in _indexed(films, ballots):
        for i in ballot:
            counts[i] += 1
    return _result(films, _top(counts), {"approvals": {f: counts[i] for i, f in enumerate(films)}})


def borda(films: Sequence[str], ballots: Sequence[Sequence[str]]) -> MethodResult:
    m = len(films)
    scores = [0.0] * m
    for ballot in _indexed(films, ballots):
        for rank, i in enumerate(ballot):
            scores[i] += m - 1 - rank
        rest = (m - 1 - len(ballot)) / 2
        if rest:
            listed = set(ballot)
            for i in range(m):
                if i not in listed:
                    scores[i] += rest
    return _result(
        films,
        _top(scores),
        {"scores": {f: round(scores[i], 3) for i, f in enumerate(films)}},
    )


def irv(films: Sequence[str], ballots: Sequence[Sequence[str]]) -> MethodResult:
    indexed = _indexed(films, ballots)
    remaining = set(range(len(films)))
    rounds: list[dict[str, Any]] = []
    while remaining:
        counts = dict.fromkeys(remaining, 0)
        for ballot in indexed:
            for i in ballot:
                if i in remaining:
                    counts[i] += 1
                    break
        counted = sum(counts.values())
        entry: dict[str, Any] = {
            "counts": {films[i]: counts[i] for i in sorted(remaining)},
            "eliminated": [],
        }
        rounds.append(entry)
        leader = max(counts.values())
        if counted and leader * 2 > counted:
            best = [i for i, n in counts.items() if n == leader]
            return _result(films, best, {"rounds": rounds})
        low = min(counts.values())
        losers = {i for i, n in counts.items() if n == low}
        if losers == remaining:
            return _result(films, sorted(remaining), {"rounds": rounds})
        entry["eliminated"] = [films[i] for i in sorted(losers)]
        remaining -= losers
    return _result(films, [], {"rounds": rounds})  # pragma: no cover - loop always returns


def _pairwise(m: int, ballots: list[list[int]]) -> list[list[int]]:
    d = [[0] * m for _ in range(m)]
    for ballot in ballots:
        listed = set(ballot)
        unlisted = [j for j in range(m) if j not in listed]
        for rank, a in enumerate(ballot):
            row = d[a]
            for b in ballot[rank + 1 :]:
                row[b] += 1
            for b in unlisted:
                row[b] += 1
    return d


def schulze(films: Sequence[str], ballots: Sequence[Sequence[str]]) -> MethodResult:
    m = len(films)
    d = _pairwise(m, _indexed(films, ballots))
    p = [[max(d[a][b] - d[b][a], 0) if a != b else 0 for b in range(m)] for a in range(m)]
    for k in range(m):
        pk = p[k]
        for a in range(m):
            if a == k:
                continue
            pak = p[a][k]
            if not pak:
                continue
            pa = p[a]
            for b in range(m):
                if b != a and b != k:
                    through = pak if pak < pk[b] else pk[b]
                    if through > pa[b]:
                        pa[b] = through
    best = [x for x in range(m) if all(p[x][y] >= p[y][x] for y in range(m) if y != x)]
    return _result(
        films,
        best,
        {
            "pairwise": {
                films[a]: {films[b]: d[a][b] for b in range(m) if b != a} for a in range(m)
            },
            "strongest": {
                films[a]: {films[b]: p[a][b] for b in range(m) if b != a} for a in range(m)
            },
        },
    )


_METHODS = {"approval": approval, "borda": borda, "irv": irv, "schulze": schulze}


def tally(method: Method, films: Sequence[str], ballots: Sequence[Sequence[str]]) -> MethodResult:
    """The winner set, the tie-broken winner and the explanation for ``method``."""
    return _METHODS[method](films, ballots)
