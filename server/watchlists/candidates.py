"""Candidate ranking: the intersection of everyone's lists first, then films on most lists.

Pure: the caller decrypts the lists and looks the winners up in the catalogue.

Rules (docs/protocol.md quotes them):

- Only members who have imported a list count.  A member who has not imported yet
  is reported as *waiting* and does not empty the intersection; ``member_count`` is
  the number of lists.
- ``wanted_by`` is how many lists hold the film.  Films on every list come first,
  then films on most lists, down to films on one list.
- A film someone in the session has already seen (from an export's
  ``watched.csv``) is left out, unless the host nominated it.
- Within a group of equal ``wanted_by``, the film the wanting members added most
  recently comes first: the mean of its relative positions on their lists, as they
  were imported (a Letterboxd watchlist is newest first, and so is an upload, sorted
  by its date column in ``uploads.py``).  Remaining ties go to the lower catalogue
  id.  The order is therefore the same on every call and every process.
- Films the host's limits for tonight leave out (``excluded``, see ``limits.py``)
  are removed like seen films, unless nominated; ``left_out`` counts them.
- Nominated films are in their ``wanted_by`` group, flagged; a nomination nobody
  has on a list comes after every listed film.
- Catalogue rows linked to one provider film (``aliases``: an IMDb row and a
  Letterboxd row of *The Matrix*, both linked to its TMDb id) count as one film,
  the lower id: a member holding both rows counts once, at the first position.

Speed: counting is one C-level pass (``Counter``) over every list; the tie-break,
which needs each film's positions, is computed only for the groups that reach
into the requested window, so the first page of 50 lists of 5,000 films costs a
few milliseconds beyond decryption.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain

__all__ = ["MemberList", "RankedFilm", "Ranking", "merge_aliases", "rank_candidates"]


@dataclass(frozen=True, slots=True)
class MemberList:
    """One member's decrypted list: catalogue ids in list order (no repeats), and films seen."""

    films: Sequence[int]
    watched: Collection[int] = ()


@dataclass(frozen=True, slots=True)
class RankedFilm:
    film_id: int
    wanted_by: int
    nominated: bool = False


@dataclass(frozen=True, slots=True)
class Ranking:
    total: int
    """Every candidate, the window's films included."""
    films: list[RankedFilm]
    """The requested window, in order."""
    left_out: int = 0
    """Films that would be candidates but for the limits for tonight."""


def merge_aliases(
    lists: Mapping[str, MemberList], aliases: Mapping[int, int]
) -> dict[str, MemberList]:
    """``lists`` with every aliased film replaced by the film it is (first position kept)."""
    merged: dict[str, MemberList] = {}
    for member, member_list in lists.items():
        films = list(dict.fromkeys(aliases.get(f, f) for f in member_list.films))
        watched = {aliases.get(f, f) for f in member_list.watched}
        merged[member] = MemberList(films, watched)
    return merged


def rank_candidates(
    lists: Mapping[str, MemberList],
    nominated: Collection[int] = (),
    *,
    offset: int = 0,
    limit: int | None = None,
    aliases: Mapping[int, int] | None = None,
    excluded: Collection[int] = (),
) -> Ranking:
    """The candidates in the documented order: ``limit`` of them from ``offset`` (all: None).

    ``excluded`` names films (after ``aliases``) outside the limits for tonight.
    """
    if aliases:
        lists = merge_aliases(lists, aliases)
        nominated = [aliases.get(f, f) for f in nominated]
    nominated_set = set(nominated)
    counts = Counter(chain.from_iterable(m.films for m in lists.values()))
    seen = set(chain.from_iterable(m.watched for m in lists.values())) - nominated_set
    for film in seen:
        counts.pop(film, None)
    left_out = 0
    for film in excluded:
        if film not in nominated_set and counts.pop(film, None) is not None:
            left_out += 1
    unlisted = sorted(nominated_set - counts.keys())
    total = len(counts) + len(unlisted)
    end = total if limit is None else min(total, offset + limit)
    listed_needed = min(end, len(counts))
    window: list[RankedFilm] = []
    if listed_needed:
        # Every film whose count reaches the k-th largest count may fall in the window.
        threshold = heapq.nlargest(listed_needed, counts.values())[-1]
        contenders = [f for f, c in counts.items() if c >= threshold]
        positions: dict[int, float] = dict.fromkeys(contenders, 0.0)
        for member_list in lists.values():
            length = max(len(member_list.films), 1)
            for index, film in enumerate(member_list.films):
                if film in positions:
                    positions[film] += index / length
        contenders.sort(key=lambda f: (-counts[f], positions[f] / counts[f], f))
        window = [RankedFilm(f, counts[f], f in nominated_set) for f in contenders[:listed_needed]]
    window.extend(RankedFilm(f, 0, True) for f in unlisted[: max(0, end - len(counts))])
    return Ranking(total=total, films=window[offset:end], left_out=left_out)
