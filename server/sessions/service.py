"""Session use cases: create, invite, join, snapshot, leave, end.

Each use case runs in one :class:`~server.session_engine.Transaction`, so its state
change and its event are committed together.  Controllers and the WebSocket
handler call these; they hold no HTTP or socket concerns.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import bindparam, func, select, update

from realtime.protocol import MemberInfo, MemberJoined, MemberLeft, SessionEnded, Snapshot
from server.db.engine import DbSession
from server.db.in_lists import padded
from server.db.models import InviteRow, MemberRow, SessionRow
from server.errors import ApiError
from server.observability import audited
from server.party.record import load_party_infos
from server.session_engine import SessionEngine, Transaction, utcnow
from server.sessions import rules
from server.sessions.seats import SeatLost
from server.shared_reads import BURST_SPACING_S, SharedReads

T = TypeVar("T")

MemberHook = Callable[[Transaction, uuid.UUID, uuid.UUID], Awaitable[None]]
"""Runs in the leave transaction: (tx, session_id, member_id)."""
SessionHook = Callable[[Transaction, uuid.UUID], Awaitable[None]]
"""Runs in the transaction that ends a session: (tx, session_id)."""
Personal = Callable[[Snapshot, str | None], None]
"""Sets a snapshot's fields that only its viewer sees (their own ballot): (snapshot,
viewer); ``None`` clears them. Runs with no I/O, so one snapshot read from the
database serves every member's welcome (``server.live.welcome``)."""
SnapshotPart = Callable[
    [DbSession, Mapping[uuid.UUID, Snapshot], str | None],
    Awaitable[Mapping[uuid.UUID, Personal] | None],
]
"""Completes the snapshots of one or more sessions for a viewer (imports, rounds):
(db, snapshots by session, viewer), in one statement for them all where it reads;
returns, by session, what fills the viewer's own fields, when the part has any."""

SNAPSHOT_BATCH = 64
"""At most this many sessions' snapshots are read together."""

__all__ = ["CreatedSession", "Identity", "InviteInfo", "JoinedMember", "SessionService"]


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated member."""

    session_id: uuid.UUID
    member_id: uuid.UUID
    is_host: bool
    name: str
    seq: int = 0
    """The session's newest ``seq`` when the token was checked."""


@dataclass(frozen=True, slots=True)
class SnapshotView:
    """A snapshot read for no viewer in particular, and what fills in a viewer's own
    fields (see :data:`Personal`). Members are all offline and ``party.ready`` is
    every ready member's: presence is applied by whoever sends it."""

    snapshot: Snapshot
    personal: tuple[Personal, ...]


@dataclass(frozen=True, slots=True)
class CreatedSession:
    session_id: uuid.UUID
    member_id: uuid.UUID
    token: str
    invite_code: str


@dataclass(frozen=True, slots=True)
class JoinedMember:
    session_id: uuid.UUID
    member_id: uuid.UUID
    token: str


@dataclass(frozen=True, slots=True)
class InvitePreview:
    session_id: uuid.UUID
    title: str
    host_name: str
    member_count: int
    state: str


@dataclass(frozen=True, slots=True)
class InviteInfo:
    invite_id: uuid.UUID
    created_at: datetime
    expires_at: datetime | None
    max_members: int | None
    uses: int
    revoked: bool
    code: str | None = None


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


INVITE_NOT_FOUND = ApiError(
    404, "invite_not_found", "This invite link is unknown or no longer valid."
)


_SESSIONS_OF = select(
    SessionRow.id,
    SessionRow.title,
    SessionRow.state,
    SessionRow.host_member_id,
    SessionRow.last_seq,
    SessionRow.created_at,
).where(SessionRow.id.in_(bindparam("ids", expanding=True)))
_MEMBERS_OF = (
    select(MemberRow.session_id, MemberRow.id, MemberRow.name, MemberRow.bot)
    .where(MemberRow.session_id.in_(bindparam("ids", expanding=True)), MemberRow.left_at.is_(None))
    .order_by(MemberRow.session_id, MemberRow.joined_at, MemberRow.id)
)

