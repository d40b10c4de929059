"""The list envelope: round trip, tampering, moved rows, unknown keys, rotation, key files."""

from __future__ import annotations

import base64
import os
import stat
import threading
from pathlib import Path

import msgspec
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

S, M = "0b6f3c1e-session", "5d2a9e47-member"
PARTS = ("wrapped_key", "nonce", "ciphertext")


def sealed_films(
    keys: MasterKeys, films: list[int], watched: list[int] | None = None
) -> SealedList:
    return seal(keys, encode_list(films, watched or []), session_id=S, member_id=M)


def opened(keys: MasterKeys, sealed: SealedList, session: str = S, member: str = M) -> list[int]:
    return decode_list(open_sealed(keys, sealed, session_id=session, member_id=member)).films


def test_a_sealed_list_round_trips_and_hides_its_films() -> None:
    keys = MasterKeys.generate("k1")
    films = list(range(100_000, 105_000))
    sealed = sealed_films(keys, films, [7, 9])
    plain = open_sealed(keys, sealed, session_id=S, member_id=M)
    assert decode_list(plain) == decode_list(encode_list(films, [7, 9]))
    assert decode_list(plain).watched == [7, 9]
    assert sealed.kid == "k1" and plain not in sealed.ciphertext
    assert len(sealed.nonce) == 12 and len(sealed.wrapped_key) == 12 + 32 + 16
    # A fresh data key and nonce every time: the same list never seals the same way twice.
    again = sealed_films(keys, films, [7, 9])
    assert again.ciphertext != sealed.ciphertext and again.wrapped_key != sealed.wrapped_key
    # What gets stored survives the row's own encoding.
    stored = msgspec.msgpack.decode(msgspec.msgpack.encode(sealed), type=SealedList)
    assert opened(keys, stored) == films


@pytest.mark.parametrize("part", PARTS)
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_any_altered_byte_fails_to_open(part: str, where: str) -> None:
    keys = MasterKeys.generate("k1")
    sealed = sealed_films(keys, [1, 2, 3])
    value = bytearray(getattr(sealed, part))
    index = {"first": 0, "middle": len(value) // 2, "last": len(value) - 1}[where]
    value[index] ^= 0x01
    with pytest.raises(DecryptError) as refused:
        opened(keys, msgspec.structs.replace(sealed, **{part: bytes(value)}))
    assert str(refused.value) == "the list cannot be opened"
    assert refused.value.__cause__ is None and refused.value.__suppress_context__


@pytest.mark.parametrize("part", PARTS)
def test_truncated_or_extended_parts_fail_to_open(part: str) -> None:
    keys = MasterKeys.generate("k1")
    sealed = sealed_films(keys, [1, 2, 3])
    for value in (getattr(sealed, part)[:-1], getattr(sealed, part) + b"\x00", b""):
        with pytest.raises(DecryptError):
            opened(keys, msgspec.structs.replace(sealed, **{part: value}))


@pytest.mark.parametrize(
    ("session", "member"),
    [(S, "5d2a9e47-other"), ("0b6f3c1e-other", M), (M, S), (S + M[:1], M[1:])],
    ids=["other-member", "other-session", "swapped", "shifted-boundary"],
)
def test_a_list_moved_to_another_member_or_session_fails_to_open(session: str, member: str) -> None:
    keys = MasterKeys.generate("k1")
    sealed = sealed_films(keys, [1, 2, 3])
    with pytest.raises(DecryptError):
        opened(keys, sealed, session, member)


def test_unknown_or_relabelled_keys_fail_the_same_way() -> None:
    keys = MasterKeys.generate("k1").with_new_key("k2")
    sealed = sealed_films(keys, [4])
    failures = []
    for other, envelope in [
        (MasterKeys.generate("k3"), sealed),  # kid unknown
        (MasterKeys.generate("k2"), sealed),  # same kid, another key
        (keys, msgspec.structs.replace(sealed, kid="k1")),  # relabelled to the other kid
    ]:
        with pytest.raises(DecryptError) as refused:
            opened(other, envelope)
        failures.append(str(refused.value))
    assert len(set(failures)) == 1


def test_rotation_rewraps_the_data_key_and_leaves_the_ciphertext_as_it_is() -> None:
    k1 = MasterKeys.generate("k1")
    sealed = sealed_films(k1, [7, 8, 9])
    both = k1.with_new_key("k2")
    assert both.kids == ("k2", "k1") and both.current_kid == "k2"
    moved = rewrap(both, sealed, session_id=S, member_id=M)
    assert moved.kid == "k2" and moved.wrapped_key != sealed.wrapped_key
    assert (moved.nonce, moved.ciphertext) == (sealed.nonce, sealed.ciphertext)
    only_k2 = both.only_current()
    assert only_k2.kids == ("k2",)
    assert opened(only_k2, moved) == [7, 8, 9]
    with pytest.raises(DecryptError):
        opened(only_k2, sealed)  # the old envelope needs the retired key
    # New and old keys held apart give the same result.
    apart = rewrap(only_k2, k1, sealed, session_id=S, member_id=M)
    assert apart.kid == "k2" and apart.ciphertext == sealed.ciphertext
    assert opened(only_k2, apart) == [7, 8, 9]
    # Rewrapping checks the binding too: it cannot move a list to another member.
    with pytest.raises(DecryptError):
        rewrap(both, sealed, session_id=S, member_id="5d2a9e47-other")


def test_no_key_material_in_reprs() -> None:
    keys = MasterKeys.generate("k1").with_new_key("k2")
    secrets = [base64.urlsafe_b64encode(key).decode().rstrip("=") for _, key in keys.keys]
    shown = repr(keys) + str(keys) + repr(sealed_films(keys, [1]))
    assert "k1" in shown and "k2" in shown
    for secret in secrets:
        assert secret[:12] not in shown
        assert secret in keys.spec()


def test_the_key_file_is_created_owner_only_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "master.key"
    first = MasterKeys.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert first.current_kid.startswith("k")
    second = MasterKeys.load_or_create(path)
    assert second == first
    assert [p.name for p in path.parent.iterdir()] == ["master.key"]  # no temp file left
    sealed = sealed_films(first, [1])
    assert opened(MasterKeys.resolve("", path), sealed) == [1]


def test_processes_starting_together_share_one_key(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    results: list[MasterKeys] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        results.append(MasterKeys.load_or_create(path))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and len({keys.spec() for keys in results}) == 1
    assert MasterKeys.load(path) == results[0]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o660, 0o644], ids=oct)
