"""Errors with a stable machine-readable ``code`` and a short human message.

Every HTTP error body is ``{"code": str, "message": str}``; WebSocket errors use
the same codes.  Nothing internal (stack traces, SQL, key material) is exposed.
"""

from __future__ import annotations

__all__ = ["ApiError"]


class ApiError(Exception):
    """A client-facing failure: HTTP status, stable code, human message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        retry_after_ms: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.retry_after_ms = retry_after_ms
        """When to try again (a ``rate_limited`` refusal over the socket)."""

    @classmethod
    def not_found(cls, code: str = "not_found", message: str = "Not found.") -> ApiError:
        return cls(404, code, message)

    @classmethod
    def bad_request(cls, code: str, message: str) -> ApiError:
        return cls(400, code, message)

    @classmethod
    def conflict(cls, code: str, message: str) -> ApiError:
        return cls(409, code, message)
