"""The connection's send side: bounded queues, slow consumers, orderly ends (no sockets needed)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence

import msgspec
import pytest

from realtime.connection import (
    ABORT_AFTER_S,
    CloseCode,
    Connection,
    ConnectionLimits,
    Connections,
    Member,
    WelcomePlan,
    _Commands,
    _Pipeline,
    serve_connection,
)
from realtime.protocol import Ack, Chat, ClientMessage, ErrorEvent, Hello, Reaction, encode
from realtime.room import Outbound


def one(seq: int, text: str) -> Outbound:
    """What a room hands over for a single event."""
    return Outbound.of([(seq, text)])


class StuckTransport:
    """A peer that never reads: every send blocks."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed: tuple[int, str] | None = None
        self.aborted = False
        self.release = asyncio.Event()

    async def receive(self) -> str | bytes | None:
        await self.release.wait()
        return None

    def try_send(self, text: str) -> bool:
        return False

    def try_send_all(self, texts: Sequence[str]) -> bool:
        return False

    async def send(self, text: str) -> None:
        await self.release.wait()
        self.sent.append(text)

    async def close(self, code: int, reason: str = "") -> None:
        self.closed = (code, reason)

    def buffered(self) -> int:
        return 0

    def abort(self) -> None:
        self.aborted = True


class FastTransport(StuckTransport):
    async def send(self, text: str) -> None:
        self.sent.append(text)


async def test_a_slow_consumer_is_closed_with_resume_and_never_buffers_without_bound() -> None:
    transport = StuckTransport()
    conn = Connection(transport, Member("s", "m"), queue_size=8)
    conn.go_live(0)
    for seq in range(1, 50):
        conn.deliver(one(seq, f'{{"seq":{seq}}}'))
    await asyncio.sleep(0.05)
    assert transport.closed is not None and transport.closed[0] == CloseCode.RESUME
    assert conn.closed and conn.backlog <= 8
    conn.deliver(one(99, "ignored after close"))
    await conn.flush_and_stop(timeout=0.1)


async def test_events_before_going_live_are_held_then_deduplicated() -> None:
    transport = FastTransport()
    conn = Connection(transport, Member("s", "m"), queue_size=64)
    conn.deliver(one(3, "three"))
    conn.deliver(one(0, "ephemeral"))
    conn.deliver(one(4, "four"))
    conn.send("welcome")
    conn.go_live(3)  # the welcome already covers seq 3
    conn.deliver(one(4, "four again"))
    conn.deliver(one(5, "five"))
    await conn.flush_and_stop()
    assert transport.sent == ["welcome", "ephemeral", "four", "five"]


async def test_end_closes_gone_after_what_is_queued() -> None:
    transport = FastTransport()
    conn = Connection(transport, Member("s", "m"), queue_size=64)
    conn.go_live(0)
    conn.deliver(one(1, "member.left"))
    conn.end("you left the session")
    conn.end("twice is harmless")
    await asyncio.sleep(0.05)
    assert transport.sent == ["member.left"]
    assert transport.closed == (CloseCode.GONE, "you left the session")
    await conn.flush_and_stop()


async def test_a_socket_that_keeps_up_gets_each_frame_at_once_without_a_task() -> None:
    transport = FastTransport()
    conn = Connection(transport, Member("s", "m"), queue_size=4)
    conn.go_live(0)
    tasks = len(asyncio.all_tasks())
    for seq in range(1, 101):
        conn.deliver(one(seq, str(seq)))
    assert transport.sent == [str(seq) for seq in range(1, 101)]  # no await in between
    assert len(asyncio.all_tasks()) == tasks and conn.backlog == 0 and not conn.closed


