"""Our voting methods against pref_voting on random profiles: the same winner sets.

Ballots are random rankings of a random shortlist, complete or truncated (unlisted
films tied last), empty ballots and empty profiles included.  Every method has an
equivalent in pref_voting, compared on winner sets (and, where pref_voting exposes
them, on the numbers the explanation shows):

- approval ↔ ``grade_methods.approval`` on a 0/1 ``GradeProfile``;
- Borda ↔ ``borda_for_profile_with_ties`` (symmetric Borda: below minus above, which
  per ballot is ``2·ours − (m−1)``, so the same winners) and ``borda`` on complete
  rankings;
- IRV ↔ ``instant_runoff_for_truncated_linear_orders`` (simultaneous elimination,
  majority of the ballots not exhausted) and ``instant_runoff`` without a
  tie-breaker (it eliminates to the end; a majority film is never eliminated, so
  the winners agree);
- Schulze ↔ ``beat_path`` (margins), on ``ProfileWithTies`` with the extended strict
  preference (unlisted films below listed ones) and on complete ``Profile``\\ s.

pref_voting has no shortlist tie-break: it returns the whole winner set, which is
what ``MethodResult.winners`` is; the tie-break is checked on its own below.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pref_voting import voting_methods as vm
from pref_voting.grade_methods import approval as pv_approval
from pref_voting.grade_profiles import GradeProfile
from pref_voting.profiles import Profile
from pref_voting.profiles_with_ties import ProfileWithTies
from pref_voting.scoring_methods import symmetric_borda_scores

from server.voting.methods import METHODS, tally

Films = list[str]
Ballots = list[list[str]]


@st.composite
def profiles(
    draw: st.DrawFn, *, truncated: bool = True, max_films: int = 6, max_ballots: int = 25
) -> tuple[Films, Ballots]:
    count = draw(st.integers(min_value=2, max_value=max_films))
    films = [f"film{i}" for i in range(count)]
    ballot = st.permutations(films).flatmap(
        lambda order: st.integers(min_value=0 if truncated else count, max_value=count).map(
            lambda k: list(order[:k])
        )
    )
    ballots = draw(st.lists(ballot, min_size=0 if truncated else 1, max_size=max_ballots))
    return films, ballots


def _with_ties(films: Films, ballots: Ballots) -> ProfileWithTies:
    index = {film: i for i, film in enumerate(films)}
    profile = ProfileWithTies(
        [{index[f]: rank + 1 for rank, f in enumerate(b)} for b in ballots],
        candidates=list(range(len(films))),
    )
    profile.use_extended_strict_preference()
    return profile


def _complete(films: Films, ballots: Ballots) -> Profile:
    index = {film: i for i, film in enumerate(films)}
    return Profile([[index[f] for f in b] for b in ballots])


def _names(films: Films, winners: list[int]) -> list[str]:
    return [films[i] for i in sorted(int(w) for w in winners)]


@settings(max_examples=150, deadline=None)
@given(profiles())
def test_approval(profile: tuple[Films, Ballots]) -> None:
    films, ballots = profile
    grades = GradeProfile(
        [{i: int(films[i] in b) for i in range(len(films))} for b in ballots],
        grades=[0, 1],
        candidates=list(range(len(films))),
    )
    assert tally("approval", films, ballots).winners == _names(films, pv_approval(grades))


@settings(max_examples=150, deadline=None)
@given(profiles())
def test_borda(profile: tuple[Films, Ballots]) -> None:
    films, ballots = profile
    ours = tally("borda", films, ballots)
    pv = _with_ties(films, ballots)
    assert ours.winners == _names(films, vm.borda_for_profile_with_ties(pv))
    symmetric = symmetric_borda_scores(pv)
    m, n = len(films), len(ballots)
    for i, film in enumerate(films):
        assert 2 * ours.explanation["scores"][film] - n * (m - 1) == symmetric[i]


@settings(max_examples=150, deadline=None)
@given(profiles())
def test_instant_runoff(profile: tuple[Films, Ballots]) -> None:
    films, ballots = profile
    ours = tally("irv", films, ballots)
    pv = _with_ties(films, ballots)
    assert ours.winners == _names(films, vm.instant_runoff_for_truncated_linear_orders(pv))
    assert ours.winners == _names(films, vm.instant_runoff(pv))
    first = pv.plurality_scores()
    assert ours.explanation["rounds"][0]["counts"] == {f: first[i] for i, f in enumerate(films)}


@settings(max_examples=150, deadline=None)
@given(profiles())
def test_schulze(profile: tuple[Films, Ballots]) -> None:
    films, ballots = profile
    ours = tally("schulze", films, ballots)
    pv = _with_ties(films, ballots)
    assert ours.winners == _names(films, vm.beat_path(pv))
    pairwise = ours.explanation["pairwise"]
    for i, a in enumerate(films):
        for j, b in enumerate(films):
            if i != j:
                assert pairwise[a][b] == pv.support(i, j)


@settings(max_examples=100, deadline=None)
@given(profiles(truncated=False))
def test_complete_rankings_against_the_profile_type(profile: tuple[Films, Ballots]) -> None:
    films, ballots = profile
    pv = _complete(films, ballots)
    assert tally("borda", films, ballots).winners == _names(films, vm.borda(pv))
    assert tally("irv", films, ballots).winners == _names(films, vm.instant_runoff(pv))
    assert tally("schulze", films, ballots).winners == _names(films, vm.beat_path(pv))


@settings(max_examples=25, deadline=None)
@given(profiles(max_films=10, max_ballots=60))
def test_larger_shortlists(profile: tuple[Films, Ballots]) -> None:
    films, ballots = profile
    pv = _with_ties(films, ballots)
    assert tally("borda", films, ballots).winners == _names(
        films, vm.borda_for_profile_with_ties(pv)
    )
    assert tally("irv", films, ballots).winners == _names(
        films, vm.instant_runoff_for_truncated_linear_orders(pv)
    )
    assert tally("schulze", films, ballots).winners == _names(films, vm.beat_path(pv))


@settings(max_examples=100, deadline=None)
@given(profiles())
def test_the_tie_break_is_the_earliest_film_of_the_shortlist(
    profile: tuple[Films, Ballots],
) -> None:
    films, ballots = profile
    for method in METHODS:
        result = tally(method, films, ballots)
        assert result.winners and result.winner == min(result.winners, key=films.index)
        assert result.winners == sorted(result.winners, key=films.index)
