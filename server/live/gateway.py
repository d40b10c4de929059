"""The server's half of a WebSocket connection (implements ``realtime.connection.Gateway``).

Authentication, the welcome snapshot or replay, presence, and every command: each
command that changes state runs in one engine transaction together with its event
and, when it carries an ``id``, the record that makes a resend harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from realtime.connection import CloseCode, Member, Rejected, WelcomePlan
from realtime.presence import PresenceStore
from realtime.protocol import (
    Ack,
    ClientMessage,
    ErrorEvent,
    Hello,
    Ping,
    Presence,
)
from realtime.room import Room, Rooms
from server.db.models import AppliedCommand
from server.errors import DomainError
from server.live.replay import ReplayReads
from server.live.welcome import SharedSnapshot, WelcomeBuilder
from server.session_engine import SessionEngine, Transaction, utcnow
from server.sessions.service import SessionService

__all__ = ["CommandRouter", "LiveGateway", "refusal"]

log = structlog.get_logger(__name__)
T = TypeVar("T")
C = TypeVar("C", bound=ClientMessage)

Handler = Callable[[Transaction, Member, C], Awaitable[int | None]]
"""Applies one command of type ``C`` in ``tx``; returns the ``seq`` of the event it
wrote, if any."""


DirectHandler = Callable[[Member, C, str | None], "asyncio.Future[Ack | ErrorEvent | None]"]
"""Queues one command of type ``C`` that is batched (many members' commands in one
transaction, with their at-most-once records); the future gives its answer and never
raises."""


def id_of(command: ClientMessage) -> str | None:
    """The ``id`` a command carries (``hello`` and ``ping`` have none)."""
    return None if isinstance(command, Hello | Ping) else command.id


def refusal(refused: DomainError, command_id: str | None) -> ErrorEvent:
    """The ``error`` frame that answers a refused command (every WebSocket refusal
    is built here; a lost seat's code also closes the socket, in ``realtime.connection``)."""
    return ErrorEvent(
        code=refused.code,
        message=refused.message,
        id=command_id,
        retry_after_ms=refused.retry_after_ms,
    )


class CommandRouter:
    """Maps a command ``type`` to the use case that applies it.

    Each handler is typed by its command: registering pairs the two, and the stored
    entry checks that pairing once per call (the dispatch needs no cast).
    """

    def __init__(self) -> None:
        self._handlers: dict[type, Handler[ClientMessage]] = {}
        self._direct: dict[type, DirectHandler[ClientMessage]] = {}

    def register(self, command: type[C], handler: Handler[C]) -> None:
        def typed(tx: Transaction, member: Member, message: ClientMessage) -> Awaitable[int | None]:
            if not isinstance(message, command):
                raise TypeError(
                    f"{type(message).__name__} routed to the {command.__name__} handler"
                )
            return handler(tx, member, message)

        self._handlers[command] = typed

    def register_direct(self, command: type[C], handler: DirectHandler[C]) -> None:
        def typed(
            member: Member, message: ClientMessage, command_id: str | None
        ) -> asyncio.Future[Ack | ErrorEvent | None]:
            if not isinstance(message, command):
                raise TypeError(
                    f"{type(message).__name__} routed to the {command.__name__} handler"
                )
            return handler(member, message, command_id)

        self._direct[command] = typed

    def get(self, command: ClientMessage) -> Handler[ClientMessage] | None:
        return self._handlers.get(type(command))

    def get_direct(self, command: ClientMessage) -> DirectHandler[ClientMessage] | None:
        return self._direct.get(type(command))

    def batched(self, command: ClientMessage) -> bool:
        """Is ``command`` applied by a batcher (in arrival order, many per transaction)?"""
        return type(command) in self._direct


def _kept_after(
    room: Room | None, last_seq: int, snapshot_seq: int
) -> list[tuple[int, str]] | None:
    """The replay after ``last_seq`` when ``room`` answers it with no read of the log,
    given a welcome whose state is at ``snapshot_seq``: the member holds
    ``snapshot_seq`` and the room has handed out no event after it (it has no position
    yet, or is behind), so every later event reaches it live, in order; or the room
    has delivered up to the state's ``seq`` and still holds every event after
    ``last_seq``."""
    if room is None:
        return None
    if room.next_seq is None or room.next_seq <= snapshot_seq:
        return [] if last_seq == snapshot_seq else None
    return room.recent_after(last_seq)


def _room_replay(
    room: Room, member: Member, last_seq: int
) -> tuple[SharedSnapshot, list[tuple[int, str]]] | None:
    """The room's kept state and its events after ``last_seq``, when they can resume
    ``member`` (see :meth:`LiveGateway._resume_in_room`)."""
    shared = room.welcome_cache
    if not isinstance(shared, SharedSnapshot) or not shared.shows_presence_of(room, last_seq):
        return None
    replay = room.recent_after(last_seq)
    if replay is None or room.next_seq is None or room.next_seq - 1 < member.seen_seq:
        return None
    return shared, replay


class LiveGateway:
    """Connects the wire to the session service, the engine and presence."""

    def __init__(
        self,
        service: SessionService,
        engine: SessionEngine,
        presence: PresenceStore,
        router: CommandRouter,
        *,
        clock_ms: Callable[[], int],
        connections_per_member: int = 5,
        presence_tick_s: float = 0.1,
    ) -> None:
        self.service = service
        self.engine = engine
        self.presence = presence
        self.router = router
        self._clock_ms = clock_ms
        self._connections_per_member = connections_per_member
        self._presence_tick_s = presence_tick_s
        self._presence_changes: dict[str, dict[str, bool]] = {}
        self._presence_flush: set[asyncio.Task[None]] = set()
        self.connections: dict[str, Member] = {}
        self._last_online: dict[str, set[str]] = {}
        self.offline_hooks: list[Callable[[Member], Awaitable[None]]] = []
        """Called when a member's last connection closes (the party's readiness)."""
        self.rooms: Rooms | None = None
        """This process's rooms, where each keeps its members' shared welcome state."""
        self.welcomes = WelcomeBuilder(service)
        self.replays = ReplayReads(engine.events_after)
        """Resuming members of one room share the log read of their replays."""

    async def authenticate(self, session_id: str, token: str) -> Member | Rejected:
        identity = await self.service.authenticate(token)
        if identity is None:
            return Rejected(CloseCode.UNAUTHORIZED, "unknown or expired token")
        if str(identity.session_id) != session_id:
            return Rejected(CloseCode.FORBIDDEN, "this token belongs to another session")
        member_id = str(identity.member_id)
        if (
            await self._presence_call(self.presence.connections(session_id, member_id), 0)
            >= self._connections_per_member
        ):
            return Rejected(CloseCode.TOO_MANY_CONNECTIONS, "too many connections for this seat")
        return Member(session_id, member_id, identity.seq)

    @staticmethod
    async def _presence_call(call: Awaitable[T], fallback: T) -> T:
        """Presence is a convenience: while its store (Redis) is down, degrade, don't fail."""
        try:
            return await call
        except Exception as exc:
            log.warning("presence.unavailable", error=type(exc).__name__)
            return fallback

    async def welcome(self, member: Member, last_seq: int | None) -> WelcomePlan:
        """The room's shared state (read once per state, see ``server.live.welcome``)
        with this member's own fields; the replay when resuming."""
        room = self.rooms.get(member.session_id) if self.rooms is not None else None
        if room is not None and last_seq is not None:
            plan = await self._resume_in_room(room, member, last_seq)
            if plan is not None:
                return plan
        shared = await self.welcomes.shared(room, member.session_id, member.seen_seq)
        online = await self._presence_call(self.presence.online(member.session_id), set())
        online.add(member.member_id)
        snapshot_seq = shared.seq
        replay: list[tuple[int, str]] = []
        resumed = False
        if last_seq is not None and last_seq <= snapshot_seq:
            kept = _kept_after(room, last_seq, snapshot_seq)
            if kept is not None:
                resumed, replay = True, kept  # nothing to read: the room holds the replay
            else:
                events = await self.replays.after(member.session_id, last_seq)
                if events is not None:
                    resumed = True
                    replay = events
        # No await from here on: the shared snapshot is filled in and encoded in one go.
        welcome = shared.welcome(
            member.member_id,
            online,
            # The client's position once it has applied this frame: the snapshot's when
            # it starts over, its own ``last_seq`` when the replay that follows brings
            # it up to date (a client that takes its position from here then drops
            # nothing of the replay).
            seq=last_seq if resumed and last_seq is not None else snapshot_seq,
            resumed=resumed,
            server_time=self._clock_ms(),
        )
        newest = max([snapshot_seq, *(seq for seq, _ in replay)])
        return WelcomePlan(welcome, newest, replay)

    async def _resume_in_room(
        self, room: Room, member: Member, last_seq: int
    ) -> WelcomePlan | None:
        """A resume the room answers with no read: its kept state and, as the replay,
        the events it delivered after ``last_seq`` (``Room.recent``); ``None`` when it
        cannot.  It can when it still holds every event after ``last_seq``, has
        delivered every event the hello's token check saw committed, and keeps a state
        that :meth:`SharedSnapshot.shows_presence_of` allows (that state may predate
        some replayed events: a resumed welcome's ``session`` shows the state as of its
        own ``seq``, and the client keeps its state and applies the replay)."""
        if _room_replay(room, member, last_seq) is None:
            return None
        online = await self._presence_call(self.presence.online(member.session_id), set())
        online.add(member.member_id)
        # No await from here on: the replay and the live events after it meet exactly.
        found = _room_replay(room, member, last_seq)  # again: the room may have moved on
        if found is None or room.next_seq is None:
            return None
        shared, replay = found
        welcome = shared.welcome(
            member.member_id, online, seq=last_seq, resumed=True, server_time=self._clock_ms()
        )
        return WelcomePlan(welcome, room.next_seq - 1, replay)

    async def connected(self, member: Member, conn_id: str) -> None:
        self.connections[conn_id] = member
        if await self._presence_call(
            self.presence.connect(member.session_id, member.member_id, conn_id), True
        ):
            await self._announce(member, online=True)

    async def disconnected(self, member: Member, conn_id: str) -> None:
        self.connections.pop(conn_id, None)
        if await self._presence_call(
            self.presence.disconnect(member.session_id, member.member_id, conn_id), True
        ):
            await self._announce(member, online=False)
            for hook in self.offline_hooks:
                try:
                    await hook(member)
                except Exception as exc:  # a hook's fault must not break the disconnect
                    log.error("offline_hook.failed", exc_info=exc)

    async def _announce(self, member: Member, *, online: bool) -> None:
        self._queue_presence(member.session_id, member.member_id, online=online)

    def _queue_presence(self, session_id: str, member_id: str, *, online: bool) -> None:
        """Coalesce presence changes per session for one tick, then send one diff.

        Never the whole list (that made a filling 1,000-member room cost O(N^3)
        bytes) and never one frame per change (O(N^2) frames); the whole list is in
        each welcome.
        """
        changes = self._presence_changes.get(session_id)
        if changes is None:
            changes = self._presence_changes[session_id] = {}
            task = asyncio.get_running_loop().create_task(self._flush_presence(session_id))
            self._presence_flush.add(task)
            task.add_done_callback(self._presence_flush.discard)
        changes[member_id] = online

    async def _flush_presence(self, session_id: str) -> None:
        await asyncio.sleep(self._presence_tick_s)
        changes = self._presence_changes.pop(session_id, {})
        event = Presence(
            online=sorted(m for m, up in changes.items() if up),
            offline=sorted(m for m, up in changes.items() if not up),
        )
        await self.engine.publish_ephemeral(uuid.UUID(session_id), event)

    async def close(self) -> None:
        """Cancel presence flushes still waiting for their tick (at shutdown)."""
        for task in list(self._presence_flush):
            task.cancel()
        await asyncio.gather(*self._presence_flush, return_exceptions=True)

    async def refresh_presence(self) -> None:
        """Heartbeat this process's connections; announce members whose presence expired.

        A process that dies stops refreshing, so its members' entries expire; every
        process still serving the session notices on its next beat and tells its
        members (clients treat a repeated ``presence`` as idempotent).
        """
        by_session: dict[str, list[tuple[str, str]]] = {}
        for conn_id, member in list(self.connections.items()):
            by_session.setdefault(member.session_id, []).append((member.member_id, conn_id))
        sessions = set(by_session)
        for session_id, entries in by_session.items():
            with contextlib.suppress(Exception):
                await self.presence.refresh_many(session_id, entries)
        for session_id in sessions:
            with contextlib.suppress(Exception):
                online = await self.presence.online(session_id)
                gone = self._last_online.get(session_id, set()) - online
                self._last_online[session_id] = online
                for member_id in gone:
                    self._queue_presence(session_id, member_id, online=False)
        for session_id in set(self._last_online) - sessions:
            del self._last_online[session_id]

    async def run_presence_heartbeat(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            await self.refresh_presence()

    def queue_of(self, command: ClientMessage) -> object | None:
        """Batched commands (chat, ballots) queue per type, in arrival order."""
        return type(command) if self.router.batched(command) else None

    def submit(self, member: Member, command: ClientMessage) -> Awaitable[Ack | ErrorEvent | None]:
        """A batched command's answer, as the batcher's own future (no task per command)."""
        direct = self.router.get_direct(command)
        if direct is None:
            return asyncio.ensure_future(self.handle(member, command))
        return direct(member, command, id_of(command))

    async def handle(self, member: Member, command: ClientMessage) -> Ack | ErrorEvent | None:
        command_id = id_of(command)
        direct = self.router.get_direct(command)
        handler = self.router.get(command)
        if handler is None and direct is None:
            return ErrorEvent(
                code="unsupported",
                message=f"The server does not accept {command.__struct_config__.tag!r} yet.",
                id=command_id,
            )
        try:
            if direct is not None:
                return await direct(member, command, command_id)
            assert handler is not None
            return await self._apply(member, command, command_id, handler)
        except DomainError as exc:
            return refusal(exc, command_id)
        except IntegrityError:
            # The same id raced in on another connection: it was applied once.
            if command_id is not None and (
                previous := await self._previous_ack(member, command_id)
            ):
                return previous
            return ErrorEvent(
                code="conflict", message="The command conflicted; retry.", id=command_id
            )
        except Exception as exc:  # a fault of ours: the member gets an answer, the socket stays
            log.error("command.failed", command=command.__struct_config__.tag, exc_info=exc)
            return ErrorEvent(
                code="internal_error", message="Something went wrong on our side.", id=command_id
            )

    async def _apply(
        self,
        member: Member,
        command: ClientMessage,
        command_id: str | None,
        handler: Handler[ClientMessage],
    ) -> Ack | ErrorEvent | None:
        async with self.engine.transaction() as tx:
            if command_id is not None:
                previous = await self._applied(tx, member, command_id)
                if previous is not None:
                    return previous
            seq = await handler(tx, member, command)
            seqs = list(tx.seqs)
            if command_id is not None:
                tx.db.add(
                    AppliedCommand(
                        session_id=uuid.UUID(member.session_id),
                        member_id=uuid.UUID(member.member_id),
                        command_id=command_id,
                        seq=seq,
                        first_seq=seqs[0] if len(seqs) > 1 else None,
                        created_at=utcnow(),
                    )
                )
                await tx.db.flush()
        return Ack(id=command_id, seq=seq, seqs=seqs) if command_id is not None else None

    @staticmethod
    async def _applied(tx: Transaction, member: Member, command_id: str) -> Ack | None:
        row = (
            await tx.db.execute(
                select(AppliedCommand.seq, AppliedCommand.first_seq).where(
                    AppliedCommand.member_id == uuid.UUID(member.member_id),
                    AppliedCommand.command_id == command_id,
                )
            )
        ).first()
        if row is None:
            return None
        seq, first = row
        seqs = list(range(first, seq + 1)) if first is not None and seq is not None else []
        return Ack(id=command_id, seq=seq, seqs=seqs)

    async def _previous_ack(self, member: Member, command_id: str) -> Ack | None:
        async with self.engine.transaction() as tx:
            return await self._applied(tx, member, command_id)
