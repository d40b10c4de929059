"""Direct frame writes: the right bytes, and only when uvicorn's own send would write."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import uvicorn
from structlog.testing import capture_logs
from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.streams import StreamReader
from websockets.uri import parse_uri

from server.live.wire import (
    THREADED_PASS,
    UVICORN_TESTED,
    Wire,
    frame_of,
    frames_of,
    release_handshake,
    sansio_protocol,
    write_pass,
)
from tests.support.pins import pinned_range

pytestmark = pytest.mark.both_loops  # production runs uvloop


def _read_as_client(data: bytes) -> list[str]:
    client = ClientProtocol(parse_uri("ws://127.0.0.1/x"), state=State.OPEN, max_size=None)
    client.receive_data(data)
    return [
        bytes(event.data).decode()
        for event in client.events_received()
        if isinstance(event, Frame) and event.opcode is Opcode.TEXT
    ]


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65_535, 65_536, 200_000])
def test_a_frame_carries_its_text_whatever_its_length(size: int) -> None:
    text = "é" * (size // 2) + "x" * (size % 2)
    assert _read_as_client(frame_of(text)) == [text]


def test_the_same_text_is_serialized_once_and_a_new_one_again() -> None:
    first = "".join(["hello", " room"])
    assert frame_of(first) is frame_of(first)
    other = "".join(["hello", " again"])
    assert _read_as_client(frame_of(other) + frame_of(first)) == [other, first]


def test_texts_handed_over_together_become_their_frames_in_one_buffer() -> None:
    texts = ("a", "é" * 200, "x" * 70_000)
    assert frames_of(texts) is frames_of(texts)
    assert _read_as_client(frames_of(texts)) == list(texts)
    assert _read_as_client(frames_of(["b", "c"])) == ["b", "c"]


class FakeTransport:
    def __init__(self, sock: socket.socket | None = None) -> None:
        self.written: list[bytes] = []
        self.closing = False
        self.buffered = 0
        self.sock = sock

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def get_extra_info(self, name: str, default: object = None) -> object:
        return self.sock if name == "socket" else default


def _protocol(sock: socket.socket | None = None, **state: Any) -> SimpleNamespace:
    writable = SimpleNamespace(is_set=lambda: state.get("writable", True))
    return SimpleNamespace(
        close_sent=state.get("close_sent", False),
        disconnected=state.get("disconnected", False),
        handshake_complete=state.get("handshake_complete", True),
        initial_response=state.get("initial_response"),
        writable=writable,
        conn=SimpleNamespace(state=state.get("conn_state", State.OPEN)),
        transport=FakeTransport(sock),
    )


def test_an_open_socket_with_room_takes_the_frame_directly() -> None:
    protocol = _protocol()
    assert Wire(protocol).write('{"type":"chat"}')
    assert _read_as_client(b"".join(protocol.transport.written)) == ['{"type":"chat"}']


@pytest.mark.parametrize(
    "state",
    [
        {"writable": False},
        {"close_sent": True},
        {"disconnected": True},
        {"handshake_complete": False},
        {"initial_response": (403, [], b"")},
        {"conn_state": State.CLOSING},
    ],
)
def test_anything_else_leaves_the_frame_to_the_asgi_path(state: dict[str, Any]) -> None:
    protocol = _protocol(**state)
    assert not Wire(protocol).write('{"type":"chat"}')
    assert protocol.transport.written == []


def test_a_closing_transport_is_left_alone() -> None:
    protocol = _protocol()
    protocol.transport.closing = True
    assert not Wire(protocol).write("x")
    assert not Wire(protocol).write_all(["x", "y"])
    assert protocol.transport.written == []


def test_several_frames_go_out_in_one_write_or_not_at_all() -> None:
    protocol = _protocol()
    assert Wire(protocol).write_all(["one", "two"])
    assert [_read_as_client(data) for data in protocol.transport.written] == [["one", "two"]]
    pushing_back = _protocol(writable=False)
    assert not Wire(pushing_back).write_all(["one", "two"])
    assert pushing_back.transport.written == []


def _uvicorn_protocol(app: Any = None) -> WebSocketsSansIOProtocol:
    async def nothing(scope: Any, receive: Any, send: Any) -> None:
        return None

    config = Config(app=app or nothing, ws="websockets-sansio")
    config.load()
    return WebSocketsSansIOProtocol(config=config, server_state=ServerState(), app_state={})


async def test_only_uvicorns_sansio_send_without_extensions_gets_a_wire() -> None:
    async with _connection() as (protocol, _peer):
        assert isinstance(Wire.of(protocol.send), Wire)

        async def other_send(message: Any) -> None:
            return None

        assert Wire.of(other_send) is None
        assert Wire.of(FakeTransport().write) is None
        protocol.conn.extensions = [object()]  # type: ignore[list-item]
        assert Wire.of(protocol.send) is None
    assert Wire.of(_uvicorn_protocol().send) is None  # not connected: no transport yet


@contextlib.asynccontextmanager
async def _connection(
    *, accept: bool = True, handshake: bool = True
) -> AsyncIterator[tuple[WebSocketsSansIOProtocol, socket.socket]]:
    """A real uvicorn protocol on a real loopback connection, and the peer's socket
    (a websockets client did the handshake). ``accept``: the app accepts it, or refuses."""
    done = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()  # websocket.connect
        await send({"type": "websocket.accept" if accept else "websocket.close"})
        await done.wait()

    loop = asyncio.get_running_loop()
    listener = socket.create_server(("127.0.0.1", 0))
    peer = socket.create_connection(listener.getsockname())
    ours, _ = listener.accept()
    listener.close()
    protocol = _uvicorn_protocol(app)
    await loop.connect_accepted_socket(lambda: protocol, ours)
    try:
        if handshake:
            client = ClientProtocol(parse_uri("ws://127.0.0.1/x"))
            client.send_request(client.connect())
            peer.sendall(b"".join(client.data_to_send()))
            await _until(lambda: protocol.handshake_complete)
        yield protocol, peer
    finally:
        done.set()
        protocol.transport.close()
        peer.close()
        await asyncio.gather(*protocol.tasks, return_exceptions=True)


async def _until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.001)


async def _app_closes(protocol: WebSocketsSansIOProtocol, peer: socket.socket) -> None:
    await protocol.send({"type": "websocket.close", "code": 1000})


async def _peer_closes(protocol: WebSocketsSansIOProtocol, peer: socket.socket) -> None:
    client = ClientProtocol(parse_uri("ws://127.0.0.1/x"), state=State.OPEN)
    client.send_close(1000)
    peer.sendall(b"".join(client.data_to_send()))
    await _until(lambda: protocol.conn.state is not State.OPEN)


async def _peer_breaks_the_protocol(
    protocol: WebSocketsSansIOProtocol, peer: socket.socket
) -> None:
    peer.sendall(b"\x81\x05hello")  # a client's frames must be masked
    await _until(lambda: protocol.close_sent)


async def _peer_goes_away(protocol: WebSocketsSansIOProtocol, peer: socket.socket) -> None:
    peer.shutdown(socket.SHUT_RDWR)
    await _until(lambda: protocol.disconnected)


async def _keepalive_times_out(protocol: WebSocketsSansIOProtocol, peer: socket.socket) -> None:
    protocol.keepalive_timeout()


async def _server_shuts_down(protocol: WebSocketsSansIOProtocol, peer: socket.socket) -> None:
    protocol.shutdown()


async def _transport_pushes_back(protocol: WebSocketsSansIOProtocol, peer: socket.socket) -> None:
    while protocol.writable.is_set():  # the peer reads nothing
        protocol.transport.write(b"\x81\x7e\xff\xff" + b"x" * 65_535)


@pytest.mark.parametrize(
    "happening",
    [
        _app_closes,
        _peer_closes,
        _peer_breaks_the_protocol,
        _peer_goes_away,
        _keepalive_times_out,
        _server_shuts_down,
        _transport_pushes_back,
    ],
)
async def test_in_a_pass_a_socket_uvicorn_would_not_write_to_gets_nothing(
    happening: Callable[[WebSocketsSansIOProtocol, socket.socket], Awaitable[None]],
) -> None:
    """The pass checks less than uvicorn's send (see ``Wire._write``): each way a real
    connection stops taking frames must still stop it."""
    async with _connection() as (protocol, peer):
        wire = Wire.of(protocol.send)
        assert wire is not None
        with write_pass():
            assert wire.write("while open")  # the control: an open socket takes it
        await happening(protocol, peer)
        with write_pass():  # False: neither collected nor written, left to the ASGI path
            assert not wire.write("after")
            assert not wire.write_all(["after", "again"])
        assert not wire.write("outside a pass")


@pytest.mark.parametrize("handshake", [False, True])
async def test_before_an_accepted_handshake_a_pass_writes_nothing(handshake: bool) -> None:
    async with _connection(accept=False, handshake=handshake) as (protocol, _peer):
        wire = Wire.of(protocol.send)
        assert wire is not None
        with write_pass():
            assert not wire.write("too early")
        assert protocol.conn.state is not State.OPEN


def _pairs(count: int) -> list[tuple[socket.socket, socket.socket]]:
    pairs = [socket.socketpair() for _ in range(count)]
    for ours, _ in pairs:
        ours.setblocking(False)
    return pairs


def _pending(peer: socket.socket) -> bytes:
    try:
        return peer.recv(1 << 20, socket.MSG_DONTWAIT)
    except BlockingIOError:
        return b""


@pytest.mark.parametrize("count", [3, THREADED_PASS + 5])
def test_a_pass_writes_every_frame_on_its_socket_when_it_ends(count: int) -> None:
    pairs = _pairs(count)
    protocols = [_protocol(ours) for ours, _ in pairs]
    try:
        with write_pass():
            for n, protocol in enumerate(protocols):
                assert Wire(protocol).write(f"event {n}")
                assert Wire(protocol).write_all([f"more {n}", "!"])
            assert all(_pending(peer) == b"" for _, peer in pairs)  # nothing yet
        for n, ((_, peer), protocol) in enumerate(zip(pairs, protocols, strict=True)):
            assert _read_as_client(_pending(peer)) == [f"event {n}", f"more {n}", "!"]
            assert protocol.transport.written == []
    finally:
        for ours, peer in pairs:
            ours.close()
            peer.close()


def test_what_a_socket_does_not_take_goes_to_its_transport_in_order() -> None:
    (ours, peer), (other, other_peer) = _pairs(2)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    slow, fine = _protocol(ours), _protocol(other)
    texts = [c * 300_000 for c in "abc"]
    try:
        with write_pass():
            for text in texts:
                assert Wire(slow).write(text)
            assert Wire(fine).write("fine")
        taken = b""
        while chunk := _pending(peer):
            taken += chunk
        assert slow.transport.written  # the rest waits in the transport, in order
        assert _read_as_client(taken + b"".join(slow.transport.written)) == texts
        assert _read_as_client(_pending(other_peer)) == ["fine"]
    finally:
        for s in (ours, peer, other, other_peer):
            s.close()


def test_a_gone_peer_or_a_buffered_transport_leaves_the_bytes_to_the_transport() -> None:
    (gone, gone_peer), (busy, busy_peer) = _pairs(2)
    gone_peer.close()
    lost, buffered = _protocol(gone), _protocol(busy)
    buffered.transport.buffered = 10  # bytes already wait there: ours go behind them
    try:
        with write_pass():
            assert Wire(lost).write("to nobody")
            assert Wire(buffered).write("behind")
            assert _read_as_client(b"".join(buffered.transport.written)) == ["behind"]
            with write_pass():  # nested: the outer pass writes
                assert Wire(lost).write("again")
            assert lost.transport.written == []
        assert _read_as_client(b"".join(lost.transport.written)) == ["to nobody", "again"]
        assert _pending(busy_peer) == b""
    finally:
        for s in (gone, busy, busy_peer):
            s.close()


async def test_each_loop_is_the_one_named(request: pytest.FixtureRequest) -> None:
    loop_name = request.node.callspec.id  # "asyncio" or "uvloop"
    assert type(asyncio.get_running_loop()).__module__.split(".")[0] == loop_name


@contextlib.contextmanager
def _fresh_check() -> Iterator[None]:
    """Run :func:`sansio_protocol`'s once-per-process check again inside (and after)."""
    sansio_protocol.cache_clear()
    try:
        yield
    finally:
        sansio_protocol.cache_clear()


