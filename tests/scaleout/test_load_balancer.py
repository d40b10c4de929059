"""HAProxy (the repository's deploy/haproxy.cfg) in front of two processes on one
PostgreSQL and one Redis: each process is restarted in turn while the members chat
and vote through the proxy, and nothing is lost, applied twice or skipped.

The issue asks for 200 members; ``FILMNIGHT_LB_MEMBERS`` sets how many (200 by
default).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from realtime.client import CommandFailed, FilmnightClient, Seat
from realtime.protocol import (
    ApprovalExplanation,
    Ballot,
    Chat,
    RoundResult,
    RoundStart,
    RoundStarted,
)
from tests.scaleout.test_restart import Seen, watch
from tests.support.haproxy import Proxy, haproxy
from tests.support.server_process import ServerProcess, server_process
from tests.support.services import free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(240)]

MEMBERS = int(os.environ.get("FILMNIGHT_LB_MEMBERS", "200"))
GRACE_S = 10.0


@dataclass
class Web:
    name: str
    port: int
    generation: int = 0
    server: ServerProcess | None = None


class Cluster:
    """Two filmnight processes whose each can be restarted on its port."""

    def __init__(self, tmp_path: Path, env: dict[str, str], stack: contextlib.ExitStack) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.stack = stack
        self.webs = [Web("web1", free_port()), Web("web2", free_port())]

    def start(self, web: Web) -> None:
        web.generation += 1
        web.server = self.stack.enter_context(
            server_process(self.tmp_path / f"{web.name}-{web.generation}", self.env, web.port)
        )

    def stop(self, web: Web) -> tuple[float, int]:
        assert web.server is not None
        started = time.monotonic()
        web.server.process.send_signal(signal.SIGTERM)
        status = web.server.process.wait(timeout=GRACE_S + 10)
        return time.monotonic() - started, status


@contextlib.contextmanager
def cluster(tmp_path: Path, postgres_url: str, redis_url: str) -> Iterator[tuple[Cluster, Proxy]]:
    env = {
        "FILMNIGHT_DATABASE_URL": postgres_url,
        "FILMNIGHT_REDIS_URL": redis_url,
        "FILMNIGHT_FORWARDED_ALLOW_IPS": "127.0.0.1",
        "FILMNIGHT_CHAT_BURST": "1000",
        "FILMNIGHT_JOINS_PER_MINUTE": "10000",
        "FILMNIGHT_SHUTDOWN_GRACE_S": str(GRACE_S),
        "FILMNIGHT_SHUTDOWN_DRAIN_S": "1.5",
        "FILMNIGHT_RESTART_RECONNECT_WINDOW_S": "3",
        "FILMNIGHT_PRESENCE_TTL_S": "5",
    }
    with contextlib.ExitStack() as stack:
        nodes = Cluster(tmp_path, env, stack)
        for web in nodes.webs:
            nodes.start(web)
        web1, web2 = (f"127.0.0.1:{web.port}" for web in nodes.webs)
        proxy = stack.enter_context(haproxy(tmp_path, web1, web2))
        proxy.wait_status({"web1": "UP", "web2": "UP"})
        yield nodes, proxy


class Member:
    def __init__(self, client: FilmnightClient, label: str) -> None:
        self.client = client
        self.label = label
        self.seen = Seen()
        self.chats: dict[str, int] = {}
        """Acknowledged chat messages and their ``seq``."""
        self.ballot: str | None = None
        """The film of the last acknowledged ballot."""

    async def act(self, round_id: str, films: list[str], stop: asyncio.Event) -> None:
        """Chat and re-vote (one approval, a different film each time) until ``stop``."""
        rng = random.Random(self.label)
        n = 0
        while not stop.is_set():
            await asyncio.sleep(rng.uniform(1.0, 4.0))
            text = f"{self.label}-{n}"
            ack = await self.client.send(Chat(text=text))
            self.chats[text] = ack.seqs[0]
            film = films[n % len(films)]
            await self.client.send(Ballot(round_id=round_id, ranking=[film]))
            self.ballot = film
            n += 1


async def _restart(nodes: Cluster, proxy: Proxy, web: Web, members: list[Member]) -> None:
    """SIGTERM one process; HAProxy must take it out before any member is sent away."""
    closes_before = {id(m): m.client.last_close for m in members}
    taken_out_at: list[float] = []
    first_close_at: list[float] = []

    async def observe() -> None:
        while not (taken_out_at and first_close_at):
            now = time.monotonic()
            if not taken_out_at and not proxy.status()[web.name].startswith("UP"):
                taken_out_at.append(now)
            if not first_close_at and any(
                m.client.last_close is not closes_before[id(m)] for m in members
            ):
                first_close_at.append(now)
            await asyncio.sleep(0.02)

    observer = asyncio.create_task(observe())
    took, status = await asyncio.to_thread(nodes.stop, web)
    assert status == 0 and took < GRACE_S + 1, (status, took)
    await asyncio.wait_for(observer, 10)
    assert taken_out_at[0] < first_close_at[0], "HAProxy drained it before its sockets closed"
    await asyncio.to_thread(nodes.start, web)
    await asyncio.to_thread(proxy.wait_status, {web.name: "UP"})


async def test_restarting_each_process_behind_haproxy_loses_nothing(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    with cluster(tmp_path, postgres_url, redis_url) as (nodes, proxy):
        base = proxy.base_url
        async with httpx.AsyncClient(base_url=base, timeout=20) as http:
            host = (await http.post("/api/v1/sessions", json={"host_name": "Host"})).json()
            auth = {"Authorization": f"Bearer {host['token']}"}
            films = []
            # Titles of their own: the film catalogue is shared by every test's sessions.
            tag = secrets.token_hex(4)
            for title in (f"Drain {tag} A", f"Drain {tag} B", f"Drain {tag} C"):
                nominated = await http.post(
                    f"/api/v1/sessions/{host['session_id']}/nominations",
                    json={"title": title, "year": 1980},
                    headers=auth,
                )
                assert nominated.status_code == 201, nominated.text
                films.append(nominated.json()["id"])
            seats = [Seat(base, host["session_id"], host["member_id"], host["token"])]
            for i in range(1, MEMBERS):
                joined = await http.post(
                    f"/api/v1/invites/{host['invite_code']}/join",
                    json={"name": f"m{i}", "bot": True},
                )
                assert joined.status_code == 201, joined.text
                data = joined.json()
                seats.append(Seat(base, data["session_id"], data["member_id"], data["token"]))
        members = [
            Member(FilmnightClient(seat, max_backoff_s=1.0, ack_timeout_s=60), f"m{i}")
            for i, seat in enumerate(seats)
        ]
        for start in range(0, len(members), 50):  # not all at once: a join storm is not the point
            await asyncio.gather(*(m.client.connect() for m in members[start : start + 50]))
        watchers = [asyncio.create_task(watch(m.client, m.seen)) for m in members]
        host_member, voters = members[0], members[1:]
        await asyncio.sleep(1.0)  # everyone shows online: all are eligible
        await host_member.client.send(
            RoundStart(mode="poll", method="approval", films=films, id="round")
        )
        started = await host_member.seen.next(RoundStarted)
        assert len(started.eligible) == MEMBERS

        stop = asyncio.Event()
        # The host only chats: the poll closes when everyone has voted, at the end.
        actors = [asyncio.create_task(m.act(started.round_id, films, stop)) for m in voters]
        await asyncio.sleep(3.0)
        for web in nodes.webs:
            await _restart(nodes, proxy, web, members)
            await asyncio.sleep(2.0)
        stop.set()
        await asyncio.gather(*actors)

        # Every member is back: resumed each time, never a fresh snapshot.
        deadline = time.monotonic() + 30
        acked = {text: seq for m in members for text, seq in m.chats.items()}
        while time.monotonic() < deadline and any(
            not acked.keys() <= m.seen.chats.keys() for m in members
        ):
            await asyncio.sleep(0.2)
        for m in members:
            assert len(m.seen.welcomes) >= 2, f"{m.label} was never sent away"
            assert all(w.resumed for w, _ in m.seen.welcomes[1:]), m.label
            seqs = m.seen.seqs
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"{m.label}: a gap"
            # Every acknowledged message, once, at its acknowledged seq.
            assert {text: m.seen.chats[text] for text in acked} == acked, m.label

        # The votes: the last acknowledged ballot of each member counts, once.
        with contextlib.suppress(CommandFailed):
            await host_member.client.send(Ballot(round_id=started.round_id, ranking=[films[0]]))
        result = await host_member.seen.next(RoundResult)
        assert isinstance(result.explanation, ApprovalExplanation)
        expected = dict.fromkeys(films, 0)
        expected[films[0]] += 1  # the host's
        for m in voters:
            assert m.ballot is not None, f"{m.label} never voted"
            expected[m.ballot] += 1
        assert result.explanation.ballots == MEMBERS
        assert result.explanation.approvals == expected

        for m in members:
            await m.client.close()
        for task in watchers:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
