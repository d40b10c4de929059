"""Errors with a stable machine-readable ``code`` and a short human message.

:class:`DomainError` is the one base: the pure domain modules raise subclasses of
it (this module imports nothing, so they stay free of any framework), and each
transport maps it in one place: HTTP in ``server.app`` (the body is
``{"code": str, "message": str}`` with :attr:`DomainError.status`), WebSocket
``error`` frames in ``server.live.gateway.refusal``, and the close code of a lost
seat in ``realtime.connection`` (see ``server.sessions.seats``).  Nothing
internal (stack traces, SQL, key material) is exposed.
"""

from __future__ import annotations

__all__ = ["ApiError", "DomainError"]


class DomainError(Exception):
    """A refusal: ``code`` is stable, ``message`` is for people."""

    status: int = 400
    """The HTTP status it is answered with (400: the input was refused)."""
    retry_after_ms: int | None = None
    """When to try again, for a refusal that passes (``rate_limited``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers: dict[str, str] = {}


class ApiError(DomainError):
    """A refusal raised by a use case, with its own HTTP status (and headers)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        retry_after_ms: int | None = None,
    ) -> None:
        super().__init__(code, message)
        self.status = status
        self.headers = headers or {}
        self.retry_after_ms = retry_after_ms

    @classmethod
    def not_found(cls, code: str = "not_found", message: str = "Not found.") -> ApiError:
        return cls(404, code, message)
