"""How an event travels through the hub: ``seq`` (8 bytes, big-endian), its kind
(1 byte) + the JSON frame.

``seq`` 0 marks an ephemeral event (presence, reactions, progress) that is not in
the durable log.  The kind says whether the event ends seats (a member left, the
session ended), so a room never reads the JSON to find out.  The JSON bytes are
encoded once and sent unchanged to every member, on every process.

Events published together (one transaction's events of one session) travel
together: between processes as one message of length-prefixed payloads
(:func:`pack_batch`), so that every process can hand them to each socket in one write.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "EPHEMERAL",
    "EVENT",
    "MEMBER_LEFT",
    "SESSION_ENDED",
    "channel_for",
    "kind_of",
    "pack",
    "pack_batch",
    "unpack",
    "unpack_batch",
]

EPHEMERAL = 0
_CHANNEL_PREFIX = "fn:session:"

EVENT = 0
"""An event that ends no seat (nearly all of them)."""
MEMBER_LEFT = 1
"""``member.left``: its member's connections close once it is sent."""
SESSION_ENDED = 2
"""``session.ended``: every connection of the session closes once it is sent."""
_KINDS = {"member.left": MEMBER_LEFT, "session.ended": SESSION_ENDED}


def kind_of(event_type: str) -> int:
    """The kind of an event, from its ``type``."""
    return _KINDS.get(event_type, EVENT)


def channel_for(session_id: str) -> str:
    return f"{_CHANNEL_PREFIX}{session_id}"


def pack(seq: int, body: bytes, kind: int = EVENT) -> bytes:
    return seq.to_bytes(8, "big") + kind.to_bytes(1, "big") + body


def unpack(payload: bytes) -> tuple[int, bytes, int]:
    """``(seq, body, kind)``."""
    if len(payload) < 9:
        raise ValueError("hub payload too short")
    return int.from_bytes(payload[:8], "big"), payload[9:], payload[8]


def pack_batch(payloads: Sequence[bytes]) -> bytes:
    """Payloads as one message: each one prefixed with its length (4 bytes, big-endian)."""
    return b"".join(len(p).to_bytes(4, "big") + p for p in payloads)


def unpack_batch(message: bytes) -> list[bytes]:
    """The payloads of :func:`pack_batch`; ``ValueError`` when the message is cut or padded."""
    payloads = []
    view, offset, end = memoryview(message), 0, len(message)
    while offset < end:
        if end - offset < 4:
            raise ValueError("hub batch cut inside a length")
        size = int.from_bytes(view[offset : offset + 4], "big")
        offset += 4
        if end - offset < size:
            raise ValueError("hub batch cut inside a payload")
        payloads.append(bytes(view[offset : offset + size]))
        offset += size
    return payloads
