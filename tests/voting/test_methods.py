"""Each voting method on small profiles with known answers, and what it explains."""

from __future__ import annotations

from typing import get_args

import msgspec
import pytest

from server.voting.methods import METHODS, Method, tally

FILMS = ["alien", "heat", "solaris"]


def profile(*groups: tuple[int, str]) -> list[list[str]]:
    """Ballots from ``(count, "ABC")`` groups: one letter per film, best first."""
    return [list(order) for count, order in groups for _ in range(count)]


def test_the_method_names_are_the_protocols() -> None:
    assert set(METHODS) == set(get_args(Method)) == {"approval", "borda", "irv", "schulze"}


# ---------------------------------------------------------------- approval


def test_approval_counts_listed_films() -> None:
    result = tally("approval", FILMS, [["heat"], ["heat", "alien"], ["solaris"], []])
    assert result.explanation == {"approvals": {"alien": 1, "heat": 2, "solaris": 1}}
    assert (result.winner, result.winners) == ("heat", ["heat"])


def test_approval_ignores_the_order_of_a_ballot() -> None:
    a = tally("approval", FILMS, [["solaris", "alien"], ["alien"]])
    b = tally("approval", FILMS, [["alien", "solaris"], ["alien"]])
    assert a == b and a.winner == "alien"


def test_approval_of_nothing_ties_every_film() -> None:
    result = tally("approval", FILMS, [[], []])
    assert result.winners == FILMS and result.winner == "alien"


# ---------------------------------------------------------------- borda


def test_borda_on_complete_rankings() -> None:
    # m = 3: 2, 1, 0 points.  A: 3·2 + 2·0 + 0 = 6, B: 3·1 + 2·2 = 7, C: 3·0 + 2·1 = 2.
    result = tally("borda", list("ABC"), profile((3, "ABC"), (2, "BCA")))
    assert result.explanation == {"scores": {"A": 6.0, "B": 7.0, "C": 2.0}}
    assert result.winners == ["B"]


def test_borda_shares_the_points_of_unlisted_films() -> None:
    result = tally("borda", FILMS, [["solaris"], ["heat", "alien", "solaris"]])
    # solaris 2 + 0; heat 0.5 + 2; alien 0.5 + 1
    assert result.explanation["scores"] == {"alien": 1.5, "heat": 2.5, "solaris": 2.0}
    assert result.winner == "heat"


def test_borda_truncated_ballot_gives_unlisted_films_the_average_of_the_rest() -> None:
    # m = 5, k = 2: listed 4 and 3; the three unlisted share 2 + 1 + 0, i.e. 1 each.
    result = tally("borda", list("ABCDE"), [["C", "A"]])
    assert result.explanation["scores"] == {"A": 3.0, "B": 1.0, "C": 4.0, "D": 1.0, "E": 1.0}


def test_an_empty_ballot_moves_no_borda_winner() -> None:
    ballots = [["heat", "alien"], ["alien"]]
    assert tally("borda", FILMS, [*ballots, []]).winners == tally("borda", FILMS, ballots).winners


# ---------------------------------------------------------------- instant-runoff


def test_instant_runoff_eliminates_the_weakest_until_a_majority() -> None:
    ballots = [["alien"]] * 4 + [["heat", "alien"]] * 2 + [["solaris", "heat"]] * 3
    result = tally("irv", FILMS, ballots)
    rounds = result.explanation["rounds"]
    assert rounds[0] == {"counts": {"alien": 4, "heat": 2, "solaris": 3}, "eliminated": ["heat"]}
    assert rounds[1]["counts"] == {"alien": 6, "solaris": 3}
    assert result.winner == "alien"


def test_instant_runoff_elimination_sequence_over_three_rounds() -> None:
    ballots = profile((8, "ABC"), (7, "BCA"), (5, "CBA"), (3, "DCA"), (1, "EDC"))
    result = tally("irv", list("ABCDE"), ballots)
    assert result.explanation["rounds"] == [
        {"counts": {"A": 8, "B": 7, "C": 5, "D": 3, "E": 1}, "eliminated": ["E"]},
        {"counts": {"A": 8, "B": 7, "C": 5, "D": 4}, "eliminated": ["D"]},
        {"counts": {"A": 8, "B": 7, "C": 9}, "eliminated": ["B"]},
        {"counts": {"A": 8, "C": 16}, "eliminated": []},
    ]
    assert result.winners == ["C"]


def test_instant_runoff_ignores_exhausted_ballots_in_the_majority() -> None:
    # Round 2: the two B-only ballots are exhausted, so C's 5 of the 9 still counted is a
    # majority (5 of all 11 would not be).
    ballots = profile((4, "A"), (2, "B"), (3, "C"))
    result = tally("irv", list("ABC"), [*ballots, ["C", "B"], ["B", "C"]])
    rounds = result.explanation["rounds"]
    assert rounds[0]["eliminated"] == ["B"]
    assert rounds[1] == {"counts": {"A": 4, "C": 5}, "eliminated": []}
    assert result.winner == "C"


