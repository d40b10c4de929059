"""The pure session rules: names, titles, secrets, invite validity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.sessions import rules

NOW = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "name_empty"),
        ("   \t ", "name_empty"),
        ("x" * 41, "name_too_long"),
        ("bad\x00name", "name_invalid"),
        ("tab\tinside", "name_invalid"),
        ("zero\u200bwidth", "name_invalid"),
        ("line\nbreak", "name_invalid"),
    ],
)
def test_bad_names_are_refused_with_a_stable_code(raw: str, code: str) -> None:
    with pytest.raises(rules.RuleViolation) as caught:
        rules.validate_name(raw)
    assert caught.value.code == code


def test_names_are_trimmed_and_kept_verbatim_otherwise() -> None:
    assert rules.validate_name("  Ana  ") == "Ana"
    assert rules.validate_name("<img src=x onerror=alert(1)>") == "<img src=x onerror=alert(1)>"
    assert rules.validate_name("x" * 40) == "x" * 40
    assert rules.validate_name("Zoë 🎬") == "Zoë 🎬"


def test_titles_default_and_are_limited() -> None:
    assert rules.validate_title(None) == "Film night"
    assert rules.validate_title("   ") == "Film night"
    assert rules.validate_title(" Friday film night ") == "Friday film night"
    with pytest.raises(rules.RuleViolation) as caught:
        rules.validate_title("t" * 81)
    assert caught.value.code == "title_too_long"


def test_secrets_carry_at_least_128_bits_and_are_stored_hashed() -> None:
    codes = {rules.new_invite_code() for _ in range(200)}
    tokens = {rules.new_member_token() for _ in range(200)}
    assert len(codes) == 200 and len(tokens) == 200
    # base64url: 6 bits a character
    assert all(len(code) * 6 >= 128 for code in codes)
    assert all(len(token) * 6 >= 256 for token in tokens)
    code = next(iter(codes))
    assert rules.hash_secret(code) != code
    assert len(rules.hash_secret(code)) == 64
    assert rules.hash_secret(code) == rules.hash_secret(code)


@pytest.mark.parametrize(
    ("kwargs", "usable", "reason"),
    [
        ({}, True, None),
        ({"session_state": "ended"}, False, "ended"),
        ({"revoked_at": NOW}, False, "revoked"),
        ({"expires_at": NOW}, False, "expired"),
        ({"expires_at": NOW + timedelta(seconds=1)}, True, None),
        ({"max_members": 2, "uses": 2}, False, "full"),
        ({"max_members": 2, "uses": 1}, True, None),
    ],
)
def test_invite_state(kwargs: dict[str, object], usable: bool, reason: str | None) -> None:
    args: dict[str, object] = {
        "now": NOW,
        "expires_at": None,
        "revoked_at": None,
        "session_state": "lobby",
        "max_members": None,
        "uses": 0,
    }
    args.update(kwargs)
    state = rules.invite_state(**args)  # type: ignore[arg-type]
    assert state.usable is usable
    assert state.reason == reason
