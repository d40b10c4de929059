"""Pure rules for sessions, members and invites (no I/O, no framework imports)."""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from server.errors import DomainError

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_TITLE_LENGTH",
    "InviteState",
    "RuleViolation",
    "hash_secret",
    "invite_state",
    "new_invite_code",
    "new_member_token",
    "validate_name",
    "validate_title",
]

MAX_NAME_LENGTH = 40
MAX_TITLE_LENGTH = 80
DEFAULT_TITLE = "Film night"


class RuleViolation(DomainError):
    """A domain rule refused the input; ``code`` is stable."""


def _clean_text(value: str, *, field: str, max_length: int) -> str:
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        raise RuleViolation(f"{field}_empty", f"The {field} must not be empty.")
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} for ch in text):
        raise RuleViolation(
            f"{field}_invalid", f"The {field} must not contain control or invisible characters."
        )
    if len(text) > max_length:
        raise RuleViolation(
            f"{field}_too_long", f"The {field} must be at most {max_length} characters."
        )
    return text


def validate_name(value: str) -> str:
    """A member's display name: 1–40 printable characters after trimming."""
    return _clean_text(value, field="name", max_length=MAX_NAME_LENGTH)


def validate_title(value: str | None) -> str:
    """A session title; an absent or blank title becomes "Film night"."""
    if value is None or not value.strip():
        return DEFAULT_TITLE
    return _clean_text(value, field="title", max_length=MAX_TITLE_LENGTH)


def new_member_token() -> str:
    """A bearer token with 256 bits from the OS's CSPRNG."""
    return secrets.token_urlsafe(32)


def new_invite_code() -> str:
    """An invite code with 128 bits from the OS's CSPRNG (22 URL-safe characters)."""
    return secrets.token_urlsafe(16)


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a high-entropy secret: what the database stores instead of it."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class InviteState:
    usable: bool
    reason: str | None = None
    """``revoked``, ``expired``, ``full`` or ``ended`` (never shown to the caller as such)."""


def invite_state(
    *,
    now: datetime,
    expires_at: datetime | None,
    revoked_at: datetime | None,
    session_state: str,
    max_members: int | None,
    uses: int,
) -> InviteState:
    """Whether an invite can still be used to look a session up or to join."""
    if session_state == "ended":
        return InviteState(False, "ended")
    if revoked_at is not None:
        return InviteState(False, "revoked")
    if expires_at is not None and now >= expires_at:
        return InviteState(False, "expired")
    if max_members is not None and uses >= max_members:
        return InviteState(False, "full")
    return InviteState(True)
