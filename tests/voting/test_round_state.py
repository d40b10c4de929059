"""The rounds as pure state machines: rules, refusals with stable codes, storage round trip."""

from __future__ import annotations

import pytest

from server.voting.round_state import (
    MAX_DEADLINE_MS,
    MatchRound,
    PollRound,
    RoundError,
    VetoRound,
    decode_round,
    encode_round,
)

FILMS = ["a", "b", "c"]


def code_of(action: object) -> str:
    try:
        action()  # type: ignore[operator]
    except RoundError as error:
        return error.code
    raise AssertionError("not refused")


def test_match_is_the_first_card_with_everyones_yes_and_votes_can_change() -> None:
    r = MatchRound(round_id="r", films=FILMS, eligible=["x", "y"], started_at_ms=0)
    assert r.vote("x", "b", True).result is None
    assert r.vote("y", "b", False).changed
    assert r.vote("y", "b", True).result.winner == "b"  # type: ignore[union-attr]
    assert r.status == "closed"
    assert code_of(lambda: r.vote("x", "a", True)) == "round_closed"


def test_match_progress_counts_cards_answered_not_the_answers() -> None:
    r = MatchRound(round_id="r", films=FILMS, eligible=["x", "y", "z"], started_at_ms=0)
    r.vote("x", "a", True)
    r.vote("x", "a", False)  # a changed answer is still one card
    r.vote("y", "a", False)
    r.vote("y", "c", True)
    assert r.answered() == {"x": 1, "y": 2, "z": 0}
    other = MatchRound(round_id="r", films=FILMS, eligible=["x", "y", "z"], started_at_ms=0)
    other.vote("x", "b", True)
    other.vote("y", "b", True)
    other.vote("y", "a", False)
    assert other.answered() == r.answered()  # other answers, the same progress


def test_match_without_a_match_names_the_closest_and_refuses_bad_votes() -> None:
    r = MatchRound(round_id="r", films=FILMS, eligible=["x", "y"], started_at_ms=0)
    assert code_of(lambda: r.vote("z", "a", True)) == "not_eligible"
    assert code_of(lambda: r.vote("x", "zz", True)) == "film_not_in_round"
    for member in ("x", "y"):
        for film in FILMS:
            outcome = r.vote(member, film, member == "x" and film == "c")
    assert outcome.result is not None and outcome.result.winner is None
    assert outcome.result.explanation["closest"] == [{"film": "c", "yes": 1}]


def test_a_member_leaving_can_complete_a_match() -> None:
    r = MatchRound(round_id="r", films=FILMS, eligible=["x", "y", "z"], started_at_ms=0)
    r.vote("x", "c", True)
    r.vote("y", "c", True)
    assert r.remove_member("nobody", now_ms=0).changed is False
    assert r.remove_member("z", now_ms=0).result.winner == "c"  # type: ignore[union-attr]


def test_poll_replaces_ballots_closes_when_all_voted_and_at_its_deadline() -> None:
    r = PollRound(round_id="r", films=FILMS, eligible=["x", "y"], started_at_ms=0, method="borda")
    assert code_of(lambda: r.ballot("x", ["a", "a"], now_ms=0)) == "bad_ballot"
    assert code_of(lambda: r.ballot("x", ["q"], now_ms=0)) == "film_not_in_round"
    r.ballot("x", ["c"], now_ms=0)
    r.ballot("x", ["b", "a"], now_ms=0)
    assert r.voted() == 1 and r.standings().scores["b"] == 2
    assert r.ballot("y", ["b"], now_ms=0).result.winner == "b"  # type: ignore[union-attr]

    timed = PollRound(
        round_id="t", films=FILMS, eligible=["x", "y"], started_at_ms=0, deadline_ms=1000
    )
    timed.ballot("x", ["c"], now_ms=10)
    assert timed.due_at() == 1000
    assert timed.on_clock(now_ms=999, online=set()).result is None
    assert timed.on_clock(now_ms=1000, online=set()).result.winner == "c"  # type: ignore[union-attr]