@pytest.mark.parametrize("version", ["0.34.3", "0.55.0", "1.0.0", ""])
async def test_an_untested_uvicorn_gets_no_wire_and_says_so_once(
    version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _connection() as (protocol, _peer):
        with _fresh_check(), capture_logs() as logs:
            assert Wire.of(protocol.send) is not None  # the control: the tested version
            sansio_protocol.cache_clear()
            monkeypatch.setattr(uvicorn, "__version__", version)
            assert Wire.of(protocol.send) is None
            assert Wire.of(protocol.send) is None
    assert [log["reason"] for log in logs if log["event"] == "wire.off"] == [
        "untested uvicorn version"
    ]


async def test_without_uvicorns_private_module_there_is_no_wire(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with _connection() as (protocol, _peer):
        with _fresh_check():
            monkeypatch.setitem(
                sys.modules, "uvicorn.protocols.websockets.websockets_sansio_impl", None
            )
            assert sansio_protocol() is None
            assert Wire.of(protocol.send) is None


@pytest.mark.parametrize("renamed", ["writable", "initial_response", "conn"])
async def test_a_protocol_missing_an_attribute_the_wire_reads_gets_no_wire(renamed: str) -> None:
    async with _connection() as (protocol, _peer):
        kept = getattr(protocol, renamed)
        delattr(protocol, renamed)
        try:
            assert Wire.of(protocol.send) is None
        finally:
            setattr(protocol, renamed, kept)
        assert Wire.of(protocol.send) is not None


async def test_a_tls_transport_gets_no_wire() -> None:
    async with _connection() as (protocol, _peer):
        real = protocol.transport
        for extra in ("sslcontext", "ssl_object"):
            protocol.transport = _WithExtra(real, extra)  # type: ignore[assignment]
            assert Wire.of(protocol.send) is None
        protocol.transport = real
        assert Wire.of(protocol.send) is not None


class _WithExtra:
    """A transport that reports ``extra`` (as a TLS transport reports its context)."""

    def __init__(self, transport: Any, extra: str) -> None:
        self._transport = transport
        self._extra = extra

    def get_extra_info(self, name: str, default: object = None) -> object:
        if name == self._extra:
            return object()
        return self._transport.get_extra_info(name, default)


class _Renamed:
    """An object whose attributes moved (as after a uvicorn upgrade)."""


class _BrokenSocket:
    def fileno(self) -> int:
        raise OSError(9, "Bad file descriptor")


@pytest.mark.parametrize("breakage", ["renamed", "os_error"])
@pytest.mark.parametrize("in_pass", [False, True])
async def test_a_failing_wire_turns_itself_off_and_leaves_frames_to_the_asgi_path(
    breakage: str, in_pass: bool
) -> None:
    ((ours, peer),) = _pairs(1)
    protocol = _protocol(ours)
    transport = protocol.transport
    wire = Wire(protocol)
    if breakage == "renamed":
        wire._conn = _Renamed()
    else:
        transport.sock = _BrokenSocket()
        transport.write = _raise_os_error
    try:
        with write_pass() if in_pass else contextlib.nullcontext():
            assert not wire.write("lost?")  # False: the caller sends it through ASGI
            assert not wire.write_all(["a", "b"])
        transport.sock = ours  # the cause is gone
        transport.write = FakeTransport.write.__get__(transport)
        with write_pass() if in_pass else contextlib.nullcontext():
            assert not wire.write("still off")  # for good: this connection stays on ASGI
            assert Wire(protocol).write("control")  # a healthy wire on it writes
        written = _pending(peer) + b"".join(transport.written)
        assert _read_as_client(written) == ["control"]
    finally:
        ours.close()
        peer.close()


def _raise_os_error(data: bytes) -> None:
    raise OSError(32, "Broken pipe")


def test_a_transport_that_fails_at_the_end_of_a_pass_is_aborted_and_the_rest_written() -> None:
    pairs = _pairs(3)
    pairs[1][0].setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    protocols = [_protocol(ours) for ours, _ in pairs]
    failing = protocols[1].transport  # its socket takes part; the rest fails in the transport
    failing.write = _raise_os_error
    aborted: list[bool] = []
    failing.abort = lambda: aborted.append(True)
    texts = ["event 0", "x" * 300_000, "event 2"]
    try:
        with write_pass():
            for protocol, text in zip(protocols, texts, strict=True):
                assert Wire(protocol).write(text)
        assert aborted == [True]  # its client reconnects and resumes
        assert _read_as_client(_pending(pairs[0][1])) == ["event 0"]
        assert _read_as_client(_pending(pairs[2][1])) == ["event 2"]
    finally:
        for ours, peer in pairs:
            ours.close()
            peer.close()


def test_pyproject_pins_the_tested_range() -> None:
    assert pinned_range("uvicorn") == UVICORN_TESTED


def _requests_held_by(parser: Any) -> list[Request]:
    """The handshake requests a parser's suspended frames (its own and those it
    delegates to) hold."""
    held: list[Request] = []
    while parser is not None:
        frame = getattr(parser, "gi_frame", None)
        if frame is not None:
            held += [value for value in frame.f_locals.values() if isinstance(value, Request)]
        parser = getattr(parser, "gi_yieldfrom", None)
    return held


def _masked(text: str) -> bytes:
    client = ClientProtocol(parse_uri("ws://127.0.0.1/x"), state=State.OPEN)
    client.send_text(text.encode())
    return b"".join(client.data_to_send())


async def _received(protocol: WebSocketsSansIOProtocol) -> list[str]:
    texts: list[str] = []
    await _until(lambda: not protocol.queue.empty())
    while not protocol.queue.empty():
        message = protocol.queue.get_nowait()
        if message["type"] == "websocket.receive":
            texts.append(str(message["text"]))
    return texts


async def test_after_the_accept_the_parser_lets_the_handshake_request_go() -> None:
    async with _connection() as (protocol, peer):
        await _until(lambda: protocol.conn.state is State.OPEN)
        assert _requests_held_by(protocol.conn.parser)  # websockets' own parser holds it
        assert protocol.scope["headers"]
        release_handshake(protocol.send)
        assert getattr(protocol, "request", None) is None
        assert protocol.scope["headers"] == []  # the app's scope: the same dict
        assert _requests_held_by(protocol.conn.parser) == []
        frames = _masked("hello") + _masked("é" * 300)
        peer.sendall(frames[:3])  # frames still arrive whole, split anywhere
        await asyncio.sleep(0.01)
        peer.sendall(frames[3:])
        await _until(lambda: protocol.queue.qsize() >= 2)
        assert await _received(protocol) == ["hello", "é" * 300]


async def test_mid_frame_the_parser_is_left_as_it_is() -> None:
    async with _connection() as (protocol, peer):
        await _until(lambda: protocol.conn.state is State.OPEN)
        frame = _masked("hello")
        peer.sendall(frame[:4])  # the header read, the rest not yet here
        parser: Any = protocol.conn.parser
        at_eof = StreamReader.at_eof.__code__
        await _until(lambda: parser.gi_yieldfrom.gi_yieldfrom.gi_code is not at_eof)
        release_handshake(protocol.send)
        assert protocol.conn.parser is parser
        peer.sendall(frame[4:])
        assert await _received(protocol) == ["hello"]
