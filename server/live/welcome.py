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
Each welcome then sets, on the shared snapshot, the fields that differ between
members and encodes it in one step, with no awaiting in between: who is online
(only the members whose presence changed since the previous welcome are touched),
who counts as ready (the ready members who are online), and the viewer's own
ballot or answers (:data:`~server.sessions.service.Personal`).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from realtime.protocol import MemberInfo, Welcome, encode
from realtime.room import Room
from server.sessions.service import Personal, SessionService, SnapshotView

__all__ = ["SharedSnapshot", "WelcomeBuilder"]


@dataclass(slots=True)
class SharedSnapshot:
    """One room state, shared by its members' welcomes."""

    view: SnapshotView
    version: int
    """The room's version when the read began."""
    by_id: dict[str, MemberInfo]
    ready: frozenset[str]
    """Every member marked ready (whether online or not)."""
    shown_online: set[str] = field(default_factory=set)
    """The members flagged online in the snapshot now."""

    @property
    def seq(self) -> int:
        return self.view.snapshot.seq

    @property
    def personal(self) -> tuple[Personal, ...]:
        return self.view.personal

    def fresh(self, room: Room | None, seen_seq: int) -> bool:
        return room is not None and self.version == room.version and self.seq >= seen_seq

    def welcome(
        self,
        member_id: str,
        online: set[str],
        *,
        seq: int,
        resumed: bool,
        server_time: int,
    ) -> str:
        """This member's welcome: the shared state with their own fields filled in."""
        snapshot = self.view.snapshot
        by_id = self.by_id
        for changed in self.shown_online ^ online:
            info = by_id.get(changed)
            if info is not None:
                info.online = changed in online
        self.shown_online = online
        snapshot.party.ready = sorted(self.ready & online)
        for fill in self.personal:
            fill(snapshot, member_id)
        try:
            welcome = Welcome(
                member_id=member_id,
                seq=seq,
                resumed=resumed,
                session=snapshot,
                server_time=server_time,
            )
            return encode(welcome).decode()
        finally:
            for fill in self.personal:
                fill(snapshot, None)


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
        try:
            self.reads += 1
            view = await self.service.snapshot_view(uuid.UUID(session_id))
        except BaseException:
            future.cancel()  # the hellos waiting on it read for themselves
            raise
        finally:
            if self._reading.get(session_id) is future:
                del self._reading[session_id]
        shared = SharedSnapshot(
            view,
            version,
            {info.member_id: info for info in view.snapshot.members},
            frozenset(view.snapshot.party.ready),
        )
        future.set_result(shared)
        kept = room.welcome_cache if room is not None else None
        if room is not None and (
            not isinstance(kept, SharedSnapshot)
            or (kept.version <= shared.version and kept.seq <= shared.seq)
        ):
            room.welcome_cache = shared
        return shared