class WritingTransport(FastTransport):
    """A socket that keeps up and records each write (a list of frames written together)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[list[str]] = []

    def try_send(self, text: str) -> bool:
        self.writes.append([text])
        return True

    def try_send_all(self, texts: Sequence[str]) -> bool:
        self.writes.append(list(texts))
        return True


async def test_events_handed_over_together_go_out_in_one_write() -> None:
    transport = WritingTransport()
    conn = Connection(transport, Member("s", "m"), queue_size=4)
    conn.go_live(0)
    conn.deliver(Outbound.of([(1, "one"), (0, "presence"), (2, "two")]))
    conn.deliver(one(3, "three"))
    assert transport.writes == [["one", "presence", "two"], ["three"]]
    assert conn.last_seq == 3


async def test_a_batch_overlapping_the_replay_skips_what_the_client_has() -> None:
    transport = WritingTransport()
    conn = Connection(transport, Member("s", "m"), queue_size=4)
    conn.deliver(Outbound.of([(4, "four"), (0, "presence"), (5, "five"), (6, "six")]))
    conn.go_live(5)  # the replay went up to 5
    conn.deliver(Outbound.of([(6, "six again"), (7, "seven")]))
    assert transport.writes == [["presence", "six"], ["seven"]]
    assert conn.last_seq == 7


async def test_a_batch_to_a_socket_that_pushes_back_waits_in_order_in_the_backlog() -> None:
    transport = PushBackTransport()
    conn = Connection(transport, Member("s", "m"), queue_size=8)
    conn.go_live(0)
    conn.deliver(Outbound.of([(1, "1"), (2, "2"), (3, "3")]))
    assert transport.sent == [] and conn.backlog == 2
    conn.deliver(Outbound.of([(4, "4"), (5, "5")]))
    transport.release.set()
    await conn.flush_and_stop()
    assert transport.sent == ["1", "2", "3", "4", "5"]


async def test_a_batch_over_the_backlog_closes_the_slow_consumer() -> None:
    transport = StuckTransport()
    conn = Connection(transport, Member("s", "m"), queue_size=4)
    conn.go_live(0)
    conn.deliver(Outbound.of([(seq, str(seq)) for seq in range(1, 10)]))
    await asyncio.sleep(0.01)
    assert conn.closed and conn.close_code == CloseCode.RESUME
    await conn.flush_and_stop(timeout=0.1)


class PushBackTransport(StuckTransport):
    """A socket whose buffer is full until ``release`` is set, then keeps up again."""

    async def send(self, text: str) -> None:
        if not self.release.is_set():
            await self.release.wait()
        self.sent.append(text)


async def test_frames_wait_in_order_while_the_socket_pushes_back_then_go_out_eagerly() -> None:
    transport = PushBackTransport()
    conn = Connection(transport, Member("s", "m"), queue_size=8)
    conn.go_live(0)
    for seq in range(1, 6):
        conn.deliver(one(seq, str(seq)))
    assert transport.sent == [] and conn.backlog == 4
    transport.release.set()
    await asyncio.sleep(0.01)
    assert transport.sent == ["1", "2", "3", "4", "5"] and conn.backlog == 0
    conn.deliver(one(6, "6"))
    assert transport.sent[-1] == "6"  # eager again
    await conn.flush_and_stop()
    assert not conn.closed


async def test_end_while_the_socket_pushes_back_closes_after_the_backlog() -> None:
    transport = PushBackTransport()
    conn = Connection(transport, Member("s", "m"), queue_size=8)
    conn.go_live(0)
    conn.deliver(one(1, "one"))
    conn.deliver(one(2, "session.ended"))
    conn.end("session ended")
    conn.deliver(one(3, "never sent"))
    assert transport.closed is None
    transport.release.set()
    await conn.flush_and_stop()
    assert transport.sent == ["one", "session.ended"]
    assert transport.closed == (CloseCode.GONE, "session ended")


async def test_no_frame_text_is_taken_for_a_close_while_the_socket_pushes_back() -> None:
    """The pending close is a field of its own: whatever a queued frame says, it is sent."""
    transport = PushBackTransport()
    conn = Connection(transport, Member("s", "m"), queue_size=8)
    conn.go_live(0)
    conn.deliver(one(1, "one"))
    conn.deliver(one(2, "\x00close:not a close"))
    conn.deliver(one(3, "three"))
    transport.release.set()
    await asyncio.sleep(0.01)
    assert transport.sent == ["one", "\x00close:not a close", "three"]
    assert transport.closed is None and not conn.closed
    await conn.flush_and_stop()


class GoneTransport(StuckTransport):
    async def send(self, text: str) -> None:
        raise ConnectionResetError("the peer went away")


async def test_a_send_that_fails_at_once_marks_the_connection_closed() -> None:
    conn = Connection(GoneTransport(), Member("s", "m"), queue_size=8)
    conn.go_live(0)
    conn.deliver(one(1, "one"))
    conn.deliver(one(2, "two"))
    assert conn.closed and conn.backlog == 0
    await conn.flush_and_stop()


class FailLaterTransport(StuckTransport):
    async def send(self, text: str) -> None:
        await self.release.wait()
        raise ConnectionResetError("the peer went away")


async def test_a_send_that_fails_after_pushing_back_marks_the_connection_closed() -> None:
    transport = FailLaterTransport()
    conn = Connection(transport, Member("s", "m"), queue_size=8)
    conn.go_live(0)
    conn.deliver(one(1, "one"))
    conn.deliver(one(2, "two"))
    transport.release.set()
    await conn.flush_and_stop()
    assert conn.closed and conn.backlog == 0


async def test_stopping_a_stuck_flusher_is_bounded() -> None:
    transport = StuckTransport()
    conn = Connection(transport, Member("s", "m"), queue_size=8)
    conn.go_live(0)
    conn.deliver(one(1, "one"))
    await asyncio.wait_for(conn.flush_and_stop(timeout=0.05), 1)
    assert transport.sent == []


class HeldGateway:
    """Chat is batched (one queue); every command waits for ``release``."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release = asyncio.Event()

    def queue_of(self, command: ClientMessage) -> object | None:
        return "chat" if isinstance(command, Chat) else None

    def submit(self, member: Member, command: ClientMessage) -> Awaitable[Ack | ErrorEvent | None]:
        return self.handle(member, command)

    async def handle(self, member: Member, command: ClientMessage) -> Ack | ErrorEvent | None:
        label = command.text if isinstance(command, Chat) else type(command).__name__
        self.started.append(label)
        await self.release.wait()
        if isinstance(command, Chat) and command.text == "gone":
            return ErrorEvent(code="not_a_member", message="You left.", id=command.id)
        command_id = getattr(command, "id", None)
        return Ack(id=command_id, seq=len(self.started)) if command_id else None


