"""The ready check: everyone present says "ready", then a countdown starts.

Jellyfin's group waits for ever when one member never reports ready
(jellyfin#17864): here the host can force the countdown at any time, and a member
who goes offline no longer counts as present.  Un-readying cancels a countdown
that has not finished.

The check exists only once a film is set: getting ready or counting down to
nothing is refused (``no_film``), and a new film asks everyone again
(:meth:`ReadyCheck.clear`).  A countdown is for starting the film: it cannot start
while the film plays (``already_playing``) or while another one runs
(``countdown_running``), and only a running one can be cancelled or extended
(``no_countdown``).  Extending (WCAG 2.2.1: the host gives people more time) keeps
the end at most ``MAX_COUNTDOWN_S`` from now.
"""

from __future__ import annotations

import msgspec

from server.errors import DomainError

__all__ = ["MAX_COUNTDOWN_S", "ReadyCheck", "ReadyError"]

DEFAULT_COUNTDOWN_S = 5
MAX_COUNTDOWN_S = 60
"""The longest countdown, and the furthest an extended one may end from now."""


class ReadyError(DomainError):
    """The ready check refused a command; ``code`` is stable."""


class ReadyCheck(msgspec.Struct, kw_only=True):
    """Who is ready, and the countdown if one runs (``ends_at`` in server ms)."""

    ready: set[str] = msgspec.field(default_factory=set)
    countdown_ends_at: int | None = None

    def running(self, now_ms: int) -> bool:
        """A countdown runs (one that reached zero is over: the film it started plays)."""
        return self.countdown_ends_at is not None and now_ms < self.countdown_ends_at

    def set_ready(self, member_id: str, ready: bool, *, now_ms: int, film_set: bool = True) -> bool:
        """Record a member's answer; returns True when it cancelled a running countdown."""
        if ready and not film_set:
            raise ReadyError("no_film", "There is no film yet: the host sets one first.")
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
        film_set: bool = True,
        playing: bool = False,
    ) -> int:
        if not film_set:
            raise ReadyError("no_film", "There is no film yet: set one before the countdown.")
        if self.running(now_ms):
            raise ReadyError(
                "countdown_running", "A countdown is already running; cancel or extend it."
            )
        if playing:
            raise ReadyError("already_playing", "The film is already playing; pause it first.")
        if not force and not self.all_ready(present):
            raise ReadyError(
                "not_all_ready", "Not everyone is ready yet; the host can start anyway."
            )
        if not 1 <= seconds <= MAX_COUNTDOWN_S:
            raise ReadyError("bad_countdown", f"A countdown lasts 1 to {MAX_COUNTDOWN_S} seconds.")
        self.countdown_ends_at = now_ms + seconds * 1000
        return self.countdown_ends_at

    def _require_running(self, now_ms: int, playing: bool) -> int:
        if self.countdown_ends_at is None or now_ms >= self.countdown_ends_at:
            if playing:
                raise ReadyError("already_playing", "The countdown is over: the film is playing.")
            raise ReadyError("no_countdown", "No countdown is running.")
        return self.countdown_ends_at

    def cancel_running(self, now_ms: int, *, playing: bool = False) -> None:
        """The host's cancel: only a countdown that still runs can be cancelled."""
        self._require_running(now_ms, playing)
        self.countdown_ends_at = None

    def extend(self, now_ms: int, seconds: int, *, playing: bool = False) -> int:
        """Give people more time: the running countdown ends ``seconds`` later."""
        ends_at = self._require_running(now_ms, playing) + seconds * 1000
        if seconds < 1 or ends_at - now_ms > MAX_COUNTDOWN_S * 1000:
            raise ReadyError(
                "bad_countdown",
                f"An extended countdown ends at most {MAX_COUNTDOWN_S} seconds from now.",
            )
        self.countdown_ends_at = ends_at
        return ends_at

    def clear(self) -> None:
        """A new film: nobody is ready for it yet, and no countdown runs."""
        self.ready.clear()
        self.countdown_ends_at = None

    def cancel(self) -> bool:
        running = self.countdown_ends_at is not None
        self.countdown_ends_at = None
        return running

    def forget(self, member_id: str) -> None:
        self.ready.discard(member_id)
