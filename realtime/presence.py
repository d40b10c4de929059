"""Who is connected right now, shared by every server process.

Each connection is an entry ``member_id|conn_id`` with an expiry; a process
refreshes its own entries on a heartbeat, so when a process dies (even by SIGKILL)
its members drop out after the TTL instead of staying "online" for ever.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import redis.asyncio as aioredis

from realtime.redis_batches import CommandBatches

__all__ = ["MemoryPresence", "PresenceStore", "RedisPresence", "create_presence"]


@runtime_checkable
class PresenceStore(Protocol):
    async def connect(self, session_id: str, member_id: str, conn_id: str) -> bool:
        """Register a connection; True when the member went from offline to online."""
        ...

    async def refresh(self, session_id: str, member_id: str, conn_id: str) -> None: ...

    async def refresh_many(self, session_id: str, entries: list[tuple[str, str]]) -> None:
        """Extend many ``(member_id, conn_id)`` entries of one session at once (the heartbeat)."""
        ...

    async def disconnect(self, session_id: str, member_id: str, conn_id: str) -> bool:
        """Drop a connection; True when it was the member's last one."""
        ...

    async def online(self, session_id: str) -> set[str]: ...

    async def connections(self, session_id: str, member_id: str) -> int:
        """How many live connections the member has, on every process."""
        ...

    async def close(self) -> None: ...


def _member(entry: str) -> str:
    return entry.split("|", 1)[0]


