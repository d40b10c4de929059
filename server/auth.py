"""Bearer-token authentication of members for the HTTP calls."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.params import FromPath

from server.errors import ApiError
from server.sessions.service import Identity, SessionService

__all__ = ["bearer_token", "require_member"]


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def require_member(
    request: Request[Any, Any, Any],
    session_id: FromPath[str],
    service: NamedDependency[SessionService],
) -> Identity:
    """The caller's seat in ``session_id``: 401 without a valid token, 403 for another session."""
    identity = await service.authenticate(bearer_token(request))
    if identity is None:
        raise ApiError(401, "unauthorized", "A valid member token is required.")
    if str(identity.session_id) != session_id:
        raise ApiError(403, "forbidden", "This token belongs to another session.")
    return identity
