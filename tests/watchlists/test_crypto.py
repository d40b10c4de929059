"""The list envelope: round trip, tampering, moved rows, unknown keys, rotation, key files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from server.watchlists.crypto import (
    DecryptError,
    KeyConfigError,
    MasterKeys,
    SealedList,
    decode_list,
    encode_list,
    open_sealed,
    rewrap,
    seal,
)

S, M = "session-1", "member-1"


def test_a_sealed_list_opens_only_with_its_session_member_and_key() -> None:
    keys = MasterKeys.generate("k1")
    sealed = seal(keys, encode_list([3, 1, 2], [9]), session_id=S, member_id=M)
    assert decode_list(open_sealed(keys, sealed, session_id=S, member_id=M)).films == [3, 1, 2]
    for session, member in [(S, "member-2"), ("session-2", M)]:
        with pytest.raises(DecryptError):
            open_sealed(keys, sealed, session_id=session, member_id=member)
    with pytest.raises(DecryptError):
        open_sealed(MasterKeys.generate("k1"), sealed, session_id=S, member_id=M)
    with pytest.raises(DecryptError):
        open_sealed(MasterKeys.generate("other"), sealed, session_id=S, member_id=M)


@pytest.mark.parametrize("part", ["wrapped_key", "nonce", "ciphertext"])
def test_any_altered_byte_fails_to_open(part: str) -> None:
    keys = MasterKeys.generate("k1")
    sealed = seal(keys, encode_list([1, 2]), session_id=S, member_id=M)
    for index in (0, len(getattr(sealed, part)) - 1):
        value = bytearray(getattr(sealed, part))
        value[index] ^= 0x80
        fields = {f: getattr(sealed, f) for f in ("kid", "wrapped_key", "nonce", "ciphertext")}
        fields[part] = bytes(value)
        with pytest.raises(DecryptError):
            open_sealed(keys, SealedList(**fields), session_id=S, member_id=M)


def test_rotation_rewraps_the_data_key_and_leaves_the_list_as_it_is() -> None:
    old = MasterKeys.generate("old")
    sealed = seal(old, encode_list([7]), session_id=S, member_id=M)
    both = old.with_new_key("new")
    assert both.current_kid == "new"
    moved = rewrap(both, sealed, session_id=S, member_id=M)
    assert moved.kid == "new" and moved.ciphertext == sealed.ciphertext
    assert moved.wrapped_key != sealed.wrapped_key
    only_new = both.only_current()
    assert decode_list(open_sealed(only_new, moved, session_id=S, member_id=M)).films == [7]
    with pytest.raises(DecryptError):
        open_sealed(only_new, sealed, session_id=S, member_id=M)


def test_the_key_file_is_created_owner_only_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "master.key"
    first = MasterKeys.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert MasterKeys.load_or_create(path).spec() == first.spec()
    os.chmod(path, 0o644)
    with pytest.raises(KeyConfigError, match="readable by others"):
        MasterKeys.load_or_create(path)
    assert "kids=" in repr(first) and first.spec() not in repr(first)


@pytest.mark.parametrize(
    "spec",
    [
        "nokey",
        "k1:!!!notbase64",
        "k1:AAAA",
        "bad id:" + "A" * 43,
        "k1:" + "A" * 43 + ",k1:" + "B" * 43,
    ],
)
def test_bad_key_specs_are_refused_without_echoing_key_material(spec: str) -> None:
    with pytest.raises(KeyConfigError) as refused:
        MasterKeys.parse(spec)
    assert "A" * 20 not in str(refused.value) and "!!!" not in str(refused.value)


def test_a_spec_round_trips_and_resolve_prefers_it(tmp_path: Path) -> None:
    keys = MasterKeys.generate("k1").with_new_key("k2")
    assert MasterKeys.parse(keys.spec()).spec() == keys.spec()
    assert MasterKeys.resolve(keys.spec(), tmp_path / "unused.key").current_kid == "k2"
    assert not (tmp_path / "unused.key").exists()
    with pytest.raises(ValueError, match="stored list"):
        decode_list(b"\xc1junk")
