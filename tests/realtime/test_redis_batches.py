"""Redis commands in batches, against real Redis: a storm's worth at once succeeds on
one connection, in order, each caller with its own answer or error."""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from realtime.hub.redis import RedisHub
from realtime.presence import RedisPresence
from realtime.redis_batches import CommandBatches

pytestmark = pytest.mark.redis


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    redis = aioredis.Redis.from_url(redis_url)
    yield redis
    await redis.aclose()


async def test_more_commands_at_once_than_the_pool_has_connections(
    client: aioredis.Redis,
) -> None:
    pool_size = client.connection_pool.max_connections
    key = f"fn:test:{secrets.token_hex(6)}"
    batches = CommandBatches(client)
    answers = await asyncio.gather(*(batches.call("INCR", key) for _ in range(pool_size * 5)))
    # In issue order, one after another: each INCR saw the one before it.
    assert answers == list(range(1, pool_size * 5 + 1))
    assert batches.batches < 10
    assert int(await client.get(key) or 0) == pool_size * 5
    await client.delete(key)


async def test_a_failed_command_fails_only_its_caller(client: aioredis.Redis) -> None:
    key = f"fn:test:{secrets.token_hex(6)}"
    batches = CommandBatches(client)
    await client.set(key, "not a number")
    before = batches.call("GET", key)
    bad = batches.call("INCR", key)
    after = batches.call("APPEND", key, "!")
    assert await before == b"not a number"
    with pytest.raises(ResponseError):
        await bad
    assert await after == len("not a number!")
    await client.delete(key)


async def test_a_caller_that_gives_up_leaves_the_others_their_answers(
    client: aioredis.Redis,
) -> None:
    key = f"fn:test:{secrets.token_hex(6)}"
    batches = CommandBatches(client)
    first = batches.call("INCR", key)
    gone = asyncio.ensure_future(batches.call("INCR", key))
    last = batches.call("INCR", key)
    gone.cancel()
    assert await first == 1
    assert await last == 3  # the command was sent: only its answer was not wanted
    assert gone.cancelled()
    await client.delete(key)


async def test_an_unreachable_redis_fails_every_caller_and_the_next_batch_tries_again() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    redis = aioredis.Redis.from_url(f"redis://127.0.0.1:{port}", socket_connect_timeout=1)
    batches = CommandBatches(redis)
    calls = [batches.call("PING") for _ in range(3)]
    for call in calls:
        with pytest.raises(RedisConnectionError):
            await call
    with pytest.raises(RedisConnectionError):
        await batches.call("PING")
    assert batches.batches == 2
    await batches.close()
    await redis.aclose()


async def test_a_stopped_sender_fails_every_queued_caller(client: aioredis.Redis) -> None:
    batches = CommandBatches(client, max_batch=1)
    calls = [batches.call("PING") for _ in range(3)]
    sender = batches._sender
    assert sender is not None
    await asyncio.sleep(0)  # the first batch is on its way
    sender.cancel()
    await asyncio.gather(sender, return_exceptions=True)
    outcomes = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 5)
    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes)
    assert await batches.call("PING") is True  # a new sender for the next command


async def test_presence_of_a_storm_at_once(redis_url: str) -> None:
    """Hellos of 1,000 members at once: every connect, count and online answers (before
    batching, the 101st command at once failed with MaxConnectionsError)."""
    presence = RedisPresence(redis_url, ttl_s=30)
    session = secrets.token_hex(6)
    members = [f"m{n:04d}" for n in range(1000)]
    firsts = await asyncio.gather(*(presence.connect(session, m, "c1") for m in members))
    assert all(firsts)
    counts = await asyncio.gather(*(presence.connections(session, m) for m in members))
    assert counts == [1] * len(members)
    seen = await asyncio.gather(*(presence.online(session) for _ in range(50)))
    assert all(online == set(members) for online in seen)
    await presence.refresh_many(session, [(m, "c1") for m in members])
    lasts = await asyncio.gather(*(presence.disconnect(session, m, "c1") for m in members))
    assert all(lasts)
    assert await presence.online(session) == set()
    await presence.close()


async def test_the_hub_publishes_a_storm_at_once_in_order(redis_url: str) -> None:
    sender, receiver = RedisHub(redis_url), RedisHub(redis_url)
    await sender.start()
    await receiver.start()
    await asyncio.wait_for(receiver.connected.wait(), 5)
    channel = f"fn:test:{secrets.token_hex(6)}"
    got: list[bytes] = []
    receiver.subscribe(channel, got.extend)
    await asyncio.sleep(0.2)  # let Redis register the subscription
    payloads = [str(n).encode() for n in range(500)]
    await asyncio.gather(*(sender.publish(channel, payload) for payload in payloads))
    for _ in range(100):
        if len(got) >= len(payloads):
            break
        await asyncio.sleep(0.05)
    assert got == payloads
    await sender.stop()
    await receiver.stop()
