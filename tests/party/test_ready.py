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
