"""The shared playback clock: one state held by the server, the same position for everyone.

The state says *where playback was at a server instant*: ``position_ms`` held at
server time ``at``, advancing at ``rate`` while playing.  Every client computes the
same position for the same server time: ``position_ms + (t - at) * rate``.

Changes carry a ``version``.  A command may name the version it saw
(``base_version``); if another change landed in between, the command is refused as
``stale`` and the client re-syncs instead of bouncing the other member's change back
(Syncplay's counters).  Starting playback is scheduled slightly in the future
(Jellyfin's rule: server now + max(2 x slowest ping, 500 ms)) so every screen starts
together.

A start scheduled in the future (by ``play`` or a countdown) stays scheduled through
a seek or a rate change: they move the position, never the moment playback begins.
A new film starts from a fresh clock (:func:`reset_playback`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import msgspec

from server.errors import DomainError

__all__ = [
    "MAX_POSITION_MS",
    "MAX_RATE",
    "MIN_RATE",
    "PlaybackError",
    "PlaybackState",
    "apply_playback",
    "may_control",
    "position_at",
    "postpone_start",
    "reset_playback",
    "start_delay_ms",
]

MIN_RATE = 0.25
MAX_RATE = 4.0
MAX_POSITION_MS = 24 * 3600 * 1000
"""No film is longer than a day: anything beyond is a client bug."""
MIN_START_DELAY_MS = 500
MAX_START_DELAY_MS = 3000


class PlaybackError(DomainError):
    """A refused playback command; ``code`` is stable."""


class PlaybackState(msgspec.Struct, frozen=True, kw_only=True):
    state: Literal["playing", "paused"] = "paused"
    position_ms: int = 0
    rate: float = 1.0
    at: int = 0
    by: str | None = None
    version: int = 0


def position_at(playback: PlaybackState, t_ms: int, duration_ms: int | None = None) -> int:
    """The position every client shows at server time ``t_ms`` (clamped to the film)."""
    position = playback.position_ms
    if playback.state == "playing" and t_ms > playback.at:
        position += round((t_ms - playback.at) * playback.rate)
    position = max(0, position)
    return min(position, duration_ms) if duration_ms is not None else position


def start_delay_ms(pings_ms: Iterable[float]) -> int:
    """How far ahead to schedule a start: 2 x the slowest round trip, within 0.5-3 s."""
    slowest = max(pings_ms, default=0.0)
    return int(min(MAX_START_DELAY_MS, max(MIN_START_DELAY_MS, 2 * slowest)))


def may_control(member_id: str, host_id: str | None, policy: Literal["host", "everyone"]) -> bool:
    return policy == "everyone" or member_id == host_id


def _check_position(position_ms: int | None, duration_ms: int | None) -> int:
    if position_ms is None or isinstance(position_ms, bool) or not isinstance(position_ms, int):
        raise PlaybackError(
            "bad_position", "A seek needs position_ms, a whole number of milliseconds."
        )
    limit = duration_ms if duration_ms is not None else MAX_POSITION_MS
    if position_ms < 0 or position_ms > limit:
        raise PlaybackError("bad_position", f"position_ms must be between 0 and {limit}.")
    return position_ms


def apply_playback(
    current: PlaybackState,
    action: str,
    *,
    member_id: str,
    now_ms: int,
    position_ms: int | None = None,
    rate: float | None = None,
    base_version: int | None = None,
    duration_ms: int | None = None,
    start_delay: int = 0,
) -> PlaybackState:
    """The state after ``action``; raises :class:`PlaybackError` with a stable code.

    ``play`` while playing and ``pause`` while paused change nothing: ``current``
    itself comes back, so the caller can tell there is nothing to announce.
    """
    if base_version is not None and base_version != current.version:
        raise PlaybackError("stale", "Someone changed playback first; showing the new state.")
    here = position_at(current, now_ms, duration_ms)

    def changed(**fields: object) -> PlaybackState:
        return msgspec.structs.replace(current, by=member_id, version=current.version + 1, **fields)

    if action == "play":
        if current.state == "playing":
            return current
        # Start a little in the future so every screen starts together.
        return changed(state="playing", position_ms=here, at=now_ms + start_delay)
    if action == "pause":
        if current.state == "paused":
            return current
        return changed(state="paused", position_ms=here, at=now_ms)
    # A start still to come (a countdown's) keeps its moment.
    at = max(now_ms, current.at) if current.state == "playing" else now_ms
    if action == "seek":
        return changed(position_ms=_check_position(position_ms, duration_ms), at=at)
    if action == "rate":
        if rate is None or not MIN_RATE <= rate <= MAX_RATE:  # NaN fails both comparisons
            raise PlaybackError("bad_rate", f"rate must be between {MIN_RATE} and {MAX_RATE}.")
        return changed(position_ms=here, rate=float(rate), at=at)
    raise PlaybackError("bad_action", "action must be play, pause, seek or rate.")


def reset_playback(current: PlaybackState, *, member_id: str, now_ms: int) -> PlaybackState:
    """A new film: paused at 0:00 at normal speed (a new version, so older commands are stale)."""
    return PlaybackState(
        state="paused",
        position_ms=0,
        rate=1.0,
        at=now_ms,
        by=member_id,
        version=current.version + 1,
    )


def postpone_start(
    current: PlaybackState, *, at_ms: int, member_id: str, now_ms: int
) -> PlaybackState:
    """Move a start that has not happened yet (an extended countdown) to ``at_ms``.

    Anything else (paused, or already playing) is returned unchanged: there is no
    scheduled start to move.
    """
    if current.state != "playing" or current.at <= now_ms or current.at >= at_ms:
        return current
    return msgspec.structs.replace(current, at=at_ms, by=member_id, version=current.version + 1)
