"""The ready check: everyone present says "ready", then a countdown starts.

Jellyfin's group waits for ever when one member never reports ready
(jellyfin#17864): here the host can force the countdown at any time, and a member
who goes offline no longer counts as present.  Un-readying cancels a countdown
that has not finished.
"""

from __future__ import annotations

import msgspec

from server.errors import DomainError

__all__ = ["ReadyCheck", "ReadyError"]

DEFAULT_COUNTDOWN_S = 5


class ReadyError(DomainError):
    """The ready check refused a command; ``code`` is stable."""


class ReadyCheck(msgspec.Struct, kw_only=True):
    """Who is ready, and the countdown if one runs (``ends_at`` in server ms)."""

    ready: set[str] = msgspec.field(default_factory=set)
    countdown_ends_at: int | None = None

    def set_ready(self, member_id: str, ready: bool, *, now_ms: int) -> bool:
        """Record a member's answer; returns True when it cancelled a running countdown."""
        if ready:
            self.ready.add(member_id)
            return False
        self.ready.discard(member_id)
        if self.countdown_ends_at is not None and now_ms < self.countdown_ends_at:
            self.countdown_ends_at = None
            return True
        return False

    def all_ready(self, present: set[str]) -> bool:
        return bool(present) and present <= self.ready

    def waiting_for(self, present: set[str]) -> set[str]:
        """Who holds the group up (shown to the host, who may then force the start)."""
        return present - self.ready

    def start_countdown(
        self,
        present: set[str],
        *,
        now_ms: int,
        seconds: int = DEFAULT_COUNTDOWN_S,
        force: bool = False,
    ) -> int:
        if not force and not self.all_ready(present):
            raise ReadyError(
                "not_all_ready", "Not everyone is ready yet; the host can start anyway."
            )
        if not 1 <= seconds <= 60:
            raise ReadyError("bad_countdown", "A countdown lasts 1 to 60 seconds.")
        self.countdown_ends_at = now_ms + seconds * 1000
        return self.countdown_ends_at

    def cancel(self) -> bool:
        running = self.countdown_ends_at is not None
        self.countdown_ends_at = None
        return running

    def forget(self, member_id: str) -> None:
        self.ready.discard(member_id)