def test_veto_turns_skips_offline_members_only_and_ends_with_one_film() -> None:
    r = VetoRound.begin(
        round_id="v",
        films=["a", "b", "c", "d"],
        order=["x", "y", "z"],
        now_ms=0,
        turn_timeout_ms=100,
    )
    assert code_of(lambda: r.strike("y", "a", now_ms=1)) == "not_your_turn"
    assert r.strike("x", "a", now_ms=1).struck == "a"
    assert code_of(lambda: r.strike("y", "a", now_ms=2)) == "film_not_in_round"
    # y is online: never skipped, just given more time.
    assert r.on_clock(now_ms=500, online={"y"}).changed is False and r.current_turn() == "y"
    # y goes offline: skipped once the turn times out.
    assert r.on_clock(now_ms=550, online={"x"}).changed is False
    assert r.on_clock(now_ms=700, online={"x"}).changed and r.current_turn() == "z"
    r.remove_member("z", now_ms=700)  # leaving on their turn passes it on
    assert r.current_turn() == "x"
    r.strike("x", "b", now_ms=701)
    assert r.current_turn() == "y"
    result = r.strike("y", "c", now_ms=702).result
    assert result is not None and result.winner == "d"
    assert result.explanation["strikes"] == [
        {"member": "x", "film": "a"}, {"member": "x", "film": "b"}, {"member": "y", "film": "c"}
    ]  # fmt: skip
    assert result.explanation["skipped"] == ["y"]


def test_closing_a_veto_early_ties_the_remaining_films() -> None:
    r = VetoRound.begin(round_id="v", films=FILMS, order=["x"], now_ms=0, turn_timeout_ms=100)
    result = r.close(now_ms=1).result
    assert result is not None and (result.winner, result.tied) == ("a", FILMS)


@pytest.mark.parametrize(
    "state",
    [
        MatchRound(
            round_id="m", films=FILMS, eligible=["x"], started_at_ms=5, votes={"x": {"a": True}}
        ),
        PollRound(
            round_id="p",
            films=FILMS,
            eligible=["x"],
            started_at_ms=5,
            ballots={"x": ["b"]},
            hidden=True,
        ),
        VetoRound.begin(round_id="v", films=FILMS, order=["x", "y"], now_ms=5, turn_timeout_ms=9),
    ],
)
def test_rounds_survive_storage_unchanged(state: MatchRound | PollRound | VetoRound) -> None:
    mode = state.__struct_config__.tag
    assert decode_round(str(mode), encode_round(state)) == state
    with pytest.raises(ValueError, match="mode"):
        decode_round("other", encode_round(state))


def test_the_host_extends_a_polls_deadline_within_a_day() -> None:
    day = MAX_DEADLINE_MS
    r = PollRound(round_id="t", films=FILMS, eligible=["x", "y"], started_at_ms=0, deadline_ms=1000)
    assert r.extend(30, now_ms=500) == 31_000
    assert r.due_at() == 31_000
    assert r.on_clock(now_ms=1000, online=set()).result is None  # the old deadline passed
    assert code_of(lambda: r.extend(24 * 3600, now_ms=500)) == "bad_extension"
    assert r.extend(3600, now_ms=30_000) == 3_631_000
    assert code_of(lambda: r.extend(1, now_ms=3_631_000)) == "round_closed"  # time is up
    assert r.deadline_ms == 3_631_000 < day
    untimed = PollRound(round_id="u", films=FILMS, eligible=["x"], started_at_ms=0)
    assert code_of(lambda: untimed.extend(30, now_ms=0)) == "no_deadline"
    match = MatchRound(round_id="m", films=FILMS, eligible=["x"], started_at_ms=0)
    assert code_of(lambda: match.extend(30, now_ms=0)) == "no_deadline"
    r.close(now_ms=5_000)
    assert code_of(lambda: r.extend(30, now_ms=5_000)) == "round_closed"
