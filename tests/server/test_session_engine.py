"""The engine publishes a transaction's events after the commit, each session's together."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence

import pytest

from realtime.framing import EPHEMERAL, channel_for, unpack
from realtime.protocol import ChatEvent, Presence
from server.db import sqlite_driver
from tests.conftest import LiveServer
from tests.live.test_socket import http_create
from tests.server.test_sqlite_driver import _Trips


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


async def test_an_in_place_transaction_runs_its_statements_with_no_trip_and_commits_as_any(
    live: LiveServer,
) -> None:
    """``transaction(in_place=True)``: on SQLite the statements between the BEGIN and
    the COMMIT make no trip to the driver's thread; on either database the events are
    committed and published, and a failure leaves nothing behind and no connection in
    place."""
    created = await http_create(live, "Ana")
    services = live.app.state.services
    session = uuid.UUID(created["session_id"])
    delivered: list[int] = []
    services.hub.subscribe(
        channel_for(created["session_id"]),
        lambda batch: delivered.extend(unpack(p)[0] for p in batch),
    )

    def chat(text: str) -> object:
        return lambda seq: ChatEvent(seq=seq, member_id="m", text=text, at=0)

    async with services.engine.transaction(in_place=True) as tx:
        driver = (await (await tx.db.connection()).get_raw_connection()).driver_connection
        on_sqlite = isinstance(driver, sqlite_driver.OneTripConnection)
        assert getattr(driver, "statements_in_place", False) is on_sqlite
        with _Trips(driver) if on_sqlite else contextlib.nullcontext() as trips:
            first = await tx.emit(session, chat("a"))
            await tx.emit_many({session: [chat("b"), chat("c")]})
            await tx.flush_rows()
        if trips is not None:
            assert trips.count == 0
    assert getattr(driver, "statements_in_place", False) is False
    assert delivered == [first.seq, first.seq + 1, first.seq + 2]
    logged = await services.engine.events_after(created["session_id"], first.seq - 1)
    assert [seq for seq, _ in logged or []] == delivered

    async def failing() -> None:
        async with services.engine.transaction(in_place=True) as tx:
            await tx.emit(session, chat("rolled back"))
            raise RuntimeError("the batch failed")

    with pytest.raises(RuntimeError):
        await failing()
    assert getattr(driver, "statements_in_place", False) is False
    assert await services.engine.events_after(created["session_id"], first.seq + 2) == []
    async with services.engine.transaction() as tx:  # the next one goes on as usual
        assert (await tx.emit(session, chat("d"))).seq == first.seq + 3