def test_a_key_file_others_can_reach_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "master.key"
    MasterKeys.load_or_create(path)
    os.chmod(path, mode)
    with pytest.raises(KeyConfigError, match="chmod 600") as refused:
        MasterKeys.load_or_create(path)
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    assert len(lines) == 1  # refused, not replaced nor extended
    key_text = lines[0].split(":")[1]
    assert key_text not in str(refused.value)
    os.chmod(path, 0o600)
    assert MasterKeys.load_or_create(path).spec().endswith(key_text)


def test_writing_keys_back_is_atomic_and_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    old = MasterKeys.load_or_create(path)
    rotated = old.with_new_key("k2")
    rotated.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert MasterKeys.load(path) == rotated and MasterKeys.load(path).kids[1] == old.current_kid
    rotated.only_current().save(path)
    assert MasterKeys.load(path).kids == ("k2",)
    assert [p.name for p in tmp_path.iterdir()] == ["master.key"]


def test_a_key_file_with_comments_and_one_key_a_line_is_read(tmp_path: Path) -> None:
    a, b = os.urandom(32), os.urandom(32)
    path = tmp_path / "master.key"
    text = "# keys\n\nnew:{}\n  old:{}==\n".format(
        base64.urlsafe_b64encode(a).decode().rstrip("="), base64.b64encode(b).decode().rstrip("=")
    )
    path.write_text(text)
    os.chmod(path, 0o600)
    assert MasterKeys.load_or_create(path).keys == (("new", a), ("old", b))


def test_a_spec_round_trips_and_resolve_prefers_it(tmp_path: Path) -> None:
    keys = MasterKeys.generate("k1").with_new_key("k2")
    assert MasterKeys.parse(keys.spec()) == keys
    assert MasterKeys.parse(" " + keys.spec().replace(",", " , ") + " ") == keys
    assert MasterKeys.resolve(keys.spec(), tmp_path / "unused.key").current_kid == "k2"
    assert not (tmp_path / "unused.key").exists()
    standard = base64.b64encode(b"\xfb" * 32).decode()  # "+/" alphabet, padded
    assert MasterKeys.parse(f"k9:{standard}").keys == (("k9", b"\xfb" * 32),)


KEY = base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("=")
SHORT = base64.urlsafe_b64encode(bytes(range(100, 124))).decode().rstrip("=")


@pytest.mark.parametrize(
    "spec",
    [
        KEY,  # no id at all
        f"{KEY}:k1",  # id and key swapped
        f"k1:{SHORT}",  # 24 bytes
        f"k1:{KEY[:-1]}!",
        f"k1:{KEY},{SHORT}",
        f"bad id:{KEY}",
        f"{'x' * 33}:{KEY}",
        f"k1:{KEY},k1:{KEY}",
        f":{KEY}",
        "",
        " , ",
    ],
)
def test_bad_key_specs_are_refused_without_echoing_key_material(spec: str) -> None:
    with pytest.raises(KeyConfigError) as refused:
        MasterKeys.parse(spec)
    message = str(refused.value)
    assert message
    for secret in (KEY, SHORT):
        for start in range(0, len(secret) - 6):
            assert secret[start : start + 6] not in message, message


def test_ids_and_key_sizes_are_checked_for_generated_keys_too() -> None:
    with pytest.raises(KeyConfigError):
        MasterKeys.generate("not a kid")
    with pytest.raises(KeyConfigError):
        MasterKeys.generate("k1").with_new_key("k1")
    with pytest.raises(KeyConfigError):
        MasterKeys((("k1", b"short"),))
    with pytest.raises(KeyConfigError):
        MasterKeys(())


def test_the_plaintext_format_refuses_what_it_could_not_read_back() -> None:
    assert decode_list(encode_list([3, 1, 2])).films == [3, 1, 2]
    assert decode_list(encode_list([], [])).films == []
    with pytest.raises(TypeError):
        encode_list(["tt0078748"])  # type: ignore[list-item]
    for junk in (b"\xc1junk", b"", msgspec.msgpack.encode({"films": ["a"]})):
        with pytest.raises(ValueError, match="stored list"):
            decode_list(junk)
