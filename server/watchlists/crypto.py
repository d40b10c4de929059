"""Envelope encryption of members' lists: AES-256-GCM data keys wrapped by a master key.

Each list gets a fresh random 256-bit data key.  The list is encrypted with it
(AES-256-GCM, random 96-bit nonce), and the data key is encrypted ("wrapped") with
the current master key, whose id (``kid``) is stored beside it.  Rotating the master
key re-wraps the small data keys and leaves the lists' ciphertext untouched.

The associated data of both encryptions binds the ciphertext to its session and
member (length-prefixed, with a format version), so a ciphertext copied into
another member's row, or another session, fails to decrypt.  Every failure raises
the same :class:`DecryptError`, which says nothing about which part failed.

Master keys come from ``FILMNIGHT_MASTER_KEY`` (``kid:base64url-key[,kid:key...]``,
the first is current) or from a key file created on first run with owner-only
permissions; a key file that others can read is refused.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "DecryptError",
    "KeyConfigError",
    "MasterKeys",
    "SealedList",
    "WatchList",
    "decode_list",
    "encode_list",
    "open_sealed",
    "rewrap",
    "seal",
]

KEY_BYTES = 32
NONCE_BYTES = 12
FORMAT = b"filmnight-list-v1"
_KID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class KeyConfigError(ValueError):
    """The master key configuration is unusable (the message never holds key material)."""


class DecryptError(Exception):
    """A sealed list could not be opened: altered, moved, or under an unknown key."""


@dataclass(frozen=True)
class MasterKeys:
    """Master keys by id; the first is the one new data keys are wrapped with."""

    keys: tuple[tuple[str, bytes], ...] = field(repr=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyConfigError("at least one master key is needed")
        kids = [kid for kid, _ in self.keys]
        if len(set(kids)) != len(kids):
            raise KeyConfigError("master key ids must be unique")
        for kid, key in self.keys:
            if not _KID.match(kid):
                raise KeyConfigError("a master key id must be 1-32 letters, digits, _ or -")
            if len(key) != KEY_BYTES:
                raise KeyConfigError(f"master key {kid!r} must be 32 bytes")

    def __repr__(self) -> str:
        return f"MasterKeys(kids={[kid for kid, _ in self.keys]})"

    @property
    def current_kid(self) -> str:
        return self.keys[0][0]

    def get(self, kid: str) -> bytes | None:
        for known, key in self.keys:
            if known == kid:
                return key
        return None

    @classmethod
    def parse(cls, spec: str) -> MasterKeys:
        """``kid:base64url-key[,kid:key...]`` (also one pair per line, as in the key file)."""
        pairs: list[tuple[str, bytes]] = []
        for part in re.split(r"[,\n]", spec):
            item = part.strip()
            if not item or item.startswith("#"):
                continue
            kid, sep, encoded = item.partition(":")
            if not sep:
                raise KeyConfigError("each master key is written kid:base64url-key")
            try:
                key = base64.urlsafe_b64decode(encoded.strip() + "=" * (-len(encoded.strip()) % 4))
            except (binascii.Error, ValueError):
                raise KeyConfigError(f"master key {kid.strip()!r} is not base64url") from None
            pairs.append((kid.strip(), key))
        return cls(tuple(pairs))

    @classmethod
    def generate(cls, kid: str | None = None) -> MasterKeys:
        kid = kid or f"k{datetime.now(UTC):%Y%m%d}{secrets.token_hex(2)}"
        return cls(((kid, AESGCM.generate_key(bit_length=256)),))

    def with_new_key(self, kid: str | None = None) -> MasterKeys:
        """A fresh key in front (current), the existing ones kept to open old envelopes."""
        return MasterKeys(MasterKeys.generate(kid).keys + self.keys)

    def only_current(self) -> MasterKeys:
        return MasterKeys(self.keys[:1])

    def spec(self) -> str:
        return ",".join(
            f"{kid}:{base64.urlsafe_b64encode(key).decode().rstrip('=')}" for kid, key in self.keys
        )

    def save(self, path: Path) -> None:
        """Write the key file atomically, readable by the owner only."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        body = "# filmnight master keys (kid:base64url); the first is current\n"
        body += self.spec().replace(",", "\n") + "\n"
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".master-key-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(body)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    @classmethod
    def load_or_create(cls, path: Path) -> MasterKeys:
        """Read the key file, or create it with a new key on first run."""
        if not path.exists():
            keys = cls.generate()
            keys.save(path)
            return keys
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyConfigError(
                f"the master key file {path.name} is readable by others: chmod 600 it"
            )
        return cls.parse(path.read_text())

    @classmethod
    def resolve(cls, spec: str, key_file: Path) -> MasterKeys:
        """``FILMNIGHT_MASTER_KEY`` when set, else the key file (created if missing)."""
        return cls.parse(spec) if spec.strip() else cls.load_or_create(key_file)


