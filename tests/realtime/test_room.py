"""Rooms: strict seq order, gap filling from the log, catching up on lost publishes."""

from __future__ import annotations

import asyncio

from prometheus_client import REGISTRY

from realtime.framing import EPHEMERAL, EVENT, MEMBER_LEFT, SESSION_ENDED, channel_for, pack
from realtime.hub import MemoryHub
from realtime.room import Outbound, Room, Rooms


def _lingers(room: Room) -> bool:
    """Kept with no member, until its expiry (a call: mypy does not narrow it)."""
    return room.expiry is not None


class FakeLog:
    def __init__(self) -> None:
        self.events: dict[str, list[tuple[int, bytes]]] = {}
        self.kinds: dict[tuple[str, int], int] = {}

    def add(self, session: str, seq: int, body: bytes | None = None, kind: int = EVENT) -> bytes:
        body = body or f'{{"type":"chat","seq":{seq}}}'.encode()
        self.events.setdefault(session, []).append((seq, body))
        self.kinds[session, seq] = kind
        return body

    async def logged_after(
        self, session_id: str, seq: int, limit: int = 10_000
    ) -> list[tuple[int, bytes, int]] | None:
        return [
            (s, b, self.kinds[session_id, s]) for s, b in self.events.get(session_id, []) if s > seq
        ][:limit]

    async def latest_seqs(self, session_ids: list[str]) -> dict[str, int]:
        return {s: max((q for q, _ in self.events.get(s, [])), default=0) for s in session_ids}


class Recorder:
    def __init__(self) -> None:
        self.member_id = "m"
        self.got: list[tuple[int, str]] = []
        self.batches: list[Outbound] = []
        self.ended: list[str] = []
        self.dropped: list[str] = []

    def deliver(self, batch: Outbound) -> None:
        self.batches.append(batch)
        self.got.extend(batch.events)

    def end(self, reason: str) -> None:
        self.ended.append(reason)

    def drop(self, reason: str) -> None:
        self.dropped.append(reason)


async def test_out_of_order_events_are_delivered_in_order_and_gaps_are_filled() -> None:
    hub, log = MemoryHub(), FakeLog()
    rooms = Rooms(hub, log, gap_timeout_s=0.05)
    recorder = Recorder()
    room = rooms.join("s1", recorder)
    room.baseline(0)
    channel = channel_for("s1")
    bodies = {seq: log.add("s1", seq) for seq in range(1, 6)}
    await hub.publish(channel, pack(2, bodies[2]))  # 1 is late
    await hub.publish(channel, pack(1, bodies[1]))
    await hub.publish(channel, pack(1, bodies[1]))  # duplicate
    await hub.publish(channel, pack(EPHEMERAL, b'{"type":"presence"}'))
    await hub.publish(channel, pack(5, bodies[5]))  # 3 and 4 never come through the hub
    assert [seq for seq, _ in recorder.got] == [1, 2, EPHEMERAL]
    await asyncio.sleep(0.15)  # the gap timer reads 3 and 4 from the log
    assert [seq for seq, _ in recorder.got] == [1, 2, EPHEMERAL, 3, 4, 5]
    await hub.publish(channel, b"x")  # garbage is dropped
    rooms.leave("s1", recorder)
    assert len(rooms) == 0


async def test_catch_up_heals_a_lost_publish_with_no_later_event() -> None:
    hub, log = MemoryHub(), FakeLog()
    rooms = Rooms(hub, log)
    recorder = Recorder()
    rooms.join("s1", recorder).baseline(0)
    rooms.join("s2", Recorder())  # no baseline yet: not checked
    assert await rooms.catch_up() == 0
    log.add("s1", 1)  # committed, but its publish was lost
    assert await rooms.catch_up() == 1
    assert [seq for seq, _ in recorder.got] == [1]
    assert await rooms.catch_up() == 0
    rooms.close()


async def test_departures_and_the_end_close_the_right_seats() -> None:
    hub, log = MemoryHub(), FakeLog()
    rooms = Rooms(hub, log)
    leaving, staying = Recorder(), Recorder()
    leaving.member_id, staying.member_id = "gone", "stays"
    room = rooms.join("s1", leaving)
    rooms.join("s1", staying)
    room.baseline(0)
    await hub.publish(
        channel_for("s1"),
        pack(1, b'{"type":"member.left","seq":1,"member_id":"gone"}', MEMBER_LEFT),
    )
    assert leaving.ended == ["you left the session"] and staying.ended == []
    await hub.publish(
        channel_for("s1"), pack(2, b'{"type":"session.ended","seq":2}', SESSION_ENDED)
    )
    assert staying.ended == ["session ended"]


async def test_only_the_kind_beside_the_text_ends_seats_never_the_text() -> None:
    """An event whose text merely looks like a departure ends nothing; one whose kind
    says so does, also when it comes from the log (a resync) instead of the hub."""
    hub, log = MemoryHub(), FakeLog()
    rooms = Rooms(hub, log, gap_timeout_s=0.01)
    member = Recorder()
    member.member_id = "gone"
    room = rooms.join("s1", member)
    room.baseline(0)
    lookalike = b'{"type":"member.left","seq":1,"member_id":"gone"}'
    await hub.publish(channel_for("s1"), pack(1, lookalike))
    await hub.publish(channel_for("s1"), pack(2, b'{"type":"session.ended","seq":2}'))
    assert [seq for seq, _ in member.got] == [1, 2] and member.ended == []
    log.add("s1", 3, b'{"type":"session.ended","seq":3}', SESSION_ENDED)
    await hub.publish(channel_for("s1"), pack(4, log.add("s1", 4)))  # 3 only in the log
    await asyncio.sleep(0.1)
    assert [seq for seq, _ in member.got] == [1, 2, 3, 4]
    assert member.ended == ["session ended"]
    rooms.close()


