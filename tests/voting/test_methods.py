"""Each voting method on small profiles with known answers, and what it explains."""

from __future__ import annotations

import pytest

from server.voting.methods import tally

FILMS = ["alien", "heat", "solaris"]


def test_approval_counts_listed_films() -> None:
    result = tally("approval", FILMS, [["heat"], ["heat", "alien"], ["solaris"], []])
    assert result.explanation == {"approvals": {"alien": 1, "heat": 2, "solaris": 1}}
    assert (result.winner, result.winners) == ("heat", ["heat"])


def test_borda_shares_the_points_of_unlisted_films() -> None:
    result = tally("borda", FILMS, [["solaris"], ["heat", "alien", "solaris"]])
    # solaris 2 + 0; heat 0.5 + 2; alien 0.5 + 1
    assert result.explanation["scores"] == {"alien": 1.5, "heat": 2.5, "solaris": 2.0}
    assert result.winner == "heat"


def test_instant_runoff_eliminates_the_weakest_until_a_majority() -> None:
    ballots = [["alien"]] * 4 + [["heat", "alien"]] * 2 + [["solaris", "heat"]] * 3
    result = tally("irv", FILMS, ballots)
    rounds = result.explanation["rounds"]
    assert rounds[0] == {"counts": {"alien": 4, "heat": 2, "solaris": 3}, "eliminated": ["heat"]}
    assert rounds[1]["counts"] == {"alien": 6, "solaris": 3}
    assert result.winner == "alien"


def test_schulze_resolves_a_condorcet_cycle_by_path_strength() -> None:
    # alien > heat 7:2, heat > solaris 6:3, solaris > alien 5:4 — a cycle; alien's is strongest.
    ballots = (
        [["alien", "heat", "solaris"]] * 4
        + [["heat", "solaris", "alien"]] * 2
        + [["solaris", "alien", "heat"]] * 3
    )
    result = tally("schulze", FILMS, ballots)
    pairwise = result.explanation["pairwise"]
    assert (
        pairwise["alien"]["heat"],
        pairwise["heat"]["solaris"],
        pairwise["solaris"]["alien"],
    ) == (7, 6, 5)
    assert result.explanation["strongest"]["alien"]["solaris"] == 3  # min(5, 3) via heat
    assert result.winners == ["alien"]


@pytest.mark.parametrize("method", ["approval", "borda", "irv", "schulze"])
def test_ties_go_to_the_film_earliest_in_the_shortlist(method: str) -> None:
    result = tally(method, FILMS, [["solaris", "heat"], ["heat", "solaris"]])  # type: ignore[arg-type]
    assert result.winners == ["heat", "solaris"] and result.winner == "heat"


def test_no_ballots_tie_every_film() -> None:
    assert tally("irv", FILMS, []).winners == FILMS
    assert tally("schulze", FILMS, []).winner == "alien"


def test_bad_input_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        tally("borda", FILMS, [["nope"]])
    with pytest.raises(ValueError, match="repeats"):
        tally("borda", FILMS, [["alien", "alien"]])
    with pytest.raises(ValueError, match="repeats"):
        tally("borda", ["alien", "alien"], [])
