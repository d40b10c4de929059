"""One suite over both hubs (memory and real Redis), plus Redis outages."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence

import pytest
import redis.asyncio as aioredis

from realtime.framing import pack_batch, unpack_batch
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
    one.subscribe(name, got_one.extend)
    two.subscribe(name, got_two.extend)
    await asyncio.sleep(0.2)  # let Redis register the subscriptions
    payloads = [f"event-{i}".encode() for i in range(50)]
    for payload in payloads:
        await one.publish(name, payload)
    await eventually(lambda: len(got_two) >= 50)
    await asyncio.sleep(0.1)
    assert got_one == payloads  # local delivery, own echo ignored
    assert got_two == payloads


async def test_a_batch_arrives_whole_in_one_delivery_on_every_process(
    hubs: tuple[Hub, Hub],
) -> None:
    one, two = hubs
    name = channel()
    got_one: list[list[bytes]] = []
    got_two: list[list[bytes]] = []
    one.subscribe(name, lambda batch: got_one.append(list(batch)))
    two.subscribe(name, lambda batch: got_two.append(list(batch)))
    await asyncio.sleep(0.2)
    await one.publish_many(name, [b"a", b"", b"c" * 70_000])
    await one.publish_many(name, [])  # nothing to deliver
    await one.publish(name, b"d")
    await eventually(lambda: len(got_two) >= 2)
    await asyncio.sleep(0.1)
    assert got_one == got_two == [[b"a", b"", b"c" * 70_000], [b"d"]]


@pytest.mark.parametrize("kind", ["memory", "redis"])
async def test_publish_all_delivers_every_channel_inside_one_local_scope(
    kind: str, request: pytest.FixtureRequest
) -> None:
    scopes: list[str] = []
    inside = False

    @contextlib.contextmanager
    def scope() -> Iterator[None]:
        nonlocal inside
        scopes.append("enter")
        inside = True
        yield
        inside = False

    if kind == "redis":
        request.applymarker(pytest.mark.redis)
        url = request.getfixturevalue("redis_url")
        hub: Hub = RedisHub(url, local_scope=scope)
        other: Hub = RedisHub(url)
    else:
        hub = other = MemoryHub(local_scope=scope)
    await hub.start()
    await other.start()
    names = [channel(), channel()]
    seen: list[tuple[str, list[bytes], bool]] = []
    remote: list[bytes] = []

    def recorder(name: str) -> Callable[[Sequence[bytes]], None]:
        return lambda batch: seen.append((name, list(batch), inside))

    for name in names:
        hub.subscribe(name, recorder(name))
        if other is not hub:
            other.subscribe(name, remote.extend)
    await asyncio.sleep(0.2)
    await hub.publish_all([(names[0], [b"a", b"b"]), (names[1], [b"c"]), (channel(), [b"x"])])
    await hub.publish_all([(names[0], [])])  # nothing to deliver: no scope
    assert seen == [(names[0], [b"a", b"b"], True), (names[1], [b"c"], True)]
    assert scopes == ["enter"]
    if other is not hub:
        await eventually(lambda: sorted(remote) == [b"a", b"b", b"c"])
        await other.stop()
    await hub.stop()


@pytest.mark.redis
async def test_a_malformed_message_on_a_channel_is_dropped(redis_url: str) -> None:
    hub = RedisHub(redis_url)
    await hub.start()
    await asyncio.wait_for(hub.connected.wait(), 5)
    name = channel()
    got: list[bytes] = []
    hub.subscribe(name, got.extend)
    await asyncio.sleep(0.2)
    probe = aioredis.Redis.from_url(redis_url)
    for garbage in (b"short", b"other-id" + b"\x00\x00\x00\x09cut", b"other-id"):
        await probe.publish(name, garbage)
    await probe.publish(name, b"other-id" + pack_batch([b"fine"]))
    await eventually(lambda: got == [b"fine"])
    await probe.aclose()
    await hub.stop()


def test_batches_round_trip_and_cut_ones_are_refused() -> None:
    payloads = [b"", b"x", bytes(range(256)) * 300]
    assert unpack_batch(pack_batch(payloads)) == payloads
    assert unpack_batch(b"") == []
    packed = pack_batch([b"abc"])
    for cut in (packed[:2], packed[:-1]):
        with pytest.raises(ValueError, match="cut"):
            unpack_batch(cut)


async def test_unsubscribe_stops_delivery_and_a_raising_listener_harms_no_one(
    hubs: tuple[Hub, Hub],
) -> None:
    one, two = hubs
    name = channel()
    got: list[bytes] = []

    def broken(_: Sequence[bytes]) -> None:
        raise RuntimeError("listener bug")

    two.subscribe(name, broken)
    stop = two.subscribe(name, got.extend)
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
        two.subscribe(name, got.extend)
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