async def test_each_fan_out_is_timed_once_for_the_whole_room() -> None:
    def count() -> float:
        return REGISTRY.get_sample_value("filmnight_fanout_seconds_count") or 0.0

    hub, log = MemoryHub(), FakeLog()
    rooms = Rooms(hub, log)
    recorders = [Recorder() for _ in range(3)]
    for recorder in recorders:
        rooms.join("s1", recorder)
    rooms.get("s1").baseline(0)  # type: ignore[union-attr]
    before = count()
    await hub.publish(channel_for("s1"), pack(1, log.add("s1", 1)))
    await hub.publish(channel_for("s1"), pack(EPHEMERAL, b'{"type":"presence"}'))
    assert count() - before == 2
    assert all(len(r.got) == 2 for r in recorders)
    rooms.close()


async def test_events_published_together_reach_each_connection_together_in_order() -> None:
    hub, log = MemoryHub(), FakeLog()
    rooms = Rooms(hub, log, gap_timeout_s=0.05)
    recorders = [Recorder(), Recorder()]
    for recorder in recorders:
        rooms.join("s1", recorder)
    room = rooms.get("s1")
    assert room is not None
    room.baseline(0)
    bodies = {seq: log.add("s1", seq) for seq in range(1, 5)}
    channel = channel_for("s1")
    await hub.publish_many(
        channel,
        [pack(1, bodies[1]), pack(EPHEMERAL, b'{"type":"presence"}'), b"x", pack(2, bodies[2])],
    )
    await hub.publish_many(channel, [pack(4, bodies[4])])  # 3 is late: held back
    await hub.publish_many(channel, [])
    for recorder in recorders:
        assert [[seq for seq, _ in b.events] for b in recorder.batches] == [[1, EPHEMERAL, 2]]
    first = recorders[0].batches[0]
    assert first is recorders[1].batches[0]  # one object for the whole room
    assert (first.oldest, first.newest) == (1, 2)
    await hub.publish_many(channel, [pack(3, bodies[3])])
    assert [seq for seq, _ in recorders[0].batches[-1].events] == [3, 4]
    rooms.close()


class Failing(Recorder):
    def deliver(self, batch: Outbound) -> None:
        raise AttributeError("'WebSocketsSansIOProtocol' object has no attribute 'conn'")


async def test_a_recipient_that_fails_is_dropped_and_every_other_one_gets_every_event() -> None:
    hub, log = MemoryHub(), FakeLog()
    rooms = Rooms(hub, log)
    members = [Recorder() for _ in range(99)]
    failing = Failing()
    for recipient in [*members[:50], failing, *members[50:]]:
        rooms.join("s1", recipient)
    rooms.get("s1").baseline(0)  # type: ignore[union-attr]
    for seq in range(1, 6):
        await hub.publish(channel_for("s1"), pack(seq, log.add("s1", seq)))
    for member in members:
        assert [seq for seq, _ in member.got] == [1, 2, 3, 4, 5]
        assert member.dropped == []
    assert failing.dropped == ["delivery failed: reconnect and resume"] * 5  # resumes
    rooms.close()


async def test_a_room_keeps_its_last_events_and_answers_only_what_it_holds() -> None:
    hub, log = MemoryHub(), FakeLog()
    rooms = Rooms(hub, log, recent_events=3)
    room = rooms.join("s1", Recorder())
    assert room.recent_after(0) is None  # no position yet
    room.baseline(0)
    assert room.recent_after(0) == []
    channel = channel_for("s1")
    bodies = {seq: log.add("s1", seq) for seq in range(1, 6)}
    for seq in (1, 2, 4, 3, 5):  # 4 is held back until 3 comes
        await hub.publish(channel, pack(seq, bodies[seq]))
    await hub.publish(channel, pack(EPHEMERAL, b'{"type":"reaction"}'))
    texts = {seq: bodies[seq].decode() for seq in bodies}
    assert room.recent_after(2) == [(3, texts[3]), (4, texts[4]), (5, texts[5])]
    assert room.recent_after(4) == [(5, texts[5])]
    assert room.recent_after(5) == []
    assert room.recent_after(1) is None  # 2 is no longer kept
    assert room.recent_after(6) is None  # past what the room delivered
    assert (room.version, room.ephemeral_version) == (6, 1)
    await rooms.resync_all()  # after a hub outage: what was lost may be ephemeral too
    assert room.ephemeral_version == 2
    rooms.close()


async def test_an_empty_room_lingers_following_its_events_then_goes() -> None:
    hub, log = MemoryHub(), FakeLog()
    rooms = Rooms(hub, log, linger_s=0.1, recent_events=8)
    first = Recorder()
    room = rooms.join("s1", first)
    room.baseline(0)
    rooms.leave("s1", first)
    assert rooms.get("s1") is room and _lingers(room)
    await hub.publish(channel_for("s1"), pack(1, log.add("s1", 1)))
    assert room.next_seq == 2 and [seq for seq, _ in room.recent] == [1]
    await asyncio.sleep(0.06)
    back = Recorder()
    assert rooms.join("s1", back) is room and not _lingers(room)  # back in time: kept
    await asyncio.sleep(0.08)
    assert rooms.get("s1") is room
    rooms.leave("s1", back)
    await asyncio.sleep(0.15)
    assert rooms.get("s1") is None and len(rooms) == 0
    await hub.publish(channel_for("s1"), pack(2, log.add("s1", 2)))  # no longer followed
    assert room.next_seq == 2
    assert rooms.join("s1", Recorder()) is not room
    rooms.close()