def test_instant_runoff_eliminates_every_film_tied_for_last_at_once() -> None:
    ballots = profile((5, "ACB"), (2, "BC"), (2, "DC"), (4, "CA"))
    result = tally("irv", list("ABCD"), ballots)
    assert result.explanation["rounds"][0]["eliminated"] == ["B", "D"]
    assert result.explanation["rounds"][1]["counts"] == {"A": 5, "C": 8}
    assert result.winners == ["C"]


def test_instant_runoff_with_every_film_tied_for_last_ties_them_all() -> None:
    result = tally("irv", FILMS, [["solaris", "alien"], ["alien"], ["heat"]])
    assert result.explanation["rounds"] == [
        {"counts": {"alien": 1, "heat": 1, "solaris": 1}, "eliminated": []}
    ]
    assert result.winners == FILMS and result.winner == "alien"


# ---------------------------------------------------------------- Schulze


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


def test_schulze_on_the_textbook_example() -> None:
    """Schulze's own 45-voter example: E wins although there is no Condorcet winner."""
    ballots = profile(
        (5, "ACBED"), (5, "ADECB"), (8, "BEDAC"), (3, "CABED"),
        (7, "CAEBD"), (2, "CBADE"), (7, "DCEBA"), (8, "EBADC"),
    )  # fmt: skip
    result = tally("schulze", list("ABCDE"), ballots)
    assert result.explanation["pairwise"]["A"] == {"B": 20, "C": 26, "D": 30, "E": 22}
    # Margins: the published winning-vote strengths 28, 28, 30, 24 are 11, 11, 15, 3.
    assert result.explanation["strongest"]["A"] == {"B": 11, "C": 11, "D": 15, "E": 3}
    assert result.explanation["strongest"]["E"] == {"A": 5, "B": 11, "C": 11, "D": 17}
    assert result.winners == ["E"]


def test_schulze_elects_a_condorcet_winner() -> None:
    ballots = profile((3, "BAC"), (2, "CBA"), (2, "ABC"))
    assert tally("schulze", list("ABC"), ballots).winners == ["B"]


def test_schulze_ranks_unlisted_films_below_listed_ones_and_tied() -> None:
    result = tally("schulze", FILMS, [["heat"], ["solaris", "alien"]])
    pairwise = result.explanation["pairwise"]
    assert pairwise["heat"] == {"alien": 1, "solaris": 1}
    assert pairwise["alien"] == {"heat": 1, "solaris": 0}  # unlisted alien vs solaris: no one
    assert pairwise["solaris"] == {"alien": 1, "heat": 1}
    # Only solaris beats anything (alien, by 1): heat is unbeaten too, so both win.
    assert result.winners == ["heat", "solaris"]


# ---------------------------------------------------------------- all methods


@pytest.mark.parametrize("method", METHODS)
def test_ties_go_to_the_film_earliest_in_the_shortlist(method: Method) -> None:
    result = tally(method, FILMS, [["solaris", "heat"], ["heat", "solaris"]])
    assert result.winners == ["heat", "solaris"] and result.winner == "heat"


@pytest.mark.parametrize("method", METHODS)
def test_the_tie_break_follows_the_shortlist_not_the_alphabet(method: Method) -> None:
    shortlist = ["solaris", "heat", "alien"]
    result = tally(method, shortlist, [["alien", "solaris"], ["solaris", "alien"]])
    assert result.winners == ["solaris", "alien"] and result.winner == "solaris"


@pytest.mark.parametrize("method", METHODS)
def test_no_ballots_tie_every_film(method: Method) -> None:
    result = tally(method, FILMS, [])
    assert result.winners == FILMS and result.winner == "alien"


@pytest.mark.parametrize("method", METHODS)
def test_no_films_no_winner(method: Method) -> None:
    result = tally(method, [], [[], []])
    assert result.winners == [] and result.winner is None


@pytest.mark.parametrize("method", METHODS)
def test_the_explanation_is_json_ready(method: Method) -> None:
    result = tally(method, FILMS, [["heat", "alien"], ["solaris"], []])
    assert msgspec.json.decode(msgspec.json.encode(result.explanation)) == result.explanation


@pytest.mark.parametrize("method", METHODS)
def test_bad_input_is_a_programming_error(method: Method) -> None:
    with pytest.raises(ValueError, match="not in the shortlist"):
        tally(method, FILMS, [["nope"]])
    with pytest.raises(ValueError, match="repeats"):
        tally(method, FILMS, [["alien", "alien"]])
    with pytest.raises(ValueError, match="repeats"):
        tally(method, ["alien", "alien"], [])