def _commands(limit: int = 16) -> tuple[_Commands, HeldGateway, FastTransport, Connection]:
    transport = FastTransport()
    conn = Connection(transport, Member("s", "m"), queue_size=64)
    conn.go_live(0)
    gateway = HeldGateway()
    limits = ConnectionLimits(pipelined_commands=limit)
    return _Commands(conn, gateway, limits, _Pipeline(conn)), gateway, transport, conn  # type: ignore[arg-type]


def _chat(text: str) -> str:
    return encode(Chat(text=text, id=text)).decode()


async def test_batched_commands_are_pipelined_and_others_wait_for_them() -> None:
    commands, gateway, transport, _ = _commands()
    for text in ("a", "b", "c"):
        await commands.take(_chat(text))  # returns at once: applied in the background
    await asyncio.sleep(0)
    assert gateway.started == ["a", "b", "c"]
    reaction = asyncio.create_task(commands.take(encode(Reaction(emoji="🍿")).decode()))
    await asyncio.sleep(0.01)
    assert gateway.started == ["a", "b", "c"] and not reaction.done()  # waits for the chats
    gateway.release.set()
    await reaction
    assert gateway.started == ["a", "b", "c", "Reaction"]
    assert [msgspec.json.decode(f)["id"] for f in transport.sent] == ["a", "b", "c"]
    await commands.pipeline.settle()


