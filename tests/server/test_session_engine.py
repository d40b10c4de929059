"""The engine publishes a transaction's events after the commit, each session's together."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pytest

from realtime.framing import EPHEMERAL, channel_for, unpack
from realtime.protocol import ChatEvent, Presence
from tests.conftest import LiveServer
from tests.live.test_socket import http_create


async def test_a_transactions_events_reach_the_room_in_one_delivery_in_order(
    live: LiveServer,
) -> None:
    created = [await http_create(live, host) for host in ("Ana", "Ben")]
    services = live.app.state.services
    deliveries: dict[str, list[list[int]]] = {c["session_id"]: [] for c in created}

    def listener(session_id: str) -> object:
        def on(batch: Sequence[bytes]) -> None:
            deliveries[session_id].append([unpack(p)[0] for p in batch])

        return on

    for c in created:
        services.hub.subscribe(channel_for(c["session_id"]), listener(c["session_id"]))
    first, second = (uuid.UUID(c["session_id"]) for c in created)

    def chat(text: str) -> object:
        return lambda seq: ChatEvent(seq=seq, member_id="m", text=text, at=0)

    async with services.engine.transaction() as tx:
        a = await tx.emit(first, chat("a"))
        tx.publish_ephemeral(first, Presence(online=["m"], offline=[]))
        await tx.emit_many({first: [chat("b"), chat("c")], second: [chat("x")]})
        assert deliveries == {c["session_id"]: [] for c in created}  # nothing before the commit
    assert deliveries[created[0]["session_id"]] == [[a.seq, EPHEMERAL, a.seq + 1, a.seq + 2]]
    assert len(deliveries[created[1]["session_id"]]) == 1

    async def failing_command() -> None:
        async with services.engine.transaction() as tx:
            await tx.emit(first, chat("rolled back"))
            raise RuntimeError("the command failed")

    with pytest.raises(RuntimeError):
        await failing_command()
    assert len(deliveries[created[0]["session_id"]]) == 1  # a rollback publishes nothing


async def test_sessions_with_as_many_events_advance_together_each_by_its_own_count(
    live: LiveServer,
) -> None:
    """One statement advances every session with the same count of events (an
    expanding ``IN``), one session alone takes its own statement: both give each
    session its next ``seq`` and nothing of the others'."""
    created = [await http_create(live, host) for host in ("Ana", "Ben", "Cy")]
    ids = [uuid.UUID(c["session_id"]) for c in created]
    engine = live.app.state.services.engine

    def chat(text: str) -> object:
        return lambda seq: ChatEvent(seq=seq, member_id="m", text=text, at=0)

    async with engine.transaction() as tx:
        before = {sid: (await tx.emit(sid, chat("first"))).seq for sid in ids}
    async with engine.transaction() as tx:
        together = await tx.emit_many(
            {ids[0]: [chat("a"), chat("b")], ids[1]: [chat("c"), chat("d")], ids[2]: [chat("e")]}
        )
    assert {sid: [event.seq for event in events] for sid, events in together.items()} == {
        ids[0]: [before[ids[0]] + 1, before[ids[0]] + 2],
        ids[1]: [before[ids[1]] + 1, before[ids[1]] + 2],
        ids[2]: [before[ids[2]] + 1],
    }
    async with engine.transaction() as tx:
        after = {sid: (await tx.emit(sid, chat("last"))).seq for sid in ids}
    assert after == {
        ids[0]: before[ids[0]] + 3,
        ids[1]: before[ids[1]] + 3,
        ids[2]: before[ids[2]] + 2,
    }
