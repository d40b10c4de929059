"""A graceful restart of a real ``filmnight serve``: SIGTERM, 1012 with a window, exit 0,
a new process on the same database, every member back by itself with nothing lost."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from realtime.client import FilmnightClient, Seat
from realtime.protocol import Ack, Chat, ChatEvent, ServerMessage, Welcome
from tests.support.server_process import ServerProcess, server_process
from tests.support.services import free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

T = TypeVar("T")
GRACE_S = 8.0
WINDOW_S = 1.0


@dataclass
class Seen:
    """What one member's client handed to the application."""

    seqs: list[int] = field(default_factory=list)
    chats: dict[str, int] = field(default_factory=dict)
    """Each chat message's text and ``seq`` (a duplicate fails the watcher)."""
    welcomes: list[tuple[Welcome, int]] = field(default_factory=list)
    """Each welcome, with how many events had arrived before it."""
    events: list[ServerMessage] = field(default_factory=list)
    """Everything, in order."""

    async def next(self, kind: type[T], timeout: float = 20.0) -> T:
        """The first event of ``kind`` seen (waiting for it up to ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events:
                if isinstance(event, kind):
                    return event
            await asyncio.sleep(0.05)
        raise TimeoutError(kind.__name__)


async def watch(client: FilmnightClient, seen: Seen) -> None:
    async for event in client.events():
        seen.events.append(event)
        if isinstance(event, Welcome):
            seen.welcomes.append((event, len(seen.seqs)))
            continue
        seq = getattr(event, "seq", None)
        # An ack's seq names the events it caused, not a position (a command resent
        # across a reconnect may be answered twice; the client passes the second on).
        if isinstance(seq, int) and not isinstance(event, Ack):
            seen.seqs.append(seq)
        if isinstance(event, ChatEvent):
            assert event.text not in seen.chats, f"{event.text} twice"
            seen.chats[event.text] = event.seq


async def chatter(client: FilmnightClient, label: str, acked: dict[str, int], stop: asyncio.Event):
    n = 0
    while not stop.is_set():
        text = f"{label}-{n}"
        ack = await client.send(Chat(text=text))  # resent by the client across the restart
        assert ack.seqs, text
        acked[text] = ack.seqs[0]
        n += 1
        await asyncio.sleep(0.02)


def _env(postgres_url: str) -> dict[str, str]:
    return {
        "FILMNIGHT_DATABASE_URL": postgres_url,
        "FILMNIGHT_CHAT_BURST": "1000",
        "FILMNIGHT_CHAT_PER_SECOND": "1000",
        "FILMNIGHT_SHUTDOWN_GRACE_S": str(GRACE_S),
        "FILMNIGHT_SHUTDOWN_DRAIN_S": "0.5",
        "FILMNIGHT_RESTART_RECONNECT_WINDOW_S": str(WINDOW_S),
    }


async def _seat(http: httpx.AsyncClient, base_url: str, code: str, name: str) -> Seat:
    response = await http.post(f"/api/v1/invites/{code}/join", json={"name": name, "bot": True})
    response.raise_for_status()
    data = response.json()
    return Seat(base_url, data["session_id"], data["member_id"], data["token"])


def stop_gracefully(server: ServerProcess) -> tuple[float, int]:
    """SIGTERM; how long the process took to exit, and its exit status."""
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    code = server.process.wait(timeout=GRACE_S + 10)
    return time.monotonic() - started, code


async def test_sigterm_sends_every_member_away_with_1012_and_they_all_resume_on_the_new_process(
    tmp_path: Path, postgres_url: str
) -> None:
    port = free_port()
    env = _env(postgres_url)
    with server_process(tmp_path / "first", env, port=port) as first:
        async with httpx.AsyncClient(base_url=first.base_url) as http:
            host = (await http.post("/api/v1/sessions", json={"host_name": "Host"})).json()
            seats = [
                await _seat(http, first.base_url, host["invite_code"], f"m{i}") for i in range(8)
            ]
        clients = [FilmnightClient(seat, max_backoff_s=0.5, ack_timeout_s=60) for seat in seats]
        await asyncio.gather(*(c.connect() for c in clients))
        seen = [Seen() for _ in clients]
        watchers = [asyncio.create_task(watch(c, s)) for c, s in zip(clients, seen, strict=True)]
        acked: dict[str, int] = {}
        stop = asyncio.Event()
        chatters = [
            asyncio.create_task(chatter(c, f"m{i}", acked, stop)) for i, c in enumerate(clients)
        ]
        await asyncio.sleep(1.0)
        assert acked, "the members chat"
        took, status = await asyncio.to_thread(stop_gracefully, first)
        # A bounded, clean exit: nothing killed it.
        assert status == 0, first.log()[-3000:]
        assert took < GRACE_S + 1.0
        assert '"server.draining"' in first.log()

    # Every member was told to come back, with the window to do it in.
    for client in clients:
        assert client.last_close is not None
        code, reason = client.last_close
        assert code == 1012
        assert json.loads(reason) == {"reason": "restart", "retry_ms": [100, int(WINDOW_S * 1000)]}
    acked_before = len(acked)

    with server_process(tmp_path / "second", env, port=port):
        # Nobody is told to reconnect: the clients come back by themselves.
        deadline = time.monotonic() + 20
        while any(len(s.welcomes) < 2 for s in seen) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert all(len(s.welcomes) == 2 for s in seen), [len(s.welcomes) for s in seen]
        await asyncio.sleep(1.0)  # and chat on the new process
        stop.set()
        await asyncio.gather(*chatters)
        assert len(acked) > acked_before
        # Wait for every acknowledged message to reach everyone.
        deadline = time.monotonic() + 20
        texts = set(acked)
        while any(not texts <= s.chats.keys() for s in seen) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        for client in clients:
            await client.close()
        for task in watchers:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    for member in seen:
        # Resumed (not a fresh snapshot) from the last event it had, gap-free.
        resumed, before = member.welcomes[1]
        assert resumed.resumed is True
        assert before > 0 and resumed.seq == member.seqs[before - 1]
        first_seq = member.seqs[0]
        assert member.seqs == list(range(first_seq, first_seq + len(member.seqs)))
        # Every acknowledged message arrived, once, at the seq its ack named.
        assert {text: member.chats[text] for text in acked} == acked