class SealedList(msgspec.Struct, frozen=True):
    """What is stored: the key id, the wrapped data key, the nonce and the ciphertext."""

    kid: str
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes


def _field(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return len(raw).to_bytes(4, "big") + raw


def _associated(purpose: bytes, session_id: str, member_id: str, kid: str = "") -> bytes:
    return FORMAT + _field(purpose) + _field(session_id) + _field(member_id) + _field(kid)


def seal(keys: MasterKeys, plaintext: bytes, *, session_id: str, member_id: str) -> SealedList:
    """Encrypt ``plaintext`` under a fresh data key wrapped by the current master key."""
    kid, master = keys.keys[0]
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(
        nonce, plaintext, _associated(b"list", session_id, member_id)
    )
    return SealedList(kid, _wrap(master, kid, data_key, session_id, member_id), nonce, ciphertext)


def _wrap(master: bytes, kid: str, data_key: bytes, session_id: str, member_id: str) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(master).encrypt(
        nonce, data_key, _associated(b"key", session_id, member_id, kid)
    )


def _unwrap(keys: MasterKeys, sealed: SealedList, session_id: str, member_id: str) -> bytes:
    master = keys.get(sealed.kid)
    if master is None or len(sealed.wrapped_key) <= NONCE_BYTES:
        raise DecryptError("the list cannot be opened")
    nonce, body = sealed.wrapped_key[:NONCE_BYTES], sealed.wrapped_key[NONCE_BYTES:]
    try:
        return AESGCM(master).decrypt(
            nonce, body, _associated(b"key", session_id, member_id, sealed.kid)
        )
    except InvalidTag:
        raise DecryptError("the list cannot be opened") from None


def open_sealed(keys: MasterKeys, sealed: SealedList, *, session_id: str, member_id: str) -> bytes:
    """The plaintext, or :class:`DecryptError` when anything does not match."""
    data_key = _unwrap(keys, sealed, session_id, member_id)
    if len(sealed.nonce) != NONCE_BYTES:
        raise DecryptError("the list cannot be opened")
    try:
        return AESGCM(data_key).decrypt(
            sealed.nonce, sealed.ciphertext, _associated(b"list", session_id, member_id)
        )
    except InvalidTag:
        raise DecryptError("the list cannot be opened") from None


def rewrap(keys: MasterKeys, sealed: SealedList, *, session_id: str, member_id: str) -> SealedList:
    """The same envelope with its data key wrapped by the current master key."""
    data_key = _unwrap(keys, sealed, session_id, member_id)
    kid, master = keys.keys[0]
    return SealedList(
        kid, _wrap(master, kid, data_key, session_id, member_id), sealed.nonce, sealed.ciphertext
    )


class WatchList(msgspec.Struct, frozen=True):
    """The plaintext of a sealed list: catalogue film ids, in list order, and films seen."""

    films: list[int]
    watched: list[int] = msgspec.field(default_factory=list)


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(WatchList)


def encode_list(films: Sequence[int], watched: Sequence[int] = ()) -> bytes:
    return _encoder.encode(WatchList(list(films), list(watched)))


def decode_list(data: bytes) -> WatchList:
    """Raise ``ValueError`` for bytes that are not a list (never for a valid one)."""
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise ValueError("not a stored list") from exc
