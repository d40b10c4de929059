"""One error model: every refusal is a DomainError (stable code, human message), and
a lost seat is decided in one place and closes the socket through one code set."""

from __future__ import annotations

import pytest

from realtime.connection import SEAT_LOST
from server.errors import ApiError, DomainError
from server.party.playback import PlaybackError
from server.party.ready import ReadyCheck, ReadyError
from server.sessions import rules
from server.sessions.seats import SeatLost, check_seat
from server.voting.round_state import RoundError
from server.watchlists.uploads import UploadError, parse_upload


@pytest.mark.parametrize(
    "error",
    [
        ApiError(409, "round_open", "A round is already running."),
        rules.RuleViolation("name_empty", "The name must not be empty."),
        ReadyError("not_all_ready", "Not everyone is ready yet."),
        PlaybackError("bad_rate", "Rates go from 0.25 to 4."),
        RoundError("round_closed", "This round is over."),
        UploadError("empty", "The file has no films."),
        SeatLost.session_ended(),
    ],
)
def test_every_refusal_is_a_domain_error_with_code_and_message(error: DomainError) -> None:
    assert isinstance(error, DomainError)
    assert error.code and error.message and str(error) == error.message
    assert isinstance(error.status, int) and isinstance(error.headers, dict)


def test_pure_modules_raise_the_base_with_its_default_status() -> None:
    with pytest.raises(DomainError) as refused:
        rules.validate_name("   ")
    assert (refused.value.code, refused.value.status) == ("name_empty", 400)
    with pytest.raises(DomainError) as not_ready:
        ReadyCheck().start_countdown({"a"}, now_ms=0)
    assert not_ready.value.code == "not_all_ready"
    with pytest.raises(DomainError) as too_large:
        parse_upload(b"x" * 100, "list.csv", max_bytes=10, max_uncompressed_bytes=10, max_films=5)
    assert (too_large.value.code, too_large.value.status) == ("too_large", 413)


@pytest.mark.parametrize(
    ("state", "left", "code", "status"),
    [
        ("lobby", False, None, None),
        ("lobby", True, "not_a_member", 401),
        (None, False, "not_a_member", 401),
        ("ended", False, "session_ended", 410),
        ("ended", True, "session_ended", 410),
    ],
)
def test_one_seat_rule(state: str | None, left: bool, code: str | None, status: int) -> None:
    if code is None:
        check_seat(state, left=left)
        return
    with pytest.raises(SeatLost) as lost:
        check_seat(state, left=left)
    assert (lost.value.code, lost.value.status) == (code, status)


def test_every_lost_seat_code_closes_the_socket() -> None:
    codes = {SeatLost.session_ended().code, SeatLost.not_a_member().code}
    assert codes == SEAT_LOST
