"""Presence (provisional memory-only version; replaced by the full module)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class PresenceStore(Protocol):
    async def connect(self, session_id: str, member_id: str, conn_id: str) -> bool: ...
    async def refresh(self, session_id: str, member_id: str, conn_id: str) -> None: ...
    async def disconnect(self, session_id: str, member_id: str, conn_id: str) -> bool: ...
    async def online(self, session_id: str) -> set[str]: ...
    async def close(self) -> None: ...


class MemoryPresence:
    def __init__(self) -> None:
        self._conns: dict[str, dict[str, set[str]]] = {}

    async def connect(self, session_id: str, member_id: str, conn_id: str) -> bool:
        members = self._conns.setdefault(session_id, {})
        first = not members.get(member_id)
        members.setdefault(member_id, set()).add(conn_id)
        return first

    async def refresh(self, session_id: str, member_id: str, conn_id: str) -> None:
        return None

    async def disconnect(self, session_id: str, member_id: str, conn_id: str) -> bool:
        conns = self._conns.get(session_id, {}).get(member_id, set())
        conns.discard(conn_id)
        return not conns

    async def online(self, session_id: str) -> set[str]:
        return {m for m, c in self._conns.get(session_id, {}).items() if c}

    async def close(self) -> None:
        return None


def create_presence(redis_url: str | None, ttl_s: float = 30.0) -> PresenceStore:
    return MemoryPresence()