IDENTITY_BATCH = 500
"""At most this many tokens are checked in one query."""


class SessionService:
    """The session use cases over one :class:`SessionEngine`."""

    def __init__(
        self, engine: SessionEngine, *, max_members: int, invite_default_ttl_s: int
    ) -> None:
        self.engine = engine
        self.max_members = max_members
        self.invite_default_ttl_s = invite_default_ttl_s
        self.on_leave: list[MemberHook] = []
        self.on_end: list[SessionHook] = []
        self.snapshot_parts: list[SnapshotPart] = []
        self._identities: SharedReads[str, str, Identity | None] = SharedReads(
            self._identities_of, spacing_s=BURST_SPACING_S
        )
        """Tokens checked at the same moment (a reconnect storm's hellos) share one query."""
        self._views: SharedReads[str, uuid.UUID, SnapshotView | None] = SharedReads(
            self._snapshot_views, spacing_s=BURST_SPACING_S
        )
        """Snapshots asked for at the same moment are read together."""

    # ------------------------------------------------------------ create and invites

    @audited("session.create")
    async def create_session(self, host_name: str, title: str | None) -> CreatedSession:
        name = self._rule(rules.validate_name, host_name)
        clean_title = self._rule(rules.validate_title, title)
        now = utcnow()
        token = rules.new_member_token()
        async with self.engine.transaction() as tx:
            session = SessionRow(
                title=clean_title, state="lobby", created_at=now, last_activity_at=now
            )
            tx.db.add(session)
            await tx.db.flush()
            host = MemberRow(
                session_id=session.id,
                name=name,
                bot=False,
                token_hash=rules.hash_secret(token),
                joined_at=now,
            )
            tx.db.add(host)
            await tx.db.flush()
            session.host_member_id = host.id
            ttl = self.invite_default_ttl_s
            invite_code = await self._add_invite(
                tx, session.id, now + timedelta(seconds=ttl) if ttl else None, None
            )
            await tx.emit(
                session.id, lambda seq: MemberJoined(seq=seq, member=_info(host, host.id))
            )
        return CreatedSession(session.id, host.id, token, invite_code)

    async def _add_invite(
        self,
        tx: Transaction,
        session_id: uuid.UUID,
        expires_at: datetime | None,
        max_members: int | None,
    ) -> str:
        code = rules.new_invite_code()
        tx.db.add(
            InviteRow(
                session_id=session_id,
                code_hash=rules.hash_secret(code),
                created_at=utcnow(),
                expires_at=expires_at,
                max_members=max_members,
                uses=0,
            )
        )
        return code

    @audited("invite.create")
    async def create_invite(
        self, who: Identity, *, expires_in_s: int | None, max_members: int | None
    ) -> InviteInfo:
        self._require_host(who)
        now = utcnow()
        expires_at = now + timedelta(seconds=expires_in_s) if expires_in_s else None
        async with self.engine.transaction() as tx:
            await self._live_session(tx, who.session_id)
            code = await self._add_invite(tx, who.session_id, expires_at, max_members)
            row = (
                await tx.db.execute(
                    select(InviteRow).where(InviteRow.code_hash == rules.hash_secret(code))
                )
            ).scalar_one()
            return _invite_info(row, code)

    @audited("invite.list")
    async def list_invites(self, who: Identity) -> list[InviteInfo]:
        self._require_host(who)
        async with self.engine.reader() as db:
            rows = (
                await db.execute(
                    select(InviteRow)
                    .where(InviteRow.session_id == who.session_id)
                    .order_by(InviteRow.created_at)
                )
            ).scalars()
            return [_invite_info(row) for row in rows]

    @audited("invite.revoke")
    async def revoke_invite(self, who: Identity, invite_id: str) -> None:
        self._require_host(who)
        try:
            iid = uuid.UUID(invite_id)
        except ValueError:
            raise ApiError.not_found(
                "invite_not_found", "No such invite in this session."
            ) from None
        async with self.engine.transaction() as tx:
            result = await tx.db.execute(
                update(InviteRow)
                .where(
                    InviteRow.id == iid,
                    InviteRow.session_id == who.session_id,
                    InviteRow.revoked_at.is_(None),
                )
                .values(revoked_at=utcnow())
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise ApiError.not_found("invite_not_found", "No such invite in this session.")

    async def _usable_invite(
        self, db: DbSession, code: str, *, for_join: bool = False
    ) -> tuple[InviteRow, SessionRow]:
        if not code or len(code) > 64:
            raise INVITE_NOT_FOUND
        row = (
            await db.execute(
                select(InviteRow, SessionRow)
                .join(SessionRow, SessionRow.id == InviteRow.session_id)
                .where(InviteRow.code_hash == rules.hash_secret(code))
            )
        ).first()
        if row is None:
            raise INVITE_NOT_FOUND
        invite, session = row
        state = rules.invite_state(
            now=utcnow(),
            expires_at=invite.expires_at,
            revoked_at=invite.revoked_at,
            session_state=session.state,
            max_members=invite.max_members,
            uses=invite.uses,
        )
        if state.reason == "full" and for_join:
            raise ApiError(409, "invite_full", "This invite has reached its member limit.")
        if not state.usable and state.reason != "full":
            raise INVITE_NOT_FOUND
        return invite, session

    @audited("invite.preview")
    async def preview_invite(self, code: str) -> InvitePreview:
        async with self.engine.reader() as db:
            _invite, session = await self._usable_invite(db, code)
            host_name = (
                await db.execute(
                    select(MemberRow.name).where(MemberRow.id == session.host_member_id)
                )
            ).scalar_one_or_none() or ""
            count = await self._member_count(db, session.id)
        return InvitePreview(session.id, session.title, host_name, count, session.state)

    # ------------------------------------------------------------ join, auth, snapshot

    @audited("member.join")
    async def join(self, code: str, name: str, bot: bool) -> JoinedMember:
        clean_name = self._rule(rules.validate_name, name)
        token = rules.new_member_token()
        now = utcnow()
        async with self.engine.transaction() as tx:
            invite, session = await self._usable_invite(tx.db, code, for_join=True)
            if await self._member_count(tx.db, session.id) >= self.max_members:
                raise ApiError(409, "session_full", "This session is full.")
            member = MemberRow(
                session_id=session.id,
                name=clean_name,
                bot=bot,
                token_hash=rules.hash_secret(token),
                joined_at=now,
                invite_id=invite.id,
            )
            tx.db.add(member)
            invite.uses += 1
            await tx.db.flush()
            await tx.emit(
                session.id,
                lambda seq: MemberJoined(seq=seq, member=_info(member, session.host_member_id)),
            )
        return JoinedMember(session.id, member.id, token)

    async def authenticate(self, token: str | None) -> Identity | None:
        """The member a bearer token belongs to, or ``None`` (unknown, left, or session ended)."""
        if not token or len(token) > 256:
            return None
        return await self._identities.ask("tokens", rules.hash_secret(token))

    @property
    def identity_reads(self) -> int:
        """Queries made to check tokens (each answers every token asked meanwhile)."""
        return self._identities.reads

    async def _identities_of(self, _key: str, token_hashes: Sequence[str]) -> list[Identity | None]:
        """The members the tokens (hashed) belong to, in one query per
        ``IDENTITY_BATCH`` tokens; ``None`` for unknown, left, or session ended."""
        found: dict[str, Identity] = {}
        unique = list(dict.fromkeys(token_hashes))
        for start in range(0, len(unique), IDENTITY_BATCH):
            # Columns, not ORM entities: this runs for every hello, on every process (it
            # is what refuses a member who left, or a session that ended, at once).
            async with self.engine.reader() as db:
                rows = (
                    await db.execute(
                        select(
                            MemberRow.token_hash,
                            MemberRow.id,
                            MemberRow.name,
                            SessionRow.id,
                            SessionRow.state,
                            SessionRow.host_member_id,
                            SessionRow.last_seq,
                        )
                        .join(SessionRow, SessionRow.id == MemberRow.session_id)
                        .where(
                            MemberRow.token_hash.in_(unique[start : start + IDENTITY_BATCH]),
                            MemberRow.left_at.is_(None),
                        )
                    )
                ).all()
            for token_hash, member_id, name, session_id, state, host_id, seq in rows:
                if state != "ended":
                    found[token_hash] = Identity(
                        session_id, member_id, host_id == member_id, name, seq
                    )
        return [found.get(token_hash) for token_hash in token_hashes]

    @audited("session.snapshot")
    async def snapshot(
        self, session_id: uuid.UUID, online: set[str], viewer: str | None = None
    ) -> Snapshot:
        async with self.engine.reader() as db:
            return await self.snapshot_in(db, session_id, online, viewer)

    async def snapshot_view(self, session_id: uuid.UUID) -> SnapshotView:
        """The session's state for every viewer at once (one read, however many welcomes).

        Sessions asked for at the same moment (a reconnect storm brings back the
        members of many rooms no state is kept for) are read together, a statement
        per part for all of them (:meth:`_snapshot_views`)."""
        view = await self._views.ask("sessions", session_id)
        if view is None:
            raise ApiError.not_found("session_not_found", "No such session.")
        return view

    @property
    def snapshot_reads(self) -> int:
        """Reads made for :meth:`snapshot_view` (each answers every session asked meanwhile)."""
        return self._views.reads

    async def _snapshot_views(
        self, _key: str, session_ids: Sequence[uuid.UUID]
    ) -> list[SnapshotView | None]:
        """The views of ``session_ids`` (``None``: no such session), in one database
        session and one statement per part for up to :data:`SNAPSHOT_BATCH` sessions; a
        session asked twice gets a view of its own each time (a view is filled in by
        whoever holds it)."""
        views: list[SnapshotView | None] = [None] * len(session_ids)
        todo = list(enumerate(session_ids))
        async with self.engine.reader() as db:
            while todo:
                batch: dict[uuid.UUID, int] = {}
                later = []
                for index, session_id in todo:
                    if session_id in batch or len(batch) >= SNAPSHOT_BATCH:
                        later.append((index, session_id))
                    else:
                        batch[session_id] = index
                personal: dict[uuid.UUID, list[Personal]] = {}
                snapshots = await self._snapshots(db, list(batch), None, None, personal)
                for session_id, index in batch.items():
                    snapshot = snapshots.get(session_id)
                    if snapshot is not None:
                        views[index] = SnapshotView(snapshot, tuple(personal[session_id]))
                todo = later
        return views

    async def snapshot_in(
        self, db: DbSession, session_id: uuid.UUID, online: set[str], viewer: str | None = None
    ) -> Snapshot:
        snapshot = (await self._snapshots(db, [session_id], online, viewer, {})).get(session_id)
        if snapshot is None:
            raise ApiError.not_found("session_not_found", "No such session.")
        return snapshot

    async def _snapshots(
        self,
        db: DbSession,
        session_ids: list[uuid.UUID],
        online: set[str] | None,
        viewer: str | None,
        personal: dict[uuid.UUID, list[Personal]],
    ) -> dict[uuid.UUID, Snapshot]:
        """The snapshots of the sessions that exist among ``session_ids`` (each read
        once), every part filled in; ``personal`` gets each one's :data:`Personal` fills."""
        # Columns, not ORM entities: a welcome for a 1,000-member room stays cheap.
        sessions = (await db.execute(_SESSIONS_OF, {"ids": padded(session_ids)})).all()
        if not sessions:
            return {}
        found = [row[0] for row in sessions]
        infos: dict[uuid.UUID, list[MemberInfo]] = {session_id: [] for session_id in found}
        hosts = {row[0]: row[3] for row in sessions}
        for session_id, member_id, name, bot in await db.execute(
            _MEMBERS_OF, {"ids": padded(found)}
        ):
            infos[session_id].append(
                MemberInfo(
                    member_id=str(member_id),
                    name=name,
                    bot=bot,
                    host=member_id == hosts[session_id],
                    online=online is not None and str(member_id) in online,
                )
            )
        parties = await load_party_infos(db, found, online)
        snapshots = {
            session_id: Snapshot(
                party=parties[session_id],
                session_id=str(session_id),
                title=title,
                state="ended" if state == "ended" else "lobby",
                host_id=str(host_id),
                seq=last_seq,
                members=infos[session_id],
                created_at=_ms(created_at),
            )
            for session_id, title, state, host_id, last_seq, created_at in sessions
        }
        for session_id in snapshots:
            personal[session_id] = []
        for part in self.snapshot_parts:
            fills = await part(db, snapshots, viewer)
            for session_id, fill in (fills or {}).items():
                personal[session_id].append(fill)
        return snapshots

    # ------------------------------------------------------------ leave and end

    @audited("member.leave")
    async def leave(self, who: Identity) -> None:
        """The member leaves; if they were the host, the longest-present human member takes over."""
        async with self.engine.transaction() as tx:
            session = await self._live_session(tx, who.session_id)
            member = await tx.db.get(MemberRow, who.member_id)
            if member is None or member.left_at is not None:
                raise ApiError(401, "unauthorized", "Unknown or expired token.")
            member.left_at = utcnow()
            new_host: uuid.UUID | None = None
            if session.host_member_id == member.id:
                successor = (
                    await tx.db.execute(
                        select(MemberRow.id)
                        .where(
                            MemberRow.session_id == session.id,
                            MemberRow.left_at.is_(None),
                            MemberRow.id != member.id,
                        )
                        .order_by(MemberRow.bot, MemberRow.joined_at, MemberRow.id)
                        .limit(1)
                    )
                ).scalar_one_or_none()
                new_host = successor
                session.host_member_id = successor
                if successor is None:
                    session.state = "ended"
                    session.ended_at = utcnow()
            await tx.db.flush()
            await tx.emit(
                session.id,
                lambda seq: MemberLeft(
                    seq=seq,
                    member_id=str(member.id),
                    new_host_id=str(new_host) if new_host else None,
                ),
            )
            for hook in self.on_leave:
                await hook(tx, session.id, member.id)
            if session.state == "ended":
                for end_hook in self.on_end:
                    await end_hook(tx, session.id)
                await tx.emit(session.id, lambda seq: SessionEnded(seq=seq, reason="ended_by_host"))

    @audited("session.end")
    async def end(self, who: Identity) -> None:
        self._require_host(who)
        async with self.engine.transaction() as tx:
            session = await self._live_session(tx, who.session_id)
            session.state = "ended"
            session.ended_at = utcnow()
            for hook in self.on_end:
                await hook(tx, session.id)
            await tx.emit(session.id, lambda seq: SessionEnded(seq=seq, reason="ended_by_host"))

    # ------------------------------------------------------------ helpers

    @staticmethod
    def _rule(check: Callable[[T], str], value: T) -> str:
        return check(value)  # a RuleViolation is answered 400 by the app's handler

    @staticmethod
    def _require_host(who: Identity) -> None:
        if not who.is_host:
            raise ApiError(403, "host_only", "Only the host can do this.")

    @staticmethod
    async def _live_session(tx: Transaction, session_id: uuid.UUID) -> SessionRow:
        session = await tx.db.get(SessionRow, session_id, with_for_update=True)
        if session is None or session.state == "ended":
            raise SeatLost.session_ended()
        return session

    @staticmethod
    async def _member_count(db: DbSession, session_id: uuid.UUID) -> int:
        count = (
            await db.execute(
                select(func.count())
                .select_from(MemberRow)
                .where(MemberRow.session_id == session_id, MemberRow.left_at.is_(None))
            )
        ).scalar_one()
        return int(count)


def _info(member: MemberRow, host_id: uuid.UUID | None, *, online: bool = False) -> MemberInfo:
    return MemberInfo(
        member_id=str(member.id),
        name=member.name,
        bot=member.bot,
        host=member.id == host_id,
        online=online,
    )


def _invite_info(row: InviteRow, code: str | None = None) -> InviteInfo:
    return InviteInfo(
        invite_id=row.id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        max_members=row.max_members,
        uses=row.uses,
        revoked=row.revoked_at is not None,
        code=code,
    )
