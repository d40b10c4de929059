"""One suite over both hubs (memory and real Redis), plus Redis outages."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as aioredis

from realtime.hub import Hub, HubUnavailable, MemoryHub, RedisHub, create_hub
from tests.support.redis_server import private_redis


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


@pytest.fixture(params=["memory", "redis"])
async def hubs(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Hub, Hub]]:
    """Two hubs as two processes would have them (one shared hub for memory)."""
    if request.param == "memory":
        hub = MemoryHub()
        await hub.start()
        yield hub, hub
        await hub.stop()
        return
    request.applymarker(pytest.mark.redis)
    url = request.getfixturevalue("redis_url")
    one, two = RedisHub(url), RedisHub(url)
    await one.start()
    await two.start()
    await asyncio.wait_for(one.connected.wait(), 5)
    await asyncio.wait_for(two.connected.wait(), 5)
    yield one, two
    await one.stop()
    await two.stop()


def channel() -> str:
    return f"test:{secrets.token_hex(6)}"


async def test_publish_reaches_every_listener_once_in_order(hubs: tuple[Hub, Hub]) -> None:
    one, two = hubs
    name = channel()
    got_one: list[bytes] = []
    got_two: list[bytes] = []
    one.subscribe(name, got_one.append)
    two.subscribe(name, got_two.append)
    await asyncio.sleep(0.2)  # let Redis register the subscriptions
    payloads = [f"event-{i}".encode() for i in range(50)]
    for payload in payloads:
        await one.publish(name, payload)
    await eventually(lambda: len(got_two) >= 50)
    await asyncio.sleep(0.1)
    assert got_one == payloads  # local delivery, own echo ignored
    assert got_two == payloads


async def test_unsubscribe_stops_delivery_and_a_raising_listener_harms_no_one(
    hubs: tuple[Hub, Hub],
) -> None:
    one, two = hubs
    name = channel()
    got: list[bytes] = []

    def broken(_: bytes) -> None:
        raise RuntimeError("listener bug")

    two.subscribe(name, broken)
    stop = two.subscribe(name, got.append)
    await asyncio.sleep(0.2)
    await one.publish(name, b"a")
    await eventually(lambda: got == [b"a"])
    stop()
    stop()  # idempotent
    await asyncio.sleep(0.1)
    await one.publish(name, b"b")
    await asyncio.sleep(0.3)
    assert got == [b"a"]


async def test_health_and_factory(redis_url: str) -> None:
    assert isinstance(create_hub(None), MemoryHub)
    hub = create_hub(redis_url)
    assert isinstance(hub, RedisHub)
    assert not await hub.healthy()  # not started
    with pytest.raises(HubUnavailable):
        await hub.publish("x", b"y")
    await hub.start()
    await hub.start()  # idempotent
    assert await hub.healthy()
    await hub.stop()
    assert await MemoryHub().healthy()


@pytest.mark.redis
async def test_redis_subscriptions_follow_local_interest(redis_url: str) -> None:
    hub = RedisHub(redis_url)
    await hub.start()
    await asyncio.wait_for(hub.connected.wait(), 5)
    probe = aioredis.Redis.from_url(redis_url)
    name = channel()

    async def subscribers() -> int:
        counts = await probe.pubsub_numsub(name)
        return int(counts[0][1])

    first = hub.subscribe(name, lambda _: None)
    second = hub.subscribe(name, lambda _: None)
    await asyncio.sleep(0.2)
    assert await subscribers() == 1
    first()
    await asyncio.sleep(0.2)
    assert await subscribers() == 1
    second()
    await asyncio.sleep(0.2)
    assert await subscribers() == 0
    await probe.aclose()
    await hub.stop()
    assert not [t for t in asyncio.all_tasks() if "redis-hub" in t.get_name()]


@pytest.mark.redis
async def test_fan_out_recovers_by_itself_after_a_redis_restart() -> None:
    with private_redis() as server:
        one, two = RedisHub(server.url, max_backoff_s=0.3), RedisHub(server.url, max_backoff_s=0.3)
        resyncs: list[str] = []

        def recorder(name: str) -> Callable[[], Awaitable[None]]:
            async def callback() -> None:
                resyncs.append(name)

            return callback

        two.on_resync(recorder("two"))
        await one.start()
        await two.start()
        await asyncio.wait_for(two.connected.wait(), 5)
        name = channel()
        got: list[bytes] = []
        two.subscribe(name, got.append)
        await asyncio.sleep(0.2)
        await one.publish(name, b"before")
        await eventually(lambda: got == [b"before"])
        resyncs.clear()

        server.stop()
        with pytest.raises(HubUnavailable):
            await one.publish(name, b"during")
        assert not await one.healthy()
        server.start()

        await eventually(lambda: "two" in resyncs, timeout=15)
        await eventually(lambda: one.connected.is_set() and two.connected.is_set(), timeout=15)
        await asyncio.sleep(0.2)
        await one.publish(name, b"after")
        await eventually(lambda: got == [b"before", b"after"])
        assert two.reconnects >= 1
        await one.stop()
        await two.stop()
