"""Per-process rooms: deliver each session's events to its local connections, in ``seq`` order.

Events reach a process through the hub, possibly out of order (two processes
commit ``seq`` 5 and 6 and publish in the other order) or not at all (a Redis
outage).  A :class:`Room` delivers durable events strictly in order: it holds an
early event back, and when the gap does not close within ``gap_timeout_s`` — or
the hub reports a reconnect — it reads the missing events from the durable log.
Every payload is encoded once and the same text goes to every connection.

The events of one publish (a transaction's events of this session) go to each
connection together, as one :class:`Outbound`, so a socket gets them in one write
("corking"): a burst of chat in a 1,000-member room costs 1,000 writes per batch,
not per message.

A room stays a while after its last member leaves (``linger_s``), still subscribed:
members who come back within it (a network blip, a reloaded page, a reconnect storm)
find its welcome state and its recent events (``recent_events``, the last durable
events it delivered, in order) and are welcomed and resumed without reading the log.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import msgspec
import structlog

from realtime.framing import EPHEMERAL, EVENT, MEMBER_LEFT, SESSION_ENDED, channel_for, unpack
from realtime.hub import Hub

__all__ = ["EventSource", "Outbound", "Recipient", "Room", "Rooms"]

log = structlog.get_logger(__name__)


class _Left(msgspec.Struct):
    member_id: str


_PRESENCE = '{"type":"presence"'
"""How a ``presence`` event's text starts (the tag is encoded first)."""


class EventSource(Protocol):
    """The durable event log (supplied by the server)."""

    async def logged_after(
        self, session_id: str, seq: int, limit: int = ...
    ) -> list[tuple[int, bytes, int]] | None:
        """``(seq, body, kind)`` after ``seq``, in order (kinds: ``realtime.framing``);
        ``None`` when some were trimmed."""
        ...

    async def latest_seqs(self, session_ids: list[str]) -> dict[str, int]:
        """The newest ``seq`` of each session (one query for all)."""
        ...


@dataclass(frozen=True, slots=True)
class Outbound:
    """Events a room hands to each of its connections at once, in order."""

    events: tuple[tuple[int, str], ...]
    """``(seq, text)``; ``seq`` is :data:`EPHEMERAL` for events outside the log."""
    texts: tuple[str, ...]
    """The texts of ``events``: one object for every connection, so each socket's
    frames are built once per fan-out."""
    oldest: int
    """The smallest durable ``seq`` in ``events`` (0: none)."""
    newest: int
    """The largest durable ``seq`` in ``events`` (0: none)."""

    @classmethod
    def of(cls, events: Sequence[tuple[int, str]]) -> Outbound:
        durable = [seq for seq, _ in events if seq != EPHEMERAL]
        return cls(
            tuple(events),
            tuple(text for _, text in events),
            min(durable, default=0),
            max(durable, default=0),
        )


class Recipient(Protocol):
    """A connection as the room sees it."""

    @property
    def member_id(self) -> str: ...

    def deliver(self, batch: Outbound) -> None: ...

    def end(self, reason: str) -> None:
        """The seat is gone (member left, session ended): close after what is queued."""
        ...

    def drop(self, reason: str) -> None:
        """Delivery to this connection failed: close it so its client resumes."""
        ...