async def test_pipelining_is_bounded_per_connection() -> None:
    commands, gateway, _, _ = _commands(limit=2)
    await commands.take(_chat("a"))
    await commands.take(_chat("b"))
    third = asyncio.create_task(commands.take(_chat("c")))
    await asyncio.sleep(0.01)
    assert gateway.started == ["a", "b"] and not third.done()
    gateway.release.set()
    await third
    await commands.pipeline.settle()
    assert gateway.started == ["a", "b", "c"]


async def test_an_answer_that_ends_the_seat_stops_the_commands_behind_it() -> None:
    commands, gateway, transport, conn = _commands()
    await commands.take(_chat("gone"))
    later = asyncio.create_task(commands.take(encode(Reaction(emoji="🍿")).decode()))
    gateway.release.set()
    await later
    assert conn.closed and conn.close_code == CloseCode.GONE
    assert gateway.started == ["gone"]  # the reaction was never applied
    assert msgspec.json.decode(transport.sent[0])["code"] == "not_a_member"
    await conn.flush_and_stop()


@pytest.mark.parametrize(
    ("frame", "expected_id"),
    [
        ('{"type":"vote","id":"x3","round_id":"r","film_id":"f","choice":"maybe"}', "x3"),
        ('{"type":"playback","id":"p1","action":"warp"}', "p1"),
        ('{"type":"teleport","id":"t1"}', "t1"),
        ('{"id":"n1"}', "n1"),
        ('{"type":"chat","text":"hi","id":""}', ""),  # an invalid id is still the client's id
        ('{"type":"chat","text":"hi","id":' + '"' + "i" * 65 + '"}', "i" * 65),
        ('{"type":"playback","action":"warp","id":7}', None),
        ('{"type":"playback","action":"warp","id":null}', None),
        ('{"type":"playback","action":"warp"}', None),
        ('[{"id":"a1"}]', None),
        ('"x3"', None),
        ('{"type":"vote","id":"x3",', None),
        (b'{"type":"chat","text":"hi","id":"b1"}', "b1"),  # binary, refused as such
    ],
)
async def test_a_refused_frame_gets_one_bad_message_naming_its_string_id(
    frame: str | bytes, expected_id: str | None
) -> None:
    commands, gateway, transport, _ = _commands()
    await commands.take(frame)
    assert gateway.started == []
    [reply] = [msgspec.json.decode(f) for f in transport.sent]
    assert (reply["type"], reply["code"], reply["id"]) == ("error", "bad_message", expected_id)


async def test_a_command_over_the_rate_gets_rate_limited_with_its_id_and_a_retry_time() -> None:
    transport = FastTransport()
    conn = Connection(transport, Member("s", "m"), queue_size=64)
    conn.go_live(0)
    gateway = HeldGateway()
    gateway.release.set()
    limits = ConnectionLimits(commands_per_second=1, command_burst=2)
    commands = _Commands(conn, gateway, limits, _Pipeline(conn))  # type: ignore[arg-type]
    for frame in (_chat("a"), _chat("b"), _chat("c"), '{"type":"chat","text":"x","id":9}'):
        await commands.take(frame)
    await commands.pipeline.settle()
    replies = sorted(
        (msgspec.json.decode(f) for f in transport.sent), key=lambda r: (r["type"], r["id"] or "")
    )
    assert [(r["type"], r["id"]) for r in replies] == [
        ("ack", "a"),
        ("ack", "b"),
        ("error", None),
        ("error", "c"),
    ]
    for refused in replies[2:]:
        assert refused["code"] == "rate_limited"
        assert 0 < refused["retry_after_ms"] <= 1001


