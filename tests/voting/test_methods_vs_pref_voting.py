"""Our voting methods against pref_voting on random profiles: the same winner sets.

Ballots are random rankings of a random shortlist, complete or truncated (unlisted
films tied last).  pref_voting equivalents: approval ↔ ``grade_methods.approval``
on a 0/1 grade profile; Borda ↔ ``borda_for_profile_with_ties`` (symmetric Borda,
an affine transform of our averaged rule per ballot, so the same winners); IRV ↔
``instant_runoff_for_truncated_linear_orders`` (simultaneous elimination); Schulze ↔
``beat_path`` (margins).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pref_voting import voting_methods as vm
from pref_voting.grade_methods import approval as pv_approval
from pref_voting.grade_profiles import GradeProfile
from pref_voting.profiles_with_ties import ProfileWithTies

from server.voting.methods import tally


@st.composite
def profiles(draw: st.DrawFn, *, truncated: bool = True) -> tuple[list[str], list[list[str]]]:
    count = draw(st.integers(min_value=2, max_value=6))
    films = [f"film{i}" for i in range(count)]
    ballot = st.permutations(films).flatmap(
        lambda order: st.integers(min_value=1 if truncated else count, max_value=count).map(
            lambda k: list(order[:k])
        )
    )
    ballots = draw(st.lists(ballot, min_size=1, max_size=25))
    return films, ballots


def _with_ties(films: list[str], ballots: list[list[str]]) -> ProfileWithTies:
    index = {film: i for i, film in enumerate(films)}
    profile = ProfileWithTies(
        [{index[f]: rank + 1 for rank, f in enumerate(b)} for b in ballots],
        candidates=list(range(len(films))),
    )
    profile.use_extended_strict_preference()
    return profile


def _names(films: list[str], winners: list[int]) -> list[str]:
    return [films[i] for i in sorted(winners)]


@settings(max_examples=150, deadline=None)
@given(profiles())
def test_borda(profile: tuple[list[str], list[list[str]]]) -> None:
    films, ballots = profile
    ours = tally("borda", films, ballots).winners
    assert ours == _names(films, vm.borda_for_profile_with_ties(_with_ties(films, ballots)))


@settings(max_examples=150, deadline=None)
@given(profiles())
def test_instant_runoff(profile: tuple[list[str], list[list[str]]]) -> None:
    films, ballots = profile
    ours = tally("irv", films, ballots).winners
    theirs = vm.instant_runoff_for_truncated_linear_orders(_with_ties(films, ballots))
    assert ours == _names(films, theirs)


@settings(max_examples=150, deadline=None)
@given(profiles())
def test_schulze(profile: tuple[list[str], list[list[str]]]) -> None:
    films, ballots = profile
    ours = tally("schulze", films, ballots).winners
    assert ours == _names(films, vm.beat_path(_with_ties(films, ballots)))


@settings(max_examples=100, deadline=None)
@given(profiles(truncated=False))
def test_schulze_on_complete_rankings_against_the_profile_type(
    profile: tuple[list[str], list[list[str]]],
) -> None:
    from pref_voting.profiles import Profile

    films, ballots = profile
    index = {film: i for i, film in enumerate(films)}
    theirs = vm.beat_path(Profile([[index[f] for f in b] for b in ballots]))
    assert tally("schulze", films, ballots).winners == _names(films, theirs)
    assert tally("borda", films, ballots).winners == _names(
        films, vm.borda(Profile([[index[f] for f in b] for b in ballots]))
    )


@settings(max_examples=150, deadline=None)
@given(profiles())
def test_approval(profile: tuple[list[str], list[list[str]]]) -> None:
    films, ballots = profile
    index = {film: i for i, film in enumerate(films)}
    grades = GradeProfile(
        [{i: int(films[i] in b) for i in range(len(films))} for b in ballots],
        grades=[0, 1],
        candidates=list(range(len(films))),
    )
    ours = tally("approval", films, ballots).winners
    assert ours == _names(films, [index[films[c]] for c in pv_approval(grades)])


@settings(max_examples=100, deadline=None)
@given(profiles())
def test_the_tie_break_is_the_earliest_film_of_the_shortlist(
    profile: tuple[list[str], list[list[str]]],
) -> None:
    films, ballots = profile
    for method in ("approval", "borda", "irv", "schulze"):
        result = tally(method, films, ballots)
        assert result.winners and result.winner == min(result.winners, key=films.index)
