"""Presence, in memory and in real Redis: transitions, several connections, expiry."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest

from realtime.presence import MemoryPresence, PresenceStore, RedisPresence, create_presence


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
async def stores(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[PresenceStore, PresenceStore]]:
    """Two stores as two processes see them."""
    if request.param == "memory":
        store = MemoryPresence(ttl_s=30)
        yield store, store
        return
    request.applymarker(pytest.mark.redis)
    url = request.getfixturevalue("redis_url")
    one, two = RedisPresence(url, ttl_s=30), RedisPresence(url, ttl_s=30)
    yield one, two
    await one.close()
    await two.close()


async def test_first_connection_goes_online_last_goes_offline(
    stores: tuple[PresenceStore, PresenceStore],
) -> None:
    one, two = stores
    session = secrets.token_hex(6)
    assert await one.connect(session, "ana", "c1") is True
    assert await two.connect(session, "ana", "c2") is False  # a second tab, on another process
    assert await two.connect(session, "ben", "c3") is True
    assert await one.online(session) == {"ana", "ben"}
    assert await one.connections(session, "ana") == 2
    assert await two.connections(session, "ben") == 1
    assert await one.disconnect(session, "ana", "c1") is False
    assert await two.online(session) == {"ana", "ben"}
    assert await two.disconnect(session, "ana", "c2") is True
    assert await one.online(session) == {"ben"}
    await one.refresh(session, "ben", "c3")
    assert await two.disconnect(session, "ben", "c3") is True
    assert await one.online(session) == set()


async def test_memory_entries_expire_without_refresh() -> None:
    clock = FakeClock()
    store = MemoryPresence(ttl_s=10, clock=clock)
    await store.connect("s", "ana", "c1")
    await store.connect("s", "ben", "c2")
    clock.now += 6
    await store.refresh("s", "ben", "c2")
    clock.now += 6
    assert await store.online("s") == {"ben"}
    assert await store.connect("s", "ana", "c3") is True  # the expired entry does not count
    await store.close()
    assert await store.online("s") == set()


@pytest.mark.redis
async def test_a_dead_process_members_expire_in_redis(redis_url: str) -> None:
    dead = RedisPresence(redis_url, ttl_s=1)
    alive = RedisPresence(redis_url, ttl_s=30)
    session = secrets.token_hex(6)
    await dead.connect(session, "ana", "c1")  # its process then stops refreshing
    await alive.connect(session, "ben", "c2")
    assert await alive.online(session) == {"ana", "ben"}
    for _ in range(100):
        if await alive.online(session) == {"ben"}:
            break
        await asyncio.sleep(0.05)
    assert await alive.online(session) == {"ben"}
    await dead.close()
    await alive.close()


def test_factory(redis_url: str) -> None:
    assert isinstance(create_presence(None), MemoryPresence)
    assert isinstance(create_presence(redis_url, ttl_s=5), RedisPresence)


async def test_a_member_is_told_apart_from_one_whose_id_starts_the_same(
    stores: tuple[PresenceStore, PresenceStore],
) -> None:
    one, two = stores
    session = secrets.token_hex(6)
    assert await one.connect(session, "ana", "c1") is True
    assert await two.connect(session, "anabel", "c2") is True
    assert await one.connections(session, "ana") == 1
    assert await two.disconnect(session, "ana", "c1") is True
    assert await one.connections(session, "ana") == 0
    assert await one.online(session) == {"anabel"}


@pytest.mark.redis
async def test_an_expired_connection_in_redis_neither_counts_nor_keeps_a_member_online(
    redis_url: str,
) -> None:
    dead = RedisPresence(redis_url, ttl_s=1)
    alive = RedisPresence(redis_url, ttl_s=30)
    session = secrets.token_hex(6)
    assert await dead.connect(session, "ana", "c1") is True
    assert await alive.connect(session, "ana", "c2") is False
    await asyncio.sleep(1.1)  # the dead process's entry expires
    assert await alive.connections(session, "ana") == 1
    assert await alive.disconnect(session, "ana", "c2") is True
    assert await alive.connect(session, "ana", "c3") is True
    await dead.close()
    await alive.close()
