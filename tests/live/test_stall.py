"""A client that stops reading is let go: 4000 attempted, then its socket aborted.

The stalled client is a real TCP socket with a tiny receive buffer (``SO_RCVBUF``
set before connecting) that says hello, reads its welcome and never reads again,
in a room where the other members keep chatting and receiving.  The kernel on the
server's side takes the first MiB or so of what it is sent; after that, the
frames wait in the server's transport, and the server must give up on it.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

from realtime.connection import ABORT_AFTER_S
from server.app import create_app
from tests.conftest import LiveServer, make_settings, run_live
from tests.live.test_socket import http_create, http_join
from tests.support.wsclient import RawMember, connect_member

STALL_TIMEOUT_S = 1.0
SLACK_S = 10.0
"""How late the server may be on a machine busy with other work (the wait ends as soon as
the connection is gone; without the stall check it would stay until the 60 s idle timeout)."""
TEXT = "x" * 500  # the longest chat message: fewer messages fill the buffers


class StalledClient:
    """A WebSocket client on a raw socket whose reads the test controls."""

    def __init__(self, sock: socket.socket, protocol: ClientProtocol) -> None:
        self.sock = sock
        self.protocol = protocol

    @classmethod
    async def connect(cls, ws_url: str, session_id: str, token: str) -> StalledClient:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)  # before connect
        sock.setblocking(False)
        host, port = re.match(r"ws://([\d.]+):(\d+)", ws_url).groups()  # type: ignore[union-attr]
        await loop.sock_connect(sock, (host, int(port)))
        protocol = ClientProtocol(parse_uri(f"{ws_url}/ws/v1/sessions/{session_id}"))
        protocol.send_request(protocol.connect())
        client = cls(sock, protocol)
        await client._flush()
        assert isinstance(await client._next_event(), Response)
        protocol.send_text(json.dumps({"type": "hello", "token": token}).encode())
        await client._flush()
        while True:  # read up to the welcome, then stop reading for good
            event = await client._next_event()
            text = isinstance(event, Frame) and event.opcode is Opcode.TEXT
            if text and json.loads(event.data)["type"] == "welcome":
                return client

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        for data in self.protocol.data_to_send():
            if data:
                await loop.sock_sendall(self.sock, data)

    async def _next_event(self) -> Any:
        loop = asyncio.get_running_loop()
        while True:
            events = self.protocol.events_received()
            if events:
                return events[0]
            data = await asyncio.wait_for(loop.sock_recv(self.sock, 65536), 5)
            assert data, "the server closed before the welcome"
            self.protocol.receive_data(data)

    async def drain_to_end(self, timeout: float) -> str:
        """Read everything the server sent; how the TCP connection ended (``eof`` or
        ``reset``), or ``open`` when it was still open after ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while loop.time() < deadline:
                data = await asyncio.wait_for(
                    loop.sock_recv(self.sock, 1 << 20), max(0.01, deadline - loop.time())
                )
                if not data:
                    return "eof"
        except ConnectionResetError:
            return "reset"
        except TimeoutError:
            pass
        return "open"

    def close(self) -> None:
        self.sock.close()


async def open_connections(live: LiveServer) -> float:
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        text = (await http.get("/metrics")).text
    found = re.search(r"^filmnight_ws_connections (\S+)$", text, re.MULTILINE)
    assert found
    return float(found.group(1))


async def receive_chats(member: RawMember, count: int, timeout: float) -> list[str]:
    got: list[str] = []
    while len(got) < count:
        frame = await member.recv_type("chat", timeout=timeout)
        got.append(frame["text"])
    return got


@pytest.mark.parametrize(
    ("send_queue", "cause"), [(100_000, "no byte taken"), (64, "backlog overflow")]
)
async def test_a_client_that_stops_reading_is_closed_and_dropped_while_others_get_everything(
    tmp_path: Path, postgres_url: str, send_queue: int, cause: str
) -> None:
    settings = make_settings(
        tmp_path,
        postgres_url,
        ws_stall_timeout_s=STALL_TIMEOUT_S,
        ws_send_queue=send_queue,
        ws_commands_per_second=100_000.0,
        ws_command_burst=100_000,
        ws_pipelined_commands=64,
        chat_per_second=100_000.0,
        chat_burst=100_000,
    )
    async with run_live(create_app(settings), settings) as live:
        host = await http_create(live)
        seats = [host] + [await http_join(live, host["invite_code"], f"M{i}") for i in range(2)]
        members = [
            (await connect_member(live.ws_url, host["session_id"], seat["token"]))[0]
            for seat in seats
        ]
        stalled_seat = await http_join(live, host["invite_code"], "Stalled")
        stalled = await StalledClient.connect(
            live.ws_url, host["session_id"], stalled_seat["token"]
        )
        before = await open_connections(live)
        try:
            # Enough chat to fill the kernel's buffers on both sides and then some: the
            # rest waits in the server (the stalled client reads nothing from here on).
            total = 3600
            receivers = [asyncio.create_task(receive_chats(m, total, 20)) for m in members]
            sender = members[0]
            sent_at = time.monotonic()
            last_sent = sent_at
            for batch in range(0, total, 200):
                for i in range(batch, batch + 200):
                    await sender.send({"type": "chat", "text": f"{i:05d}{TEXT[5:]}"})
                last_sent = time.monotonic()
                await asyncio.sleep(0.05)
            got = await asyncio.gather(*receivers)
            # Every other member got every message, in order.
            expected = [f"{i:05d}" for i in range(total)]
            assert all([text[:5] for text in chats] == expected for chats in got)

            # The server lets the stalled one go: its connection count drops by one...
            deadline = last_sent + STALL_TIMEOUT_S + ABORT_AFTER_S + SLACK_S + 1.0
            while await open_connections(live) > before - 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            after = await open_connections(live)
            assert after == before - 1, f"{cause}: the stalled connection is still counted"
            # ...and its TCP connection is closed: once the client reads what the kernel
            # still held for it, the connection ends (the server's side is gone).
            ending = await stalled.drain_to_end(timeout=5)
            assert ending in {"eof", "reset"}, f"{cause}: the socket was still open"
            # The room goes on for the others.
            await sender.send({"type": "chat", "text": "after", "id": "after"})
            for member in members:
                chat = await member.recv_type("chat", timeout=5)
                assert chat["text"] == "after"
        finally:
            stalled.close()
            for member in members:
                await member.close()
