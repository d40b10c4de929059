"""The floor: a minimal broadcast server written directly on ``websockets``.

Same wire shape as filmnight for the benchmark's purposes (hello → welcome, a chat
command → a chat event with ``seq`` to everyone in the room), but no database, no
validation, no event log.  Run: ``python -m bench.realtime.raw_server PORT``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import defaultdict

import websockets
from websockets.asyncio.server import ServerConnection, broadcast

ROOMS: dict[str, set[ServerConnection]] = defaultdict(set)
SEQ: dict[str, int] = defaultdict(int)


async def handler(ws: ServerConnection) -> None:
    room = ws.request.path if ws.request else "/"
    await ws.recv()
    await ws.send(json.dumps({"type": "welcome", "seq": SEQ[room]}))
    ROOMS[room].add(ws)
    try:
        async for frame in ws:
            message = json.loads(frame)
            if message.get("type") == "chat":
                SEQ[room] += 1
                event = json.dumps({"type": "chat", "seq": SEQ[room], "text": message["text"]})
                broadcast(ROOMS[room], event)
                if message.get("id"):
                    await ws.send(
                        json.dumps({"type": "ack", "id": message["id"], "seq": SEQ[room]})
                    )
            elif message.get("type") == "ping":
                await ws.send(json.dumps({"type": "pong", "t": message.get("t")}))
    finally:
        ROOMS[room].discard(ws)


async def main(port: int) -> None:
    # The accept queue filmnight listens with (listen_backlog), not asyncio's 100: a
    # reconnect storm would otherwise measure this floor's SYN retries.
    async with websockets.serve(
        handler, "127.0.0.1", port, compression=None, max_queue=None, backlog=16384
    ):
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