class Room:
    """One session's fan-out in this process."""

    def __init__(
        self,
        session_id: str,
        source: EventSource,
        gap_timeout_s: float,
        recent_events: int = 0,
    ) -> None:
        self.session_id = session_id
        self.recipients: set[Recipient] = set()
        self.next_seq: int | None = None
        self._source = source
        self._gap_timeout_s = gap_timeout_s
        self._early: dict[int, tuple[str, int]] = {}
        """Durable events not yet in order: ``seq`` -> ``(text, kind)``."""
        self._ending: list[tuple[int, str]] = []
        """``(kind, text)`` of seat-ending events drained and not yet acted on."""
        self._gap_task: asyncio.Task[None] | None = None
        self.unsubscribe: Callable[[], None] | None = None
        self.version = 0
        """Counts the batches of events (presence aside) this room has been handed: a
        state read before the count last moved may lack one of them."""
        self.ephemeral_version = 0
        """Counts the ephemeral events (presence aside) among them: a state read before
        this count last moved may lack what one of them changed, which no replay brings."""
        self.recent: deque[tuple[int, str]] = deque(maxlen=recent_events)
        """The last durable events delivered, ``(seq, text)``: consecutive, the newest
        is ``next_seq - 1``."""
        self.expiry: asyncio.TimerHandle | None = None
        """While the room lingers with no member: when it goes."""
        self.welcome_cache: object | None = None
        """What the server keeps to welcome this room's members (it decides what; it
        checks :attr:`version` itself), dropped with the room."""

    def baseline(self, seq: int) -> None:
        """The first connection read the log up to ``seq``: later events start after it."""
        if self.next_seq is None:
            self.next_seq = seq + 1
            self._send(self._drain([]))

    def recent_after(self, seq: int) -> list[tuple[int, str]] | None:
        """The events this room delivered after ``seq``, when it still holds them all;
        ``None`` when it does not (too old, or ``seq`` is past what it delivered)."""
        if self.next_seq is None or seq >= self.next_seq:
            return None
        if seq == self.next_seq - 1:
            return []
        recent = self.recent
        if not recent or recent[0][0] > seq + 1:
            return None
        return [event for event in recent if event[0] > seq]

    def on_payloads(self, payloads: Sequence[bytes]) -> None:
        """The payloads of one publish: deliver what is in order, hold back what is early."""
        out: list[tuple[int, str]] = []
        for payload in payloads:
            try:
                seq, body, kind = unpack(payload)
                text = body.decode()
            except (ValueError, UnicodeDecodeError):
                log.warning("room.bad_payload")
                continue
            if seq == EPHEMERAL:
                out.append((EPHEMERAL, text))
                if not text.startswith(_PRESENCE):
                    self.version += 1
                    self.ephemeral_version += 1
            elif self.next_seq is None or seq >= self.next_seq:  # else already delivered
                self.version += 1
                self._early[seq] = (text, kind)
                self._drain(out)
        self._send(out)

    def _drain(self, out: list[tuple[int, str]]) -> list[tuple[int, str]]:
        """Move the events that are next in order to ``out``."""
        if self.next_seq is None:
            return out
        if self._early and min(self._early) < self.next_seq:
            for seq in [s for s in self._early if s < self.next_seq]:
                del self._early[seq]
        while self.next_seq in self._early:
            text, kind = self._early.pop(self.next_seq)
            event = (self.next_seq, text)
            out.append(event)
            self.recent.append(event)
            if kind != EVENT:
                self._ending.append((kind, text))
            self.next_seq += 1
        if self._early and (self._gap_task is None or self._gap_task.done()):
            self._gap_task = asyncio.get_running_loop().create_task(self._fill_gap())
        return out

    async def _fill_gap(self) -> None:
        await asyncio.sleep(self._gap_timeout_s)
        if self._early:
            await self.resync()

    async def resync(self) -> None:
        """Read what this room has not delivered from the durable log.

        Publishes may have been lost (a hub outage, a gap): ephemeral ones too, which
        no log holds, so a state read before now no longer counts as complete."""
        self.ephemeral_version += 1
        if self.next_seq is None:
            return
        events = await self._source.logged_after(self.session_id, self.next_seq - 1)
        if events is None:
            log.warning("room.resync_lost_history", missing_from=self.next_seq)
            return
        for seq, body, kind in events:
            self._early.setdefault(seq, (body.decode(), kind))
        self.version += 1
        self._send(self._drain([]))

    def _send(self, events: list[tuple[int, str]]) -> None:
        if not events:
            return
        batch = Outbound.of(events)
        for recipient in list(self.recipients):
            try:
                recipient.deliver(batch)
            except Exception as exc:
                # ``next_seq`` has moved on: the others must still get the batch, and
                # this one may have lost it, so it resumes rather than miss it silently.
                log.error("room.deliver_failed", error=repr(exc))
                with contextlib.suppress(Exception):
                    recipient.drop("delivery failed: reconnect and resume")
        if self._ending:  # rare: a member left or the session ended
            ending, self._ending = self._ending, []
            for kind, text in ending:
                self._end_seats(kind, text)

    def _end_seats(self, kind: int, text: str) -> None:
        """Close the connections whose seat the event ended, after it is sent."""
        if kind == SESSION_ENDED:
            for recipient in list(self.recipients):
                recipient.end("session ended")
        elif kind == MEMBER_LEFT:
            gone = msgspec.json.decode(text, type=_Left).member_id
            for recipient in list(self.recipients):
                if recipient.member_id == gone:
                    recipient.end("you left the session")

    def close(self) -> None:
        if self.expiry is not None:
            self.expiry.cancel()
        if self._gap_task is not None:
            self._gap_task.cancel()
        if self.unsubscribe is not None:
            self.unsubscribe()


