"""The playback state machine: arithmetic, every action, every error, stale versions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.party import (
    MAX_POSITION_MS,
    PlaybackError,
    PlaybackState,
    apply_playback,
    may_control,
    position_at,
    postpone_start,
    reset_playback,
    start_delay_ms,
)

PAUSED = PlaybackState()


def test_position_advances_only_while_playing_and_at_the_rate() -> None:
    playing = PlaybackState(state="playing", position_ms=10_000, rate=1.5, at=1_000, version=3)
    assert position_at(playing, 1_000) == 10_000
    assert position_at(playing, 3_000) == 13_000
    assert position_at(playing, 500) == 10_000  # a scheduled start has not happened yet
    assert position_at(playing, 10_000_000, duration_ms=60_000) == 60_000
    paused = PlaybackState(state="paused", position_ms=42, at=0)
    assert position_at(paused, 99_999) == 42


def test_play_pause_seek_rate_sequence() -> None:
    s = apply_playback(PAUSED, "play", member_id="ana", now_ms=1_000, start_delay=500)
    assert (s.state, s.position_ms, s.at, s.by, s.version) == ("playing", 0, 1_500, "ana", 1)
    s = apply_playback(s, "pause", member_id="ben", now_ms=4_500)
    assert (s.state, s.position_ms, s.by, s.version) == ("paused", 3_000, "ben", 2)
    s = apply_playback(s, "seek", member_id="ana", now_ms=5_000, position_ms=60_000)
    assert (s.state, s.position_ms, s.at, s.version) == ("paused", 60_000, 5_000, 3)
    s = apply_playback(s, "play", member_id="ana", now_ms=6_000)
    s = apply_playback(s, "rate", member_id="ana", now_ms=8_000, rate=2.0)
    assert (s.position_ms, s.rate, s.at) == (62_000, 2.0, 8_000)
    assert position_at(s, 9_000) == 64_000


def test_repeating_play_or_pause_changes_nothing() -> None:
    playing = apply_playback(PAUSED, "play", member_id="a", now_ms=0)
    assert apply_playback(playing, "play", member_id="b", now_ms=10) is playing
    assert apply_playback(PAUSED, "pause", member_id="b", now_ms=10) is PAUSED


@pytest.mark.parametrize(
    ("action", "kwargs", "code"),
    [
        ("seek", {"position_ms": -1}, "bad_position"),
        ("seek", {"position_ms": MAX_POSITION_MS + 1}, "bad_position"),
        ("seek", {"position_ms": None}, "bad_position"),
        ("seek", {"position_ms": True}, "bad_position"),
        ("seek", {"position_ms": 120_001, "duration_ms": 120_000}, "bad_position"),
        ("rate", {"rate": 0.2}, "bad_rate"),
        ("rate", {"rate": 4.5}, "bad_rate"),
        ("rate", {"rate": float("nan")}, "bad_rate"),
        ("rate", {}, "bad_rate"),
        ("rewind", {}, "bad_action"),
        ("play", {"base_version": 7}, "stale"),
    ],
)
def test_bad_commands_have_stable_codes(action: str, kwargs: dict[str, object], code: str) -> None:
    with pytest.raises(PlaybackError) as refused:
        apply_playback(PAUSED, action, member_id="a", now_ms=0, **kwargs)  # type: ignore[arg-type]
    assert refused.value.code == code


def test_two_members_changing_at_once_resolve_to_one_state() -> None:
    base = apply_playback(PAUSED, "play", member_id="a", now_ms=0)
    first = apply_playback(base, "pause", member_id="a", now_ms=1_000, base_version=base.version)
    with pytest.raises(PlaybackError, match="changed playback first"):
        apply_playback(
            first, "seek", member_id="b", now_ms=1_001, position_ms=5, base_version=base.version
        )
    assert first.state == "paused" and first.by == "a"


def test_start_delay_and_control_policy() -> None:
    assert start_delay_ms([]) == 500
    assert start_delay_ms([40, 120, 90]) == 500
    assert start_delay_ms([400, 900]) == 1_800
    assert start_delay_ms([5_000]) == 3_000
    assert may_control("host", "host", "host")
    assert not may_control("guest", "host", "host")
    assert may_control("guest", "host", "everyone")


actions = st.lists(
    st.tuples(
        st.sampled_from(["play", "pause", "rate", "seek"]),
        st.integers(min_value=1, max_value=10_000),
        st.floats(min_value=0.25, max_value=4.0),
        st.integers(min_value=0, max_value=10_000_000),
    ),
    max_size=30,
)


@given(actions)
def test_position_is_continuous_except_on_seek(steps: list[tuple[str, int, float, int]]) -> None:
    state, now = PAUSED, 0
    for action, gap, rate, target in steps:
        now += gap
        before = position_at(state, now)
        state = apply_playback(
            state, action, member_id="m", now_ms=now, rate=rate, position_ms=target
        )
        after = position_at(state, now)
        if action == "seek":
            assert after == target
        else:
            assert after == before
        assert position_at(state, now + 1_000) >= after


def test_seek_and_rate_keep_a_scheduled_start() -> None:
    # a countdown scheduled the start at 5 s; a seek at 1 s must not start playback now
    scheduled = apply_playback(PAUSED, "play", member_id="a", now_ms=0, start_delay=5_000)
    sought = apply_playback(scheduled, "seek", member_id="a", now_ms=1_000, position_ms=60_000)
    assert (sought.state, sought.position_ms, sought.at) == ("playing", 60_000, 5_000)
    assert position_at(sought, 4_999) == 60_000
    faster = apply_playback(sought, "rate", member_id="a", now_ms=2_000, rate=2.0)
    assert (faster.at, position_at(faster, 6_000)) == (5_000, 62_000)
    # once it started, a seek takes effect at once
    running = apply_playback(faster, "seek", member_id="a", now_ms=9_000, position_ms=0)
    assert (running.at, position_at(running, 10_000)) == (9_000, 2_000)


def test_a_new_film_starts_paused_at_zero_with_a_new_version() -> None:
    playing = PlaybackState(state="playing", position_ms=3_000, rate=2.0, at=100, version=7)
    reset = reset_playback(playing, member_id="ana", now_ms=9_000)
    assert reset == PlaybackState(
        state="paused", position_ms=0, rate=1.0, at=9_000, by="ana", version=8
    )


def test_only_a_start_still_to_come_is_postponed() -> None:
    scheduled = PlaybackState(state="playing", position_ms=0, at=5_000, version=2)
    moved = postpone_start(scheduled, at_ms=15_000, member_id="ana", now_ms=1_000)
    assert (moved.at, moved.version, moved.by) == (15_000, 3, "ana")
    started = PlaybackState(state="playing", position_ms=0, at=500, version=2)
    assert postpone_start(started, at_ms=15_000, member_id="ana", now_ms=1_000) is started
    assert postpone_start(PAUSED, at_ms=15_000, member_id="ana", now_ms=1_000) is PAUSED