class ScriptedTransport(FastTransport):
    """Frames from a list, then nothing until more are added; records the order of
    everything sent and the close."""

    def __init__(self, frames: list[str]) -> None:
        super().__init__()
        self.frames = frames
        self.more = asyncio.Event()
        self.log: list[str] = []

    async def receive(self) -> str | bytes | None:
        while not self.frames:
            self.more.clear()
            await self.more.wait()
        return self.frames.pop(0)

    async def send(self, text: str) -> None:
        self.log.append(msgspec.json.decode(text).get("id") or text)

    def try_send(self, text: str) -> bool:
        self.log.append(msgspec.json.decode(text).get("id") or text)
        return True

    async def close(self, code: int, reason: str = "") -> None:
        self.log.append(f"close {code} {reason}")


class LiveGateway(HeldGateway):
    async def authenticate(self, session_id: str, token: str) -> Member:
        return Member(session_id, "m")

    async def welcome(self, member: Member, last_seq: int | None) -> WelcomePlan:
        return WelcomePlan('{"type":"welcome"}', 0)

    async def connected(self, member: Member, conn_id: str) -> None:
        pass

    async def disconnected(self, member: Member, conn_id: str) -> None:
        pass


class OneRoom:
    def join(self, session_id: str, conn: Connection) -> OneRoom:
        return self

    def leave(self, session_id: str, conn: Connection) -> None:
        pass

    def baseline(self, seq: int) -> None:
        pass


async def test_a_restart_answers_the_commands_in_flight_then_closes_1012_reading_no_more() -> None:
    hello = encode(Hello(token="t")).decode()
    transport = ScriptedTransport([hello, _chat("a"), _chat("b")])
    gateway = LiveGateway()
    connections = Connections(stall_timeout_s=10)
    serving = asyncio.create_task(
        serve_connection(
            transport,
            "s",
            gateway,
            OneRoom(),  # type: ignore[arg-type]
            ConnectionLimits(),
            connections=connections,
        )
    )
    while gateway.started != ["a", "b"]:
        await asyncio.sleep(0.01)
    restarting = asyncio.create_task(connections.restart_all("come back", timeout=5))
    await asyncio.sleep(0.05)
    transport.frames.append(_chat("c"))  # read by nobody: the client sends it again later
    transport.more.set()
    assert not restarting.done(), "waits for the commands being applied"
    gateway.release.set()
    assert await restarting == 0
    assert await serving == CloseCode.SERVER_RESTART
    assert gateway.started == ["a", "b"]
    assert transport.log == ['{"type":"welcome"}', "a", "b", "close 1012 come back"]
    # A socket opened during the restart is sent away at once.
    late = ScriptedTransport([hello])
    code = await serve_connection(
        late,
        "s",
        gateway,
        OneRoom(),  # type: ignore[arg-type]
        ConnectionLimits(),
        connections=connections,
    )
    assert code == CloseCode.SERVER_RESTART and late.log == ["close 1012 come back"]


class BufferingTransport(FastTransport):
    """A socket whose transport holds ``held`` bytes the peer has not taken."""

    def __init__(self) -> None:
        super().__init__()
        self.held = 0

    def buffered(self) -> int:
        return self.held


async def test_a_socket_is_stalled_only_after_taking_nothing_for_the_whole_timeout() -> None:
    transport = BufferingTransport()
    conn = Connection(transport, Member("s", "m"), queue_size=8)
    conn.go_live(0)
    connections = Connections(stall_timeout_s=10)
    connections.add(conn)
    transport.held = 5000
    assert connections.check(0.0) == 0  # waiting starts now
    transport.held = 9000  # more added, nothing taken
    assert connections.check(9.9) == 0
    transport.held = 4000  # the peer took some: the clock starts again
    assert connections.check(12.0) == 0
    assert connections.check(21.9) == 0
    transport.held = 0  # all taken
    assert connections.check(23.0) == 0
    transport.held = 100
    assert connections.check(24.0) == 0
    assert connections.check(34.0) == 1  # ten seconds without a byte
    await asyncio.sleep(0.01)  # the close is attempted by a task
    assert transport.closed == (CloseCode.RESUME, "stalled: reconnect and resume")
    aborted_at_once = transport.aborted
    assert not aborted_at_once
    await asyncio.sleep(ABORT_AFTER_S + 0.1)
    assert transport.aborted  # the close could not get through: the socket is dropped
    connections.check(50.0)  # let go once only
    await conn.flush_and_stop()


