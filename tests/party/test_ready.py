"""The ready check and its countdown."""

from __future__ import annotations

import pytest

from server.party import ReadyCheck, ReadyError


def test_the_countdown_needs_everyone_present_or_the_host() -> None:
    check = ReadyCheck()
    present = {"ana", "ben", "cleo"}
    check.set_ready("ana", True, now_ms=0)
    check.set_ready("ben", True, now_ms=0)
    assert not check.all_ready(present)
    assert check.waiting_for(present) == {"cleo"}
    with pytest.raises(ReadyError) as refused:
        check.start_countdown(present, now_ms=0)
    assert refused.value.code == "not_all_ready"
    # cleo went offline: she is no longer present, so nobody is waited for
    assert check.all_ready({"ana", "ben"})
    assert check.start_countdown({"ana", "ben"}, now_ms=1_000, seconds=5) == 6_000
    # or the host forces it (jellyfin#17864: nobody waits for ever)
    forced = ReadyCheck()
    assert forced.start_countdown(present, now_ms=0, seconds=3, force=True) == 3_000
    assert not ReadyCheck().all_ready(set())


def test_unreadying_cancels_a_running_countdown_only() -> None:
    check = ReadyCheck(ready={"ana"})
    check.start_countdown({"ana"}, now_ms=0, seconds=5)
    assert check.set_ready("ana", False, now_ms=1_000) is True
    assert check.countdown_ends_at is None
    check.set_ready("ana", True, now_ms=2_000)
    check.start_countdown({"ana"}, now_ms=2_000, seconds=1)
    assert check.set_ready("ana", False, now_ms=10_000) is False  # already finished
    assert check.cancel() is True and check.cancel() is False
    check.forget("ana")
    assert check.ready == set()


@pytest.mark.parametrize("seconds", [0, 61])
def test_countdown_length_is_bounded(seconds: int) -> None:
    with pytest.raises(ReadyError) as refused:
        ReadyCheck().start_countdown({"a"}, now_ms=0, seconds=seconds, force=True)
    assert refused.value.code == "bad_countdown"


def test_without_a_film_nobody_gets_ready_and_nothing_counts_down() -> None:
    check = ReadyCheck()
    with pytest.raises(ReadyError) as refused:
        check.set_ready("ana", True, now_ms=0, film_set=False)
    assert refused.value.code == "no_film"
    assert check.ready == set()
    with pytest.raises(ReadyError) as refused:
        check.start_countdown({"ana"}, now_ms=0, force=True, film_set=False)
    assert refused.value.code == "no_film"
    assert check.countdown_ends_at is None
    # saying "not ready" is always harmless
    assert check.set_ready("ana", False, now_ms=0, film_set=False) is False


def test_a_countdown_only_starts_once_and_never_while_the_film_plays() -> None:
    check = ReadyCheck(ready={"ana"})
    with pytest.raises(ReadyError) as refused:
        check.start_countdown({"ana"}, now_ms=0, playing=True)
    assert refused.value.code == "already_playing"
    assert check.start_countdown({"ana"}, now_ms=0, seconds=5) == 5_000
    with pytest.raises(ReadyError) as refused:
        check.start_countdown({"ana"}, now_ms=1_000, seconds=5)
    assert refused.value.code == "countdown_running"
    assert check.countdown_ends_at == 5_000
    # once it reached zero it is over: a new one may start (if the film is paused)
    assert not check.running(5_000)
    assert check.start_countdown({"ana"}, now_ms=9_000, seconds=2) == 11_000


def test_only_a_running_countdown_can_be_cancelled_or_extended() -> None:
    check = ReadyCheck()
    for act in (
        lambda: check.cancel_running(0),
        lambda: check.extend(0, 5),
    ):
        with pytest.raises(ReadyError) as refused:
            act()
        assert refused.value.code == "no_countdown"
    check.start_countdown(set(), now_ms=0, seconds=5, force=True)
    # after zero the film plays: cancelling or extending makes no sense any more
    for act in (
        lambda: check.cancel_running(6_000, playing=True),
        lambda: check.extend(6_000, 5, playing=True),
    ):
        with pytest.raises(ReadyError) as refused:
            act()
        assert refused.value.code == "already_playing"
    assert check.countdown_ends_at == 5_000
    check.cancel_running(1_000)
    assert check.countdown_ends_at is None


def test_the_host_extends_a_countdown_within_a_minute_from_now() -> None:
    check = ReadyCheck()
    check.start_countdown(set(), now_ms=0, seconds=5, force=True)
    assert check.extend(2_000, 30) == 35_000
    assert check.extend(30_000, 30) == 65_000  # 35 s left + 30 s = ends 35 s from now
    with pytest.raises(ReadyError) as refused:
        check.extend(30_000, 30)  # would end 65 s from now
    assert refused.value.code == "bad_countdown"
    assert check.countdown_ends_at == 65_000
    # extended more than once, a countdown still never ends further than a minute away
    assert check.extend(64_000, 59) == 124_000


def test_a_new_film_clears_readiness_and_the_countdown() -> None:
    check = ReadyCheck(ready={"ana", "ben"})
    check.start_countdown({"ana", "ben"}, now_ms=0)
    check.clear()
    assert check.ready == set() and check.countdown_ends_at is None
