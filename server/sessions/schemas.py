"""Request and response bodies of the session HTTP calls (PROTOCOL.md names are normative)."""

from __future__ import annotations

from typing import Annotated

import msgspec

__all__ = [
    "CreateInvite",
    "CreateSession",
    "CreatedInvite",
    "InviteListItem",
    "InvitePreviewBody",
    "JoinRequest",
    "JoinedBody",
    "SessionCreatedBody",
]


class CreateSession(msgspec.Struct, forbid_unknown_fields=True):
    host_name: Annotated[str, msgspec.Meta(max_length=400)]
    title: Annotated[str, msgspec.Meta(max_length=800)] | None = None


class SessionCreatedBody(msgspec.Struct):
    session_id: str
    member_id: str
    token: str
    invite_code: str
    invite_url: str


class InvitePreviewBody(msgspec.Struct):
    session_id: str
    title: str
    host_name: str
    member_count: int
    state: str


class JoinRequest(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(max_length=400)]
    bot: bool = False


class JoinedBody(msgspec.Struct):
    session_id: str
    member_id: str
    token: str


class CreateInvite(msgspec.Struct, forbid_unknown_fields=True):
    expires_in_s: Annotated[int, msgspec.Meta(ge=60, le=90 * 24 * 3600)] | None = None
    max_members: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None


class CreatedInvite(msgspec.Struct):
    invite_id: str
    invite_code: str
    invite_url: str
    expires_at: str | None
    max_members: int | None


class InviteListItem(msgspec.Struct):
    invite_id: str
    created_at: str
    expires_at: str | None
    max_members: int | None
    uses: int
    revoked: bool