class Rooms:
    """The rooms of this process, subscribed on the hub while they have connections
    (and for ``linger_s`` after the last one left)."""

    def __init__(
        self,
        hub: Hub,
        source: EventSource,
        *,
        gap_timeout_s: float = 0.25,
        linger_s: float = 0.0,
        recent_events: int = 0,
    ) -> None:
        self._hub = hub
        self._source = source
        self._gap_timeout_s = gap_timeout_s
        self._linger_s = linger_s
        self._recent_events = recent_events
        self._rooms: dict[str, Room] = {}
        hub.on_resync(self.resync_all)

    def __len__(self) -> int:
        return len(self._rooms)

    def get(self, session_id: str) -> Room | None:
        return self._rooms.get(session_id)

    def join(self, session_id: str, recipient: Recipient) -> Room:
        room = self._rooms.get(session_id)
        if room is None:
            room = Room(session_id, self._source, self._gap_timeout_s, self._recent_events)
            self._rooms[session_id] = room
            room.unsubscribe = self._hub.subscribe(channel_for(session_id), room.on_payloads)
        elif room.expiry is not None:
            room.expiry.cancel()
            room.expiry = None
        room.recipients.add(recipient)
        return room

    def leave(self, session_id: str, recipient: Recipient) -> None:
        room = self._rooms.get(session_id)
        if room is None:
            return
        room.recipients.discard(recipient)
        if room.recipients:
            return
        if self._linger_s <= 0:
            self._drop(session_id, room)
        elif room.expiry is None:
            room.expiry = asyncio.get_running_loop().call_later(
                self._linger_s, self._expire, session_id, room
            )

    def _expire(self, session_id: str, room: Room) -> None:
        room.expiry = None
        if not room.recipients:
            self._drop(session_id, room)

    def _drop(self, session_id: str, room: Room) -> None:
        room.close()
        if self._rooms.get(session_id) is room:
            del self._rooms[session_id]

    async def resync_all(self) -> None:
        for room in list(self._rooms.values()):
            with contextlib.suppress(Exception):
                await room.resync()

    async def catch_up(self) -> int:
        """Resync every room that is behind the log; returns how many were.

        A publish can be lost without anyone noticing (the publisher's connection to
        Redis was stale just after an outage, say) and no later event reveals the
        gap. This anti-entropy pass bounds how long such a room stays behind.
        """
        rooms = [room for room in self._rooms.values() if room.next_seq is not None]
        if not rooms:
            return 0
        latest = await self._source.latest_seqs([room.session_id for room in rooms])
        behind = [
            r for r in rooms if r.next_seq is not None and latest.get(r.session_id, 0) >= r.next_seq
        ]
        for room in behind:
            with contextlib.suppress(Exception):
                await room.resync()
        return len(behind)

    async def run_catch_up(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                behind = await self.catch_up()
            except Exception as exc:  # the database may be briefly unreachable
                log.warning("rooms.catch_up_failed", error=type(exc).__name__)
                continue
            if behind:
                log.warning("rooms.caught_up", rooms=behind)

    def close(self) -> None:
        for room in self._rooms.values():
            room.close()
        self._rooms.clear()
