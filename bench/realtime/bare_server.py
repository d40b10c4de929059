"""The lower bound: a broadcast server with nothing between the event and the sockets.

Same wire shape as :mod:`bench.realtime.raw_server` (hello → welcome, a chat command
→ a chat event with ``seq`` to everyone in the room, an ack when the command has an
``id``), on uvloop. Each connection is a plain asyncio protocol around websockets'
sans-I/O ``ServerProtocol`` (the handshake, the members' masked frames); an event is
serialized once and the same bytes are handed to every member's transport in one
loop, which writes them with one system call each. No task, queue or library send
path per member, no database, no validation: what a fan-out costs here is the
kernel's work on loopback plus one Python call per member, and no Python server on
this machine delivers an event to a room for less. The benchmark shows it beside the
other two so that a latency figure can be read against what the machine allows.

Run: ``python -m bench.realtime.bare_server PORT``.
"""

from __future__ import annotations

import asyncio
import sys
from collections import defaultdict
from typing import cast

import msgspec
import uvloop
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol


class Command(msgspec.Struct):
    type: str
    text: str = ""
    id: str | None = None
    t: float | None = None


_decode = msgspec.json.Decoder(Command).decode
_encode = msgspec.json.encode

ROOMS: dict[str, set[Member]] = defaultdict(set)
SEQ: dict[str, int] = defaultdict(int)


def frame(event: dict[str, object]) -> bytes:
    return Frame(Opcode.TEXT, _encode(event)).serialize(mask=False)


class Member(asyncio.Protocol):
    def __init__(self) -> None:
        self.protocol = ServerProtocol(max_size=1 << 20)
        self.transport: asyncio.Transport | None = None
        self.room = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Request):
                self.room = event.path
                self.protocol.send_response(self.protocol.accept(event))
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self.command(_decode(event.data))
        self.flush()

    def eof_received(self) -> bool | None:
        self.protocol.receive_eof()
        self.flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        ROOMS[self.room].discard(self)

    def flush(self) -> None:
        assert self.transport is not None
        out = self.protocol.data_to_send()
        if not out or self.transport.is_closing():
            return
        if out[-1] == b"":  # the protocol asks for the TCP connection to be closed
            self.transport.writelines(out[:-1])
            self.transport.close()
        else:
            self.transport.writelines(out)

    def command(self, message: Command) -> None:
        assert self.transport is not None
        room = self.room
        if message.type == "hello":
            self.transport.write(frame({"type": "welcome", "seq": SEQ[room]}))
            ROOMS[room].add(self)
        elif message.type == "chat":
            SEQ[room] += 1
            seq = SEQ[room]
            event = frame({"type": "chat", "seq": seq, "text": message.text})
            for member in ROOMS[room]:
                if member.transport is not None and not member.transport.is_closing():
                    member.transport.write(event)
            if message.id:
                self.transport.write(frame({"type": "ack", "id": message.id, "seq": seq}))
        elif message.type == "ping":
            self.transport.write(frame({"type": "pong", "t": message.t}))


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Member, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1])))
