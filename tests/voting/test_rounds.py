"""Round rules as a member sees them: every refusal, leaving and joining mid-round, storage.

The state machines live in ``server.voting.round_state``; these tests read like
the rules in the protocol's "Rounds" section.  ``wrong_mode`` (a vote sent to a
poll, say) is refused before a round's state is touched, by the command layer,
and is covered by the live round tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from realtime.protocol import MatchExplanation, VetoExplanation
from server.voting.methods import METHODS, Method, tally
from server.voting.round_state import (
    AnyRound,
    MatchRound,
    Outcome,
    PollRound,
    Result,
    RoundError,
    VetoRound,
    decode_round,
    encode_round,
    explain,
)

FILMS = ["a", "b", "c"]
MEMBERS = ["x", "y", "z"]


def match(films: list[str] = FILMS, eligible: list[str] = MEMBERS) -> MatchRound:
    return MatchRound(round_id="m", films=list(films), eligible=list(eligible), started_at_ms=0)


def poll(method: Method = "schulze", eligible: list[str] = MEMBERS, **kw: Any) -> PollRound:
    return PollRound(
        round_id="p",
        films=list(FILMS),
        eligible=list(eligible),
        started_at_ms=0,
        method=method,
        **kw,
    )


def veto(films: list[str] = FILMS, order: list[str] = MEMBERS, timeout: int = 100) -> VetoRound:
    return VetoRound.begin(
        round_id="v", films=list(films), order=list(order), now_ms=0, turn_timeout_ms=timeout
    )


def refuses(code: str, state: AnyRound, action: Callable[[], object]) -> None:
    """The action is refused with ``code``, a sentence for people, and changes nothing."""
    before = encode_round(state)
    with pytest.raises(RoundError) as refused:
        action()
    assert refused.value.code == code
    assert refused.value.message and refused.value.message == str(refused.value)
    assert encode_round(state) == before


def result_of(outcome: Outcome) -> Result:
    assert outcome.result is not None, "the round should have closed"
    return outcome.result


# ---------------------------------------------------------------- refusals


def test_every_action_after_the_close_is_refused_round_closed() -> None:
    m = match()
    m.close(now_ms=1)
    refuses("round_closed", m, lambda: m.vote("x", "a", True))
    refuses("round_closed", m, lambda: m.close(now_ms=2))

    p = poll()
    p.close(now_ms=1)
    refuses("round_closed", p, lambda: p.ballot("x", ["a"], now_ms=2))
    refuses("round_closed", p, lambda: p.close(now_ms=2))

    v = veto()
    v.close(now_ms=1)
    refuses("round_closed", v, lambda: v.strike("x", "a", now_ms=2))
    refuses("round_closed", v, lambda: v.close(now_ms=2))


def test_a_member_who_joined_after_the_start_may_not_vote() -> None:
    m, p, v = match(), poll(), veto()
    refuses("not_eligible", m, lambda: m.vote("late", "a", True))
    refuses("not_eligible", p, lambda: p.ballot("late", ["a"], now_ms=1))
    refuses("not_eligible", v, lambda: v.strike("late", "a", now_ms=1))


def test_a_member_who_left_may_not_vote_any_more() -> None:
    m, p, v = match(), poll(), veto()
    for state in (m, p, v):
        state.remove_member("y", now_ms=1)
    refuses("not_eligible", m, lambda: m.vote("y", "a", True))
    refuses("not_eligible", p, lambda: p.ballot("y", ["a"], now_ms=1))
    v.strike("x", "a", now_ms=2)
    refuses("not_eligible", v, lambda: v.strike("y", "b", now_ms=3))


def test_films_outside_the_round_are_refused() -> None:
    m, p, v = match(), poll(), veto()
    refuses("film_not_in_round", m, lambda: m.vote("x", "zz", True))
    refuses("film_not_in_round", p, lambda: p.ballot("x", ["a", "zz"], now_ms=1))
    refuses("film_not_in_round", v, lambda: v.strike("x", "zz", now_ms=1))
    v.strike("x", "a", now_ms=1)
    refuses("film_not_in_round", v, lambda: v.strike("y", "a", now_ms=2))  # already struck


def test_only_the_member_whose_turn_it_is_may_strike() -> None:
    v = veto()
    assert v.current_turn() == "x"
    refuses("not_your_turn", v, lambda: v.strike("y", "a", now_ms=1))
    v.strike("x", "a", now_ms=1)
    refuses("not_your_turn", v, lambda: v.strike("x", "b", now_ms=2))


def test_a_ranking_naming_a_film_twice_is_a_bad_ballot() -> None:
    p = poll()
    p.ballot("x", ["a"], now_ms=1)
    refuses("bad_ballot", p, lambda: p.ballot("x", ["b", "c", "b"], now_ms=2))
    assert p.ballots["x"] == ["a"]  # the previous ballot stands


# ---------------------------------------------------------------- match


def test_a_changed_vote_replaces_the_old_one() -> None:
    m = match(eligible=["x", "y"])
    m.vote("x", "a", True)
    m.vote("x", "a", False)
    assert m.vote("y", "a", True).result is None  # x's yes was taken back
    assert m.votes["x"] == {"a": False}


def test_the_match_is_the_film_whose_vote_completed_it() -> None:
    m = match(eligible=["x", "y"])
    m.vote("x", "c", True)
    m.vote("x", "a", True)
    m.vote("y", "c", True)  # c completes first, although a comes first in the cards
    assert m.status == "closed" and m.result is not None
    assert (m.result.winner, m.result.tied) == ("c", ["c"])
    assert m.result.explanation == {"yes": {"a": 1, "b": 0, "c": 2}, "cards": 3}


def test_live_tallies_count_members_who_answered_every_card() -> None:
    m = match(eligible=["x", "y"])
    for film in FILMS:
        m.vote("x", film, False)
    m.vote("y", "a", True)
    assert (m.voted(), len(m.eligible)) == (1, 2)
    assert m.result is None  # yes counts only appear with the result


def test_no_match_names_the_three_closest_by_yeses_then_card_order() -> None:
    films = ["a", "b", "c", "d", "e"]
    m = match(films=films, eligible=["x", "y", "z"])
    yes = {"x": {"b", "c", "d", "e"}, "y": {"c", "d", "e"}, "z": {"b"}}
    outcome = Outcome()
    for member, liked in yes.items():
        for film in films:
            outcome = m.vote(member, film, film in liked)
    result = result_of(outcome)
    assert (result.winner, result.tied) == (None, [])
    # b, c, d and e have two yeses each (card order decides among them); a has none.
    assert result.explanation["closest"] == [
        {"film": "b", "yes": 2}, {"film": "c", "yes": 2}, {"film": "d", "yes": 2},
    ]  # fmt: skip


def test_films_nobody_wanted_are_not_close() -> None:
    m = match(eligible=["x"])
    for film in FILMS:
        outcome = m.vote("x", film, False)
    assert result_of(outcome).explanation["closest"] == []


def test_leaving_mid_match_can_finish_the_deck_without_a_match() -> None:
    m = match(eligible=["x", "y"])
    for film in FILMS:
        m.vote("x", film, False)
    m.vote("y", "a", True)  # y's unfinished yes leaves with y
    result = result_of(m.remove_member("y", now_ms=5))
    assert result.winner is None and result.explanation["yes"] == {"a": 0, "b": 0, "c": 0}


def test_leaving_mid_match_completes_the_earliest_card_everyone_left_said_yes_to() -> None:
    m = match(eligible=["x", "y", "z"])
    for member in ("x", "y"):
        m.vote(member, "c", True)
        m.vote(member, "b", True)
    assert result_of(m.remove_member("z", now_ms=5)).winner == "b"


def test_when_everyone_leaves_a_match_ends_without_a_winner() -> None:
    m = match(eligible=["x"])
    assert result_of(m.remove_member("x", now_ms=5)).winner is None


# ---------------------------------------------------------------- poll


def test_an_empty_ranking_is_an_abstention_that_counts_as_voted() -> None:
    p = poll(method="approval", eligible=["x", "y"])
    assert p.ballot("x", [], now_ms=1).result is None
    assert p.voted() == 1
    result = result_of(p.ballot("y", ["b"], now_ms=2))
    assert result.winner == "b" and result.explanation["ballots"] == 2


def test_a_new_ballot_replaces_the_old_one() -> None:
    p = poll(method="approval", eligible=["x", "y"])
    p.ballot("x", ["a", "b"], now_ms=1)
    p.ballot("x", ["c"], now_ms=2)
    assert p.voted() == 1
    assert p.standings().scores == {"a": 0, "b": 0, "c": 1}


@pytest.mark.parametrize("method", METHODS)
def test_the_poll_result_is_the_methods_result(method: Method) -> None:
    p = poll(method=method)
    ballots = {"x": ["c", "a"], "y": ["a"], "z": ["b", "c", "a"]}
    outcome = Outcome()
    for member, ranking in ballots.items():
        outcome = p.ballot(member, ranking, now_ms=1)
    result = result_of(outcome)  # everyone voted: it closed by itself
    expected = tally(method, FILMS, list(ballots.values()))
    assert (result.winner, result.tied) == (expected.winner, expected.winners)
    assert result.explanation == {**expected.explanation, "ballots": 3}


@pytest.mark.parametrize(
    ("method", "label"),
    [
        ("approval", "Approvals so far"),
        ("borda", "Borda points so far"),
        ("irv", "First choices so far"),
        ("schulze", "Head-to-head wins so far"),
    ],
)
def test_live_standings_per_method(method: Method, label: str) -> None:
    p = poll(method=method)
    p.ballot("x", ["b"], now_ms=1)
    standings = p.standings()
    assert standings.label == label and standings.leader == "b"
    assert max(standings.scores, key=lambda f: standings.scores[f]) == "b"


def test_leaving_mid_poll_drops_the_ballot_and_may_close_it() -> None:
    p = poll(method="approval")
    p.ballot("x", ["a"], now_ms=1)
    p.ballot("y", ["b"], now_ms=1)
    assert p.remove_member("x", now_ms=2).result is None  # z has still to vote
    assert p.standings().scores["a"] == 0
    result = result_of(p.remove_member("z", now_ms=3))  # y was the last one waited for
    assert result.winner == "b" and result.explanation["ballots"] == 1


def test_the_deadline_closes_a_poll_and_closing_early_gives_the_same_answer() -> None:
    def voted() -> PollRound:
        p = poll(method="borda", deadline_ms=1000)
        p.ballot("x", ["c", "b"], now_ms=1)
        return p

    timed, early = voted(), voted()
    assert timed.due_at() == 1000
    assert timed.on_clock(now_ms=999, online=set()).result is None
    at_deadline = result_of(timed.on_clock(now_ms=1000, online=set()))
    assert at_deadline == result_of(early.close(now_ms=5))
    assert timed.on_clock(now_ms=2000, online=set()).changed is False  # closed: nothing more


# ---------------------------------------------------------------- veto


def test_turns_cycle_until_one_film_remains() -> None:
    v = veto(films=["a", "b", "c", "d", "e"], order=["x", "y"])
    for member, film in [("x", "a"), ("y", "b"), ("x", "c")]:
        assert v.current_turn() == member
        assert v.strike(member, film, now_ms=1).struck == film
    result = result_of(v.strike("y", "e", now_ms=2))
    assert (result.winner, result.tied, v.current_turn()) == ("d", ["d"], None)
    assert result.explanation == {
        "strikes": [
            {"member": "x", "film": "a"}, {"member": "y", "film": "b"},
            {"member": "x", "film": "c"}, {"member": "y", "film": "e"},
        ],
        "skipped": [],
        "remaining": ["d"],
    }  # fmt: skip


def test_each_strike_starts_the_next_turns_clock() -> None:
    v = veto(timeout=100)
    v.strike("x", "a", now_ms=40)
    assert (v.current_turn(), v.turn_ends_at(), v.due_at()) == ("y", 140, 140)


def test_an_offline_member_is_skipped_only_once_the_turn_is_overdue() -> None:
    v = veto(timeout=100)
    assert v.on_clock(now_ms=99, online={"y"}).changed is False
    assert v.on_clock(now_ms=100, online={"y"}).changed
    assert v.current_turn() == "y" and v.turn_started_ms == 100
    assert [s.member for s in v.strikes if s.film is None] == ["x"]


def test_nobody_is_skipped_while_nobody_is_online() -> None:
    v = veto(timeout=100)
    assert v.on_clock(now_ms=500, online=set()).changed is False
    assert v.current_turn() == "x" and v.turn_started_ms == 500  # waits another period


def test_leaving_before_the_current_turn_keeps_the_turn() -> None:
    v = veto()
    v.strike("x", "a", now_ms=1)
    assert v.current_turn() == "y"
    v.remove_member("x", now_ms=2)
    assert (v.order, v.current_turn(), v.turn_started_ms) == (["y", "z"], "y", 1)


def test_leaving_on_your_turn_passes_it_on_now() -> None:
    v = veto(films=["a", "b", "c", "d"], order=["x", "y", "z"])
    v.strike("x", "a", now_ms=1)
    v.strike("y", "b", now_ms=2)
    v.remove_member("z", now_ms=7)  # last in the order: the turn wraps to the first
    assert (v.current_turn(), v.turn_started_ms) == ("x", 7)


def test_when_the_last_member_leaves_a_veto_ties_the_remaining_films() -> None:
    v = veto(order=["x"])
    result = result_of(v.remove_member("x", now_ms=3))
    assert (result.winner, result.tied) == ("a", FILMS)


def test_a_late_joiner_is_not_in_the_turn_order() -> None:
    v = veto()
    assert v.remove_member("late", now_ms=1).changed is False
    assert v.order == MEMBERS


# ---------------------------------------------------------------- the host is a member


def test_the_host_leaving_is_like_anyone_leaving() -> None:
    """Rounds know no host: the starter (first in ``eligible``) leaving changes nothing else."""
    m = match(eligible=["host", "y"])
    m.vote("y", "b", True)
    assert result_of(m.remove_member("host", now_ms=1)).winner == "b"

    v = veto(order=["host", "y"])
    v.remove_member("host", now_ms=1)
    assert v.current_turn() == "y"
    v.strike("y", "a", now_ms=2)
    assert result_of(v.strike("y", "b", now_ms=3)).winner == "c"


@settings(max_examples=50, deadline=None)
@given(
    method=st.sampled_from(METHODS),
    rankings=st.lists(st.permutations(FILMS).map(list), min_size=3, max_size=3),
    order=st.permutations(MEMBERS),
)
def test_a_poll_result_does_not_depend_on_who_voted_first(
    method: Method, rankings: list[list[str]], order: list[str]
) -> None:
    def run(members: list[str]) -> Result:
        p = poll(method=method, eligible=MEMBERS)
        outcome = Outcome()
        for member in members:
            outcome = p.ballot(member, rankings[MEMBERS.index(member)], now_ms=1)
        return result_of(outcome)

    assert run(list(order)) == run(MEMBERS)


# ---------------------------------------------------------------- storage


@pytest.mark.parametrize(
    "build",
    [
        lambda: match(),
        lambda: poll(hidden=True, deadline_ms=5_000),
        lambda: veto(),
    ],
    ids=["match", "poll", "veto"],
)
def test_rounds_round_trip_through_msgpack_open_and_closed(
    build: Callable[[], AnyRound],
) -> None:
    state = build()
    if isinstance(state, MatchRound):
        state.vote("x", "a", True)
    elif isinstance(state, PollRound):
        state.ballot("x", ["b", "a"], now_ms=1)
    else:
        state.strike("x", "a", now_ms=1)
        state.on_clock(now_ms=500, online={"x"})
    for closing in (True, False):  # open, then closed with its result
        data = msgspec.msgpack.encode(state)
        assert msgspec.msgpack.decode(data, type=type(state)) == state
        assert decode_round(str(state.__struct_config__.tag), data) == state
        if closing:
            assert result_of(state.close(now_ms=9)) == state.result


Step = tuple[str, int, int, int]
"""(action, member index, film index / ranking length / time, flag)."""

steps = st.lists(
    st.tuples(
        st.sampled_from(["act", "act", "act", "leave", "clock", "close"]),
        st.integers(0, 3),  # 3 is a member who joined late
        st.integers(0, 3),  # 3 is a film outside the round
        st.integers(0, 1),
    ),
    max_size=25,
)


def _apply(state: AnyRound, step: Step, now: int) -> Outcome | str:
    kind, who, what, flag = step
    member = [*MEMBERS, "late"][who]
    film = [*FILMS, "zz"][what]
    try:
        if kind == "leave":
            return state.remove_member(member, now_ms=now)
        if kind == "clock":
            return state.on_clock(now_ms=now, online=set(MEMBERS[:who]))
        if kind == "close":
            return state.close(now_ms=now)
        if isinstance(state, MatchRound):
            return state.vote(member, film, bool(flag))
        if isinstance(state, PollRound):
            ranking = [FILMS[(what + i) % 3] for i in range(what)] if flag else [film]
            return state.ballot(member, ranking, now_ms=now)
        return state.strike(member, film, now_ms=now)
    except RoundError as refused:
        return refused.code


@settings(max_examples=100, deadline=None)
@given(
    mode=st.sampled_from(["match", "poll", "veto"]),
    method=st.sampled_from(METHODS),
    plan=steps,
)
def test_a_restart_before_any_command_changes_nothing(
    mode: str, method: Method, plan: list[Step]
) -> None:
    """One copy stays in memory; the other is stored and loaded again before every command."""
    fresh: dict[str, Callable[[], AnyRound]] = {
        "match": match,
        "poll": lambda: poll(method=method, deadline_ms=400),
        "veto": veto,
    }
    live, stored = fresh[mode](), encode_round(fresh[mode]())
    for n, step in enumerate(plan):
        now = 100 * (n + 1)
        loaded = decode_round(mode, stored)
        assert loaded == live
        assert _apply(loaded, step, now) == _apply(live, step, now)
        stored = encode_round(loaded)
        _check_invariants(live)
    assert decode_round(mode, stored) == live
    event(f"{mode} ends {live.status}")


def _check_invariants(state: AnyRound) -> None:
    if state.status == "open":
        assert state.result is None
        return
    result = state.result
    assert result is not None
    assert result.winner is None or result.winner in result.tied
    assert result.tied == [f for f in state.films if f in result.tied]  # shortlist order
    if isinstance(state, MatchRound) and result.winner is not None:
        assert all(state.votes[m][result.winner] for m in state.eligible)
    if isinstance(state, VetoRound):
        assert state.remaining == [f for f in state.films if f in state.remaining]
        assert result.explanation["remaining"] == state.remaining


@pytest.mark.parametrize("method", METHODS)
def test_a_poll_explains_itself_tagged_with_its_method(method: Method) -> None:
    p = poll(method=method)
    for member, ranking in zip(MEMBERS, (["a", "b"], ["b"], ["c", "b", "a"]), strict=True):
        outcome = p.ballot(member, ranking, now_ms=1)
    result = result_of(outcome)
    typed = explain(p, result)
    wire = msgspec.json.decode(msgspec.json.encode(typed))
    assert wire == {"kind": method, **msgspec.json.decode(msgspec.json.encode(result.explanation))}
    assert p.standings().__struct_config__.tag == method


def test_match_and_veto_results_are_tagged_with_their_mode() -> None:
    m = match()
    for member in MEMBERS:
        outcome = m.vote(member, "b", True)
    matched = explain(m, result_of(outcome))
    assert isinstance(matched, MatchExplanation) and matched.yes["b"] == 3
    v = veto(films=["a", "b"], order=["x"])
    struck = explain(v, result_of(v.strike("x", "a", now_ms=1)))
    assert isinstance(struck, VetoExplanation) and struck.remaining == ["b"]
    assert [(s.member, s.film) for s in struck.strikes] == [("x", "a")]
