"""How an event travels through the hub: ``seq`` (8 bytes, big-endian) + the JSON frame.

``seq`` 0 marks an ephemeral event (presence, reactions, progress) that is not in
the durable log.  The JSON bytes are encoded once and sent unchanged to every
member, on every process.
"""

from __future__ import annotations

__all__ = ["EPHEMERAL", "channel_for", "pack", "unpack"]

EPHEMERAL = 0
_CHANNEL_PREFIX = "fn:session:"


def channel_for(session_id: str) -> str:
    return f"{_CHANNEL_PREFIX}{session_id}"


def pack(seq: int, body: bytes) -> bytes:
    return seq.to_bytes(8, "big") + body


def unpack(payload: bytes) -> tuple[int, bytes]:
    if len(payload) < 8:
        raise ValueError("hub payload too short")
    return int.from_bytes(payload[:8], "big"), payload[8:]