class MemoryPresence:
    """Presence for one process (same rules, in dicts).

    Every change costs the same whatever the room's size: entries are kept per
    member, and expired ones are swept only once the earliest expiry has passed
    (a heartbeat refreshes them all long before that), so a hello into a room of
    1,000 does not walk the other 999.
    """

    def __init__(self, ttl_s: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[str, dict[str, dict[str, float]]] = {}
        """session -> member -> conn -> expiry."""
        self._earliest: dict[str, float] = {}
        """session -> the earliest expiry among its entries (a lower bound)."""

    def _live(self, session_id: str) -> dict[str, dict[str, float]]:
        members = self._entries.get(session_id)
        if members is None:
            return {}
        now = self._clock()
        if self._earliest.get(session_id, 0.0) <= now:
            earliest = float("inf")
            for member_id in list(members):
                conns = members[member_id]
                for conn_id in [c for c, expires in conns.items() if expires <= now]:
                    del conns[conn_id]
                if conns:
                    earliest = min(earliest, *conns.values())
                else:
                    del members[member_id]
            self._earliest[session_id] = earliest
        return members

    def _add(self, session_id: str, member_id: str, conn_id: str, expires: float) -> bool:
        """Set one entry's expiry; True when the member had no live connection before."""
        members = self._live(session_id)
        if not members:
            members = self._entries[session_id] = {}
        conns = members.get(member_id)
        fresh = conns is None
        if conns is None:
            conns = members[member_id] = {}
        conns[conn_id] = expires
        self._earliest[session_id] = min(self._earliest.get(session_id, expires), expires)
        return fresh

    async def connect(self, session_id: str, member_id: str, conn_id: str) -> bool:
        return self._add(session_id, member_id, conn_id, self._clock() + self._ttl_s)

    async def refresh(self, session_id: str, member_id: str, conn_id: str) -> None:
        await self.refresh_many(session_id, [(member_id, conn_id)])

    async def refresh_many(self, session_id: str, entries: list[tuple[str, str]]) -> None:
        expires = self._clock() + self._ttl_s
        for member_id, conn_id in entries:
            self._add(session_id, member_id, conn_id, expires)
        members = self._entries.get(session_id)
        if members:  # every entry may have moved on: find the earliest again
            self._earliest[session_id] = min(
                min(conns.values()) for conns in members.values() if conns
            )

    async def disconnect(self, session_id: str, member_id: str, conn_id: str) -> bool:
        members = self._live(session_id)
        conns = members.get(member_id)
        if conns is not None:
            conns.pop(conn_id, None)
            if not conns:
                del members[member_id]
        if not members:
            self._entries.pop(session_id, None)
            self._earliest.pop(session_id, None)
        return member_id not in members

    async def online(self, session_id: str) -> set[str]:
        return set(self._live(session_id))

    async def connections(self, session_id: str, member_id: str) -> int:
        return len(self._live(session_id).get(member_id, ()))

    async def close(self) -> None:
        self._entries.clear()
        self._earliest.clear()


_CHANGE = """
local key, now, entry, prefix = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
local others = 0
for _, e in ipairs(redis.call('ZRANGEBYSCORE', key, now, '+inf')) do
  if e ~= entry and string.sub(e, 1, #prefix) == prefix then
    others = 1
    break
  end
end
if ARGV[4] ~= '' then
  redis.call('ZADD', key, ARGV[4], entry)
else
  redis.call('ZREM', key, entry)
end
redis.call('EXPIRE', key, ARGV[5])
return others
"""
"""Drop expired entries, tell whether the member has another live connection, then add
(``ARGV[4]``: its expiry) or remove the entry: one command, atomic, answering one
integer however many members are online."""

_COUNT = """
local prefix, count = ARGV[2], 0
for _, e in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')) do
  if string.sub(e, 1, #prefix) == prefix then
    count = count + 1
  end
end
return count
"""
"""The member's live entries (``ARGV[2]``: ``member_id|``), counted where they are."""


class RedisPresence:
    """Presence in Redis: a sorted set per session scored by each entry's expiry time.

    A connect or a disconnect is one script call (``_CHANGE``), and so is counting a
    member's connections: each answers one integer, not the session's entries.  The
    commands of many members go to Redis together (:class:`CommandBatches`), on one
    connection, however many arrive at once."""

    def __init__(self, url: str, ttl_s: float = 30.0) -> None:
        self._client = aioredis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self._ttl_s = ttl_s
        self._batches = CommandBatches(self._client)

    @staticmethod
    def _key(session_id: str) -> str:
        return f"fn:presence:{session_id}"

    def _keep_for(self) -> int:
        """A session's set outlives its newest entry's expiry (then goes by itself)."""
        return int(self._ttl_s * 2) + 1

    async def _change(self, session_id: str, member_id: str, conn_id: str, *, add: bool) -> bool:
        """Apply one change; True when the member has another live connection."""
        now = time.time()
        others = await self._batches.call(
            "EVAL",
            _CHANGE,
            1,
            self._key(session_id),
            repr(now),
            f"{member_id}|{conn_id}",
            f"{member_id}|",
            repr(now + self._ttl_s) if add else "",
            self._keep_for(),
        )
        return bool(others)

    async def connect(self, session_id: str, member_id: str, conn_id: str) -> bool:
        return not await self._change(session_id, member_id, conn_id, add=True)

    async def refresh(self, session_id: str, member_id: str, conn_id: str) -> None:
        await self.refresh_many(session_id, [(member_id, conn_id)])

    async def refresh_many(self, session_id: str, entries: list[tuple[str, str]]) -> None:
        if not entries:
            return
        key = self._key(session_id)
        expires = repr(time.time() + self._ttl_s)
        scored = [part for m, c in entries for part in (expires, f"{m}|{c}")]
        await asyncio.gather(
            self._batches.call("ZADD", key, *scored),
            self._batches.call("EXPIRE", key, self._keep_for()),
        )

    async def disconnect(self, session_id: str, member_id: str, conn_id: str) -> bool:
        return not await self._change(session_id, member_id, conn_id, add=False)

    async def online(self, session_id: str) -> set[str]:
        entries = await self._batches.call(
            "ZRANGEBYSCORE", self._key(session_id), repr(time.time()), "+inf"
        )
        return {_member(bytes(e).decode()) for e in entries}

    async def connections(self, session_id: str, member_id: str) -> int:
        count = await self._batches.call(
            "EVAL", _COUNT, 1, self._key(session_id), repr(time.time()), f"{member_id}|"
        )
        return int(count)

    async def close(self) -> None:
        await self._batches.close()
        await self._client.aclose()


def create_presence(redis_url: str | None, ttl_s: float = 30.0) -> PresenceStore:
    """Redis when a URL is configured, else in memory."""
    return RedisPresence(redis_url, ttl_s) if redis_url else MemoryPresence(ttl_s)
