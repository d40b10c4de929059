"""The replay a resuming member gets: the room's events after its ``last_seq``.

Members of one room who come back together (a reconnect storm) share one read of
the log, from the lowest ``last_seq`` among them, and each gets its own part of it,
decoded once.  A shared read answers an ask only when it holds that ask's whole
range: it starts at or below the ask's ``last_seq`` and was not cut short by the
limit (a read that hit the limit sends the higher asks to a read of their own).
Each answer is what that member's own read would have given at that moment: the
events after its ``last_seq``, or ``None`` when the log no longer starts right after
it (trimmed), so the member starts over from the snapshot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from server.shared_reads import BURST_SPACING_S, SharedReads

__all__ = ["REPLAY_LIMIT", "Replay", "ReplayReads"]

REPLAY_LIMIT = 10_000
"""At most this many events are read for one replay (as ``events_after`` does)."""

Replay = list[tuple[int, str]]
EventsAfter = Callable[[str, int, int], Awaitable[list[tuple[int, bytes]] | None]]


def part_after(events: Sequence[tuple[int, str]], last_seq: int) -> Replay | None:
    """The events after ``last_seq`` out of a read that holds them all; ``None`` when
    the first of them is not ``last_seq + 1`` (the log was trimmed past it)."""
    part = [event for event in events if event[0] > last_seq]
    if part and part[0][0] != last_seq + 1:
        return None
    return part


class ReplayReads:
    """Replays for resuming members, one log read per room at a time."""

    def __init__(self, events_after: EventsAfter, *, limit: int = REPLAY_LIMIT) -> None:
        self._events_after = events_after
        self._limit = limit
        self._shared: SharedReads[str, int, Replay | None] = SharedReads(
            self._read, spacing_s=BURST_SPACING_S
        )

    @property
    def reads(self) -> int:
        """Shared reads made (own reads of asks a shared one could not hold not counted)."""
        return self._shared.reads

    async def after(self, session_id: str, last_seq: int) -> Replay | None:
        return await self._shared.ask(session_id, last_seq)

    async def _own(self, session_id: str, last_seq: int) -> Replay | None:
        events = await self._events_after(session_id, last_seq, self._limit)
        return None if events is None else [(seq, body.decode()) for seq, body in events]

    async def _read(self, session_id: str, asks: Sequence[int]) -> list[Replay | None]:
        low = min(asks)
        events = await self._own(session_id, low)
        answers: list[Replay | None] = []
        for last_seq in asks:
            if last_seq == low:
                answers.append(None if events is None else list(events))
            elif events is None or len(events) >= self._limit:
                # Trimmed below this ask's start, or cut short by the limit: this read
                # does not hold the ask's whole range, so it reads its own.
                answers.append(await self._own(session_id, last_seq))
            else:
                answers.append(part_after(events, last_seq))
        return answers
