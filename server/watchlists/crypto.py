"""Envelope encryption of members' lists: AES-256-GCM data keys wrapped by a master key.

Why an envelope: each list gets its own random 256-bit data key, so deleting that
key (the row) makes the list unrecoverable at once, and rotating the master key
only re-wraps the small data keys — the lists' ciphertext is never touched.

- The list is encrypted with the data key (AES-256-GCM, random 96-bit nonce).  Each
  data key encrypts exactly one plaintext, so its nonce can never repeat.
- The data key is encrypted ("wrapped") with the current master key (AES-256-GCM,
  its own random nonce, stored in front of the wrapped key); the master key's id
  (``kid``) is stored beside it.  A random nonce per wrap stays far below the 2**32
  wraps per master key that random GCM nonces allow.
- Associated data binds both to where they belong: a fixed format prefix, a
  purpose, the session id, the member id and (for the wrap) the kid, each
  length-prefixed so no field can be shifted into the next.  A row copied to
  another member or session, or relabelled with another kid, fails to decrypt.
- Every failure — altered bytes, a moved row, an unknown kid — raises the one
  :class:`DecryptError` with the same message, so nothing says which part failed.

Master keys come from ``FILMNIGHT_MASTER_KEY`` (``kid:base64url-key[,kid:key...]``,
the first is current) or from a key file in the same format, one key a line.  The
key file is created on first run (atomically, mode 0600, its folder 0700; when two
processes start at once, one creates it and the other reads it).  A key file that
group or others may read or write is refused: chmod 600 it.  Error messages never
contain key material, and :class:`MasterKeys` shows only its key ids.

The plaintext of a list is msgpack (:func:`encode_list`): the catalogue ids of the
member's films in list order, and of the films they have already seen.  Catalogue
ids are integers (``fn_film.id``), so the format stores integers.
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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import overload

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
TAG_BYTES = 16
FORMAT = b"filmnight-list-v1"
"""Prefix of every associated data; a new envelope format gets a new prefix."""
KEY_FILE_MAX_BYTES = 64 * 1024
_KID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_BASE64 = re.compile(r"[A-Za-z0-9_+/-]+={0,2}")
_OPAQUE = "the list cannot be opened"


class KeyConfigError(ValueError):
    """The master key configuration is unusable (the message never holds key material)."""


class DecryptError(Exception):
    """A sealed list could not be opened: altered, moved, or under an unknown key."""


# ---------------------------------------------------------------- master keys


@dataclass(frozen=True)
class MasterKeys:
    """Master keys by id, in order; the first is current (new data keys are wrapped with it).

    The others stay only to open envelopes wrapped before a rotation.
    """

    keys: tuple[tuple[str, bytes], ...] = field(repr=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyConfigError("at least one master key is needed")
        seen: set[str] = set()
        for number, (kid, key) in enumerate(self.keys, start=1):
            if not isinstance(kid, str) or not _KID.fullmatch(kid):
                raise KeyConfigError(
                    f"master key #{number}: its id must be 1-32 letters, digits, _ or -"
                )
            if kid in seen:
                raise KeyConfigError(f"master key id {kid!r} is used twice")
            seen.add(kid)
            if not isinstance(key, bytes) or len(key) != KEY_BYTES:
                raise KeyConfigError(f"master key {kid!r} must be {KEY_BYTES} bytes")

    def __repr__(self) -> str:
        return f"MasterKeys(kids={list(self.kids)})"

    __str__ = __repr__

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(kid for kid, _ in self.keys)

    @property
    def current_kid(self) -> str:
        return self.keys[0][0]

    def get(self, kid: str) -> bytes | None:
        """The key with this id, or ``None``."""
        for known, key in self.keys:
            if known == kid:
                return key
        return None

    # -- building

    @classmethod
    def generate(cls, kid: str | None = None) -> MasterKeys:
        """One fresh random key; its id defaults to ``k`` + today's date + random hex."""
        kid = kid or f"k{datetime.now(UTC):%Y%m%d}{secrets.token_hex(3)}"
        return cls(((kid, AESGCM.generate_key(bit_length=256)),))

    def with_new_key(self, kid: str | None = None) -> MasterKeys:
        """A fresh key in front (current), the existing ones kept to open old envelopes."""
        return MasterKeys(MasterKeys.generate(kid).keys + self.keys)

    def only_current(self) -> MasterKeys:
        """The current key alone: what remains once every data key has been re-wrapped."""
        return MasterKeys(self.keys[:1])

    # -- text form

    @classmethod
    def parse(cls, spec: str) -> MasterKeys:
        """``kid:base64url-key[,kid:key...]``; also one pair a line, ``#`` comments allowed.

        Standard base64 (``+/``) and missing padding are accepted too, so the output
        of ``openssl rand -base64 32`` works.  Messages name a key by its id when the
        id is valid, else by its position: never by anything that may be key material.
        """
        pairs: list[tuple[str, bytes]] = []
        for number, item in enumerate(_entries(spec), start=1):
            kid, sep, encoded = (part.strip() for part in item.partition(":"))
            if not sep or not kid:
                raise KeyConfigError(f"master key #{number}: write it as kid:base64url-key")
            if not _KID.fullmatch(kid):
                raise KeyConfigError(
                    f"master key #{number}: its id must be 1-32 letters, digits, _ or -"
                )
            key = _b64decode(encoded)
            if key is None:
                raise KeyConfigError(f"master key {kid!r} is not base64url")
            if len(key) != KEY_BYTES:
                raise KeyConfigError(
                    f"master key {kid!r} must be {KEY_BYTES} bytes "
                    f"(43 base64url characters), not {len(key)}"
                )
            pairs.append((kid, key))
        return cls(tuple(pairs))

    def spec(self) -> str:
        """The ``kid:base64url-key,...`` form that :meth:`parse` reads (this *is* secret)."""
        return ",".join(f"{kid}:{_b64encode(key)}" for kid, key in self.keys)

    def _file_text(self) -> str:
        header = "# filmnight master keys, kid:base64url-key, the first is current. Keep secret.\n"
        return header + "".join(f"{kid}:{_b64encode(key)}\n" for kid, key in self.keys)

    # -- key file

    def save(self, path: Path) -> None:
        """Write the key file atomically (temp file, fsync, rename), readable by the owner only.

        Used by key rotation to write keys back; readers see the old or the new
        file, never half of one.
        """
        _make_private_dir(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".master-key-", suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(self._file_text())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(path.parent)

    @classmethod
    def load(cls, path: Path) -> MasterKeys:
        """Read an existing key file; refuse one that group or others may read or write."""
        try:
            with path.open("rb") as handle:
                info = os.fstat(handle.fileno())
                if not stat.S_ISREG(info.st_mode):
                    raise KeyConfigError(f"the master key file {path} is not a regular file")
                if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                    raise KeyConfigError(
                        f"the master key file {path} is readable or writable by others: "
                        f"chmod 600 {path}"
                    )
                raw = handle.read(KEY_FILE_MAX_BYTES + 1)
        except FileNotFoundError:
            raise
        except IsADirectoryError:
            raise KeyConfigError(f"the master key file {path} is not a regular file") from None
        except OSError as exc:
            raise KeyConfigError(
                f"the master key file {path} cannot be read ({exc.strerror})"
            ) from None
        if len(raw) > KEY_FILE_MAX_BYTES:
            raise KeyConfigError(f"the master key file {path} is too large to be a key file")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise KeyConfigError(f"the master key file {path} is not text") from None
        return cls.parse(text)

    @classmethod
    def load_or_create(cls, path: Path) -> MasterKeys:
        """Read the key file, or create it with one new key on first run.

        Creation is exclusive (a fully written temp file is hard-linked into place),
        so when two processes start together both end up with the same key.
        """
        with contextlib.suppress(FileNotFoundError):
            return cls.load(path)
        keys = cls.generate()
        if _create_exclusive(path, keys._file_text()):
            return keys
        return cls.load(path)  # another process created it first: use theirs

    @classmethod
    def resolve(cls, master_key_spec: str, key_file: Path) -> MasterKeys:
        """``FILMNIGHT_MASTER_KEY`` when set, else the key file (created if missing)."""
        if master_key_spec.strip():
            return cls.parse(master_key_spec)
        return cls.load_or_create(key_file)


def _entries(spec: str) -> Iterator[str]:
    for line in spec.splitlines():
        if line.strip().startswith("#"):
            continue
        for part in line.split(","):
            if part.strip():
                yield part.strip()


def _b64encode(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes | None:
    if not _BASE64.fullmatch(text):
        return None
    body = text.rstrip("=").replace("+", "-").replace("/", "_")
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        return None


def _make_private_dir(folder: Path) -> None:
    """Create the key's folder 0700 (an existing folder is left as its owner set it)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable; not every platform can open a directory, hence best effort."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _create_exclusive(path: Path, text: str) -> bool:
    """Create ``path`` (0600) holding ``text`` unless it exists; False if someone was first."""
    _make_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".master-key-", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links: O_EXCL is still exclusive
            try:
                out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return False
            with os.fdopen(out, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        _fsync_dir(path.parent)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


# ---------------------------------------------------------------- the envelope


class SealedList(msgspec.Struct, frozen=True, kw_only=True):
    """What is stored: the master key id, the wrapped data key, the nonce and the ciphertext.

    ``wrapped_key`` is the wrap's nonce followed by the AES-GCM output (60 bytes).
    The repr shows sizes only, so a logged envelope does not flood the log.
    """

    kid: str
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes

    def __repr__(self) -> str:
        return (
            f"SealedList(kid={self.kid!r}, wrapped_key=<{len(self.wrapped_key)} bytes>, "
            f"nonce=<{len(self.nonce)} bytes>, ciphertext=<{len(self.ciphertext)} bytes>)"
        )


def _field(value: str | bytes) -> bytes:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return len(raw).to_bytes(4, "big") + raw


def _associated(purpose: bytes, session_id: str, member_id: str, kid: str = "") -> bytes:
    """Format prefix + length-prefixed purpose, session, member and kid."""
    return FORMAT + _field(purpose) + _field(session_id) + _field(member_id) + _field(kid)


def _wrap(master: bytes, kid: str, data_key: bytes, session_id: str, member_id: str) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(master).encrypt(
        nonce, data_key, _associated(b"key", session_id, member_id, kid)
    )


def _unwrap(keys: MasterKeys, sealed: SealedList, session_id: str, member_id: str) -> bytes:
    master = keys.get(sealed.kid)
    wrapped = sealed.wrapped_key
    if master is None or len(wrapped) != NONCE_BYTES + KEY_BYTES + TAG_BYTES:
        raise DecryptError(_OPAQUE)
    try:
        return AESGCM(master).decrypt(
            wrapped[:NONCE_BYTES],
            wrapped[NONCE_BYTES:],
            _associated(b"key", session_id, member_id, sealed.kid),
        )
    except (InvalidTag, ValueError, TypeError, OverflowError):
        raise DecryptError(_OPAQUE) from None


def seal(keys: MasterKeys, plaintext: bytes, *, session_id: str, member_id: str) -> SealedList:
    """Encrypt ``plaintext`` under a fresh data key, wrapped by the current master key."""
    kid, master = keys.keys[0]
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(
        nonce, plaintext, _associated(b"list", session_id, member_id)
    )
    return SealedList(
        kid=kid,
        wrapped_key=_wrap(master, kid, data_key, session_id, member_id),
        nonce=nonce,
        ciphertext=ciphertext,
    )


def open_sealed(keys: MasterKeys, sealed: SealedList, *, session_id: str, member_id: str) -> bytes:
    """The plaintext, or :class:`DecryptError` when anything does not match."""
    data_key = _unwrap(keys, sealed, session_id, member_id)
    if len(sealed.nonce) != NONCE_BYTES:
        raise DecryptError(_OPAQUE)
    try:
        return AESGCM(data_key).decrypt(
            sealed.nonce, sealed.ciphertext, _associated(b"list", session_id, member_id)
        )
    except (InvalidTag, ValueError, TypeError, OverflowError):
        raise DecryptError(_OPAQUE) from None


@overload
def rewrap(
    keys: MasterKeys, sealed: SealedList, /, *, session_id: str, member_id: str
) -> SealedList: ...


@overload
def rewrap(
    keys: MasterKeys,
    old_keys: MasterKeys,
    sealed: SealedList,
    /,
    *,
    session_id: str,
    member_id: str,
) -> SealedList: ...


def rewrap(
    keys: MasterKeys,
    second: MasterKeys | SealedList,
    third: SealedList | None = None,
    /,
    *,
    session_id: str,
    member_id: str,
) -> SealedList:
    """The same envelope with its data key re-wrapped under ``keys``' current master key.

    The list's nonce and ciphertext are kept byte for byte: rotation costs one small
    unwrap and wrap per list, whatever the list's size.  Call it as
    ``rewrap(keys, sealed, ...)`` when ``keys`` holds the new key and the old ones
    (what ``with_new_key`` returns), or ``rewrap(new_keys, old_keys, sealed, ...)``
    when the old keys are held apart.  Raises :class:`DecryptError` like
    :func:`open_sealed` when the envelope cannot be unwrapped.
    """
    if third is None:
        if not isinstance(second, SealedList):
            raise TypeError("rewrap(keys, sealed) or rewrap(new_keys, old_keys, sealed)")
        old_keys, sealed = keys, second
    else:
        if not isinstance(second, MasterKeys):
            raise TypeError("rewrap(keys, sealed) or rewrap(new_keys, old_keys, sealed)")
        old_keys, sealed = second, third
    source = old_keys if old_keys.get(sealed.kid) is not None else keys
    data_key = _unwrap(source, sealed, session_id, member_id)
    kid, master = keys.keys[0]
    return SealedList(
        kid=kid,
        wrapped_key=_wrap(master, kid, data_key, session_id, member_id),
        nonce=sealed.nonce,
        ciphertext=sealed.ciphertext,
    )


# ---------------------------------------------------------------- the plaintext


class WatchList(msgspec.Struct, frozen=True):
    """The plaintext of a sealed list: catalogue film ids in list order, and films seen."""

    films: list[int]
    watched: list[int] = msgspec.field(default_factory=list)


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(WatchList)


def encode_list(films: Sequence[int], watched: Sequence[int] = ()) -> bytes:
    """msgpack of :class:`WatchList`; refuses anything that :func:`decode_list` could not read.

    Checking here (one fast decode) means a wrong id type fails the import that
    caused it, instead of leaving a sealed list nobody can read later.
    """
    data = _encoder.encode(WatchList(list(films), list(watched)))
    try:
        _decoder.decode(data)
    except msgspec.DecodeError:
        raise TypeError("film ids must be integers") from None
    return data


def decode_list(data: bytes) -> WatchList:
    """Raise ``ValueError`` for bytes that are not a list (never for a valid one)."""
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise ValueError("not a stored list") from exc
