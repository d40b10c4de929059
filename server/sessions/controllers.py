"""HTTP calls for sessions, invites and membership (thin: validate, call the service, shape)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from realtime.presence import PresenceStore
from realtime.protocol import Snapshot
from server.auth import require_member
from server.ratelimit import RateLimits
from server.sessions.schemas import (
    CreatedInvite,
    CreateInvite,
    CreateSession,
    InviteListItem,
    InvitePreviewBody,
    JoinedBody,
    JoinRequest,
    SessionCreatedBody,
)
from server.sessions.service import Identity, SessionService
from server.settings import Settings

__all__ = ["InviteController", "SessionController"]


def _client(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def invite_url(
    request: Request[Any, Any, Any], settings: NamedDependency[Settings], code: str
) -> str:
    base = settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    return f"{base}/join/{code}"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


class SessionController(Controller):
    path = "/api/v1/sessions"
    tags = ["sessions"]

    @post("/", status_code=HTTP_201_CREATED, summary="Open a session; you are its host")
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[CreateSession],
        service: NamedDependency[SessionService],
        rate_limits: NamedDependency[RateLimits],
        settings: NamedDependency[Settings],
    ) -> SessionCreatedBody:
        await rate_limits.check("sessions", _client(request))
        created = await service.create_session(data.host_name, data.title)
        return SessionCreatedBody(
            session_id=str(created.session_id),
            member_id=str(created.member_id),
            token=created.token,
            invite_code=created.invite_code,
            invite_url=invite_url(request, settings, created.invite_code),
        )

    @get(
        "/{session_id:str}",
        dependencies={"member": Provide(require_member)},
        summary="The session snapshot (same shape as welcome.session)",
    )
    async def snapshot(
        self,
        member: NamedDependency[Identity],
        service: NamedDependency[SessionService],
        presence: NamedDependency[PresenceStore],
    ) -> Snapshot:
        try:
            online = await presence.online(str(member.session_id))
        except Exception:  # presence store down: the snapshot is still right without it
            online = set()
        return await service.snapshot(member.session_id, online, str(member.member_id))

    @delete(
        "/{session_id:str}/members/me",
        status_code=HTTP_204_NO_CONTENT,
        dependencies={"member": Provide(require_member)},
        summary="Leave the session; your list is destroyed",
    )
    async def leave(
        self, member: NamedDependency[Identity], service: NamedDependency[SessionService]
    ) -> None:
        await service.leave(member)

    @delete(
        "/{session_id:str}",
        status_code=HTTP_204_NO_CONTENT,
        dependencies={"member": Provide(require_member)},
        summary="End the session (host only); every list is destroyed",
    )
    async def end(
        self, member: NamedDependency[Identity], service: NamedDependency[SessionService]
    ) -> None:
        await service.end(member)

    @post(
        "/{session_id:str}/invites",
        status_code=HTTP_201_CREATED,
        dependencies={"member": Provide(require_member)},
        summary="Create another invite (host only), with an optional expiry and member cap",
    )
    async def create_invite(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[CreateInvite],
        member: NamedDependency[Identity],
        service: NamedDependency[SessionService],
        settings: NamedDependency[Settings],
    ) -> CreatedInvite:
        info = await service.create_invite(
            member, expires_in_s=data.expires_in_s, max_members=data.max_members
        )
        assert info.code is not None
        return CreatedInvite(
            invite_id=str(info.invite_id),
            invite_code=info.code,
            invite_url=invite_url(request, settings, info.code),
            expires_at=_iso(info.expires_at),
            max_members=info.max_members,
        )

    @get(
        "/{session_id:str}/invites",
        dependencies={"member": Provide(require_member)},
        summary="The session's invites (host only); codes are not stored, so not shown",
    )
    async def list_invites(
        self, member: NamedDependency[Identity], service: NamedDependency[SessionService]
    ) -> list[InviteListItem]:
        return [
            InviteListItem(
                invite_id=str(i.invite_id),
                created_at=i.created_at.isoformat(),
                expires_at=_iso(i.expires_at),
                max_members=i.max_members,
                uses=i.uses,
                revoked=i.revoked,
            )
            for i in await service.list_invites(member)
        ]

    @delete(
        "/{session_id:str}/invites/{invite_id:str}",
        status_code=HTTP_204_NO_CONTENT,
        dependencies={"member": Provide(require_member)},
        summary="Revoke an invite (host only)",
    )
    async def revoke_invite(
        self,
        invite_id: FromPath[str],
        member: NamedDependency[Identity],
        service: NamedDependency[SessionService],
    ) -> None:
        await service.revoke_invite(member, invite_id)


class InviteController(Controller):
    path = "/api/v1/invites"
    tags = ["invites"]

    @get("/{invite_code:str}", summary="Preview a session by its invite code")
    async def preview(
        self,
        request: Request[Any, Any, Any],
        invite_code: FromPath[str],
        service: NamedDependency[SessionService],
        rate_limits: NamedDependency[RateLimits],
    ) -> InvitePreviewBody:
        await rate_limits.check("invite_lookups", _client(request))
        preview = await service.preview_invite(invite_code)
        return InvitePreviewBody(
            session_id=str(preview.session_id),
            title=preview.title,
            host_name=preview.host_name,
            member_count=preview.member_count,
            state=preview.state,
        )

    @post("/{invite_code:str}/join", status_code=HTTP_201_CREATED, summary="Join a session")
    async def join(
        self,
        request: Request[Any, Any, Any],
        invite_code: FromPath[str],
        data: JSONBody[JoinRequest],
        service: NamedDependency[SessionService],
        rate_limits: NamedDependency[RateLimits],
    ) -> JoinedBody:
        await rate_limits.check("joins", _client(request))
        joined = await service.join(invite_code, data.name, data.bot)
        return JoinedBody(
            session_id=str(joined.session_id), member_id=str(joined.member_id), token=joined.token
        )
