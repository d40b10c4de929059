"""Welcomes that cost the same in a room of 1,000 as in a room of 10.

A room's state is read from the database once per state, not once per hello: the
snapshot, read for no viewer in particular (:meth:`SessionService.snapshot_view`),
is kept on the process's :class:`~realtime.room.Room` with the ``seq`` it was read
at and the room's :attr:`~realtime.room.Room.version` before the read. A hello uses
it while both still hold:

- its ``seq`` is at least the one the hello's token check saw (that check is one
  indexed query of the database, on every process: a member who left or was
  removed, or a session that ended, is refused at once, and any event committed
  before the hello is in its welcome);
- the room has been handed no event since the read began (durable or ephemeral,
  presence aside), so nothing a member of this room has been sent is missing.

Otherwise the state is read again, once, for the hellos waiting at that moment.
(A member who resumes may be answered from a kept state that predates some events,
which its replay then brings: ``LiveGateway._resume_in_room``.)
Each welcome then fills in, with no awaiting in between, what differs between
members or with presence: who is online (each member's entry is encoded once per
state, online, its offline text made from it, and a welcome swaps only the entries whose member's
presence changed since the previous one, then joins them), who counts as ready
(the ready members who are online), and the viewer's own ballot or answers
(:data:`~server.sessions.service.Personal`). The text is the same as encoding the
viewer's whole :class:`~realtime.protocol.Welcome`; what is left to encode per
welcome leaves the member list out (it is joined, not encoded).
"""

from __future__ import annotations

import asyncio
import uuid

from realtime.protocol import Welcome, encode
from realtime.room import Room
from server.sessions.service import Personal, SessionService, SnapshotView

__all__ = ["SharedSnapshot", "WelcomeBuilder"]


_MEMBERS = b'"members":[]'
"""The members field of a snapshot encoded without its members. Every ``"`` inside a
JSON string is escaped, so the first match is the field (it precedes any text that
could hold the words: only ids, the title and numbers come before it)."""


_ONLINE = b'"online":true'
_OFFLINE = b'"online":false'


def _offline(entry: bytes) -> bytes:
    """A member's encoded entry, online, as it reads offline. The field appears once:
    every ``"`` inside a JSON string is escaped, so no name can hold the words."""
    return entry.replace(_ONLINE, _OFFLINE, 1)


class SharedSnapshot:
    """One room state, shared by its members' welcomes.

    Each member's entry is encoded once when the state is read, online (the offline
    text is made from it when the member is shown offline); a welcome joins the
    entries as the presence it is given has them (only the entries whose member
    changed since the previous welcome are swapped) and encodes the rest of the
    state, which does not grow with the room's members.
    """

    __slots__ = (
        "_index",
        "_joined",
        "_online",
        "_parts",
        "_shown_online",
        "ephemeral_version",
        "ready",
        "version",
        "view",
    )

    def __init__(self, view: SnapshotView, version: int, ephemeral_version: int = 0) -> None:
        self.view = view
        self.version = version
        """The room's version when the read began."""
        self.ephemeral_version = ephemeral_version
        """The room's ephemeral version when the read began."""
        snapshot = view.snapshot
        self.ready = frozenset(snapshot.party.ready)
        """Every member marked ready (whether online or not)."""
        self._index = {info.member_id: n for n, info in enumerate(snapshot.members)}
        online: list[bytes] = []
        for info in snapshot.members:
            info.online = True
            online.append(encode(info))
        self._online = online
        self._parts = [_offline(entry) for entry in online]
        self._shown_online: set[str] = set()
        self._joined: bytes | None = None
        snapshot.members = []  # the entries above stand for them

    @property
    def seq(self) -> int:
        return self.view.snapshot.seq

    @property
    def personal(self) -> tuple[Personal, ...]:
        return self.view.personal

    def fresh(self, room: Room | None, seen_seq: int) -> bool:
        return room is not None and self.version == room.version and self.seq >= seen_seq

    def shows_presence_of(self, room: Room, last_seq: int) -> bool:
        """Can a member resumed at ``last_seq`` by ``room``'s recent events take what no
        event carries from this state?  When it holds every ephemeral change the room
        was handed and is not older than the member's own position (events since may
        be missing: the replay brings them, and a resumed client keeps its state)."""
        return self.ephemeral_version == room.ephemeral_version and self.seq >= last_seq

    def _members(self, online: set[str]) -> bytes:
        index, parts, entries = self._index, self._parts, self._online
        for changed in self._shown_online ^ online:
            n = index.get(changed)
            if n is not None:
                parts[n] = entries[n] if changed in online else _offline(entries[n])
                self._joined = None
        self._shown_online = online
        if self._joined is None:
            self._joined = b",".join(parts)
        return self._joined

    def welcome(
        self,
        member_id: str,
        online: set[str],
        *,
        seq: int,
        resumed: bool,
        server_time: int,
    ) -> str:
        """This member's welcome: the shared state with their own fields filled in
        (the same text as encoding the whole :class:`Welcome` for them)."""
        snapshot = self.view.snapshot
        snapshot.party.ready = sorted(self.ready & online)
        for fill in self.personal:
            fill(snapshot, member_id)
        try:
            rest = encode(
                Welcome(
                    member_id=member_id,
                    seq=seq,
                    resumed=resumed,
                    session=snapshot,
                    server_time=server_time,
                )
            )
        finally:
            for fill in self.personal:
                fill(snapshot, None)
        at = rest.index(_MEMBERS)
        return b"".join(
            (rest[:at], b'"members":[', self._members(online), b"]", rest[at + len(_MEMBERS) :])
        ).decode()


class WelcomeBuilder:
    """Keeps each room's :class:`SharedSnapshot` and reads a new one when it is stale."""

    def __init__(self, service: SessionService) -> None:
        self.service = service
        self.reads = 0
        """State reads so far (the tests count them)."""
        self._reading: dict[str, asyncio.Future[SharedSnapshot]] = {}

    async def shared(self, room: Room | None, session_id: str, seen_seq: int) -> SharedSnapshot:
        cached = room.welcome_cache if room is not None else None
        if isinstance(cached, SharedSnapshot) and cached.fresh(room, seen_seq):
            return cached
        pending = self._reading.get(session_id)
        if pending is not None:  # a read under way: wait for it rather than start another
            await asyncio.wait((pending,))
            if not pending.cancelled() and pending.exception() is None:
                shared = pending.result()
                if shared.fresh(room, seen_seq):
                    return shared
        return await self._read(room, session_id)

    async def _read(self, room: Room | None, session_id: str) -> SharedSnapshot:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[SharedSnapshot] = loop.create_future()
        self._reading[session_id] = future
        version = room.version if room is not None else 0
        ephemeral_version = room.ephemeral_version if room is not None else 0
        try:
            self.reads += 1
            view = await self.service.snapshot_view(uuid.UUID(session_id))
        except BaseException:
            future.cancel()  # the hellos waiting on it read for themselves
            raise
        finally:
            if self._reading.get(session_id) is future:
                del self._reading[session_id]
        shared = SharedSnapshot(view, version, ephemeral_version)
        future.set_result(shared)
        kept = room.welcome_cache if room is not None else None
        if room is not None and (
            not isinstance(kept, SharedSnapshot)
            or (kept.version <= shared.version and kept.seq <= shared.seq)
        ):
            room.welcome_cache = shared
        return shared
