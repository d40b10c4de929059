"""The watch party: pure rules for the shared playback clock and the ready check."""

from server.party.playback import (
    MAX_POSITION_MS,
    MAX_RATE,
    MIN_RATE,
    PlaybackError,
    PlaybackState,
    apply_playback,
    may_control,
    position_at,
    postpone_start,
    reset_playback,
    start_delay_ms,
)
from server.party.ready import MAX_COUNTDOWN_S, ReadyCheck, ReadyError

__all__ = [
    "MAX_COUNTDOWN_S",
    "MAX_POSITION_MS",
    "MAX_RATE",
    "MIN_RATE",
    "PlaybackError",
    "PlaybackState",
    "ReadyCheck",
    "ReadyError",
    "apply_playback",
    "may_control",
    "position_at",
    "postpone_start",
    "reset_playback",
    "start_delay_ms",
]