class HelloOnlyTransport(ScriptedTransport):
    """Says hello, then goes away once ``leave`` is set."""

    def __init__(self, hello: str) -> None:
        super().__init__([hello])
        self.leave = asyncio.Event()

    async def receive(self) -> str | bytes | None:
        if self.frames:
            return self.frames.pop(0)
        await self.leave.wait()
        return None


class CountingGateway(LiveGateway):
    """Records who is being answered; every welcome waits for ``release``."""

    def __init__(self) -> None:
        super().__init__()
        self.order: list[str] = []
        self.answering = 0
        self.most = 0

    async def authenticate(self, session_id: str, token: str) -> Member:
        self.order.append(token)
        self.answering += 1
        self.most = max(self.most, self.answering)
        return Member(session_id, token)

    async def welcome(self, member: Member, last_seq: int | None) -> WelcomePlan:
        await self.release.wait()
        self.answering -= 1
        return WelcomePlan('{"type":"welcome"}', 0)


async def test_hellos_take_turns_in_arrival_order() -> None:
    """A reconnect storm: many hellos at once are answered a few at a time, first come
    first served, instead of all queueing for the database together."""
    gateway = CountingGateway()
    connections = Connections(stall_timeout_s=10, hellos_at_once=2)
    transports = [HelloOnlyTransport(encode(Hello(token=f"t{n}")).decode()) for n in range(5)]
    serving = []
    for transport in transports:
        serving.append(
            asyncio.create_task(
                serve_connection(
                    transport,
                    "s",
                    gateway,
                    OneRoom(),  # type: ignore[arg-type]
                    ConnectionLimits(),
                    connections=connections,
                )
            )
        )
        await asyncio.sleep(0)  # they arrive in this order
    for _ in range(20):
        await asyncio.sleep(0)
    assert gateway.order == ["t0", "t1"], "the others wait for a turn"
    gateway.release.set()
    while len(transports[-1].log) < 1:
        await asyncio.sleep(0.01)
    assert gateway.order == ["t0", "t1", "t2", "t3", "t4"] and gateway.most == 2
    assert all(t.log == ['{"type":"welcome"}'] for t in transports)
    for transport in transports:
        transport.leave.set()
    assert await asyncio.gather(*serving) == [CloseCode.NORMAL] * 5


async def test_a_hello_waiting_for_its_turn_when_a_restart_begins_is_sent_away() -> None:
    gateway = CountingGateway()
    connections = Connections(stall_timeout_s=10, hellos_at_once=1)
    first = HelloOnlyTransport(encode(Hello(token="t0")).decode())
    second = HelloOnlyTransport(encode(Hello(token="t1")).decode())
    limits = ConnectionLimits()
    serving = [
        asyncio.create_task(
            serve_connection(first, "s", gateway, OneRoom(), limits, connections=connections)  # type: ignore[arg-type]
        )
    ]
    while gateway.order != ["t0"]:
        await asyncio.sleep(0)
    serving.append(
        asyncio.create_task(
            serve_connection(second, "s", gateway, OneRoom(), limits, connections=connections)  # type: ignore[arg-type]
        )
    )
    for _ in range(10):
        await asyncio.sleep(0)
    restarting = asyncio.create_task(connections.restart_all("come back", timeout=5))
    gateway.release.set()
    assert await asyncio.gather(*serving) == [CloseCode.SERVER_RESTART] * 2
    assert await restarting == 0
    assert gateway.order == ["t0"], "never authenticated: sent away at its turn"
    assert second.log == ["close 1012 come back"]
