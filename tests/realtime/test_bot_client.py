"""The Python bot client against the real server: join, typed events, acks, reconnect + resume."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import websockets
import websockets.asyncio.server

from realtime import client as client_module
from realtime.client import (
    RESTART_FAST_ATTEMPTS,
    RESTART_RETRY_CAP_S,
    CommandFailed,
    FilmnightClient,
    Seat,
    SeatLost,
    reconnect_delay,
    restart_window,
)
from realtime.connection import restart_reason
from realtime.protocol import Chat, ChatEvent, MemberJoined, Welcome
from tests.conftest import LiveServer
from tests.live.test_socket import http_create, http_join


async def test_a_bot_joins_by_invite_url_and_chats_with_acks(live: LiveServer) -> None:
    host = await http_create(live)
    invite_url = f"{live.base_url}/join/{host['invite_code']}"
    async with await FilmnightClient.join(invite_url, "Robo") as bot:
        assert isinstance(bot.welcome, Welcome)
        assert [m.name for m in bot.welcome.session.members] == ["Ana", "Robo"]
        assert bot.welcome.session.members[1].bot is True
        ack = await bot.send(Chat(text="beep"))
        event = await bot.next_event(ChatEvent)
        assert event.text == "beep" and event.seq == ack.seq
        with pytest.raises(CommandFailed) as refused:
            await bot.send(Chat(text="   "))
        assert refused.value.code == "chat_empty"
        # the clock estimate comes from ping/pong
        for _ in range(50):
            if bot.clock.rtt_ms is not None:
                break
            await asyncio.sleep(0.05)
        assert bot.clock.rtt_ms is not None
        # server and client share this machine's clock, so the estimated offset is about zero
        assert abs(bot.server_now_ms() - time.time() * 1000) < 1000


async def test_a_bot_can_join_by_code_and_base_url(live: LiveServer) -> None:
    host = await http_create(live)
    async with await FilmnightClient.join(
        host["invite_code"], "Robo", base_url=live.base_url
    ) as bot:
        assert bot.seat.session_id == host["session_id"]
    with pytest.raises(CommandFailed) as unknown:
        await FilmnightClient.join("no-such-code-0000000000", "Robo", base_url=live.base_url)
    assert unknown.value.code == "invite_not_found"
    with pytest.raises(ValueError, match="invite"):
        await FilmnightClient.join("https://example.test/nope", "Robo")
    with pytest.raises(ValueError, match="base_url"):
        await FilmnightClient.join("code-only", "Robo")


async def test_the_client_reconnects_and_resumes_without_loss(live: LiveServer) -> None:
    host = await http_create(live)
    async with await FilmnightClient.join(
        f"{live.base_url}/join/{host['invite_code']}", "Robo", max_backoff_s=0.2
    ) as bot:
        await bot.next_event(Welcome)
        assert bot._ws is not None
        await bot._ws.close(code=4000)  # as the server does for a slow consumer
        for i in range(3):
            await http_join(live, host["invite_code"], f"while-away-{i}")
        names = [(await bot.next_event(MemberJoined)).member.name for _ in range(3)]
        assert names == ["while-away-0", "while-away-1", "while-away-2"]
        assert bot.reconnects >= 1
        assert bot.welcome is not None and bot.welcome.resumed is True


async def test_a_lost_seat_ends_the_event_stream(live: LiveServer) -> None:
    host = await http_create(live)
    bot = await FilmnightClient.join(f"{live.base_url}/join/{host['invite_code']}", "Robo")
    try:
        async with httpx.AsyncClient(base_url=live.base_url) as http:
            await http.delete(
                f"/api/v1/sessions/{host['session_id']}",
                headers={"Authorization": f"Bearer {host['token']}"},
            )
        with pytest.raises(SeatLost) as lost:
            async for _event in bot.events():
                pass
        assert lost.value.code == 4410
    finally:
        await bot.close()


@pytest.mark.parametrize(
    ("code", "reason", "window"),
    [
        (1012, '{"reason":"restart","retry_ms":[100,2000]}', (0.1, 2.0)),
        (1012, '{"retry_ms":[0,0]}', (0.0, 0.0)),
        (1012, "", None),
        (1012, "restart", None),
        (1012, '{"retry_ms":[2000,100]}', None),
        (1012, '{"retry_ms":[0,600000]}', None),
        (1012, '{"retry_ms":["a","b"]}', None),
        (1012, '{"retry_ms":3}', None),
        (4000, '{"retry_ms":[100,2000]}', None),
    ],
)
def test_only_a_well_formed_restart_close_names_a_window(
    code: int, reason: str, window: tuple[float, float] | None
) -> None:
    assert restart_window(code, reason) == window


async def test_a_restart_close_brings_the_client_back_within_its_window(
    live: LiveServer,
) -> None:
    host = await http_create(live)
    connections = live.app.state.connections
    async with await FilmnightClient.join(
        f"{live.base_url}/join/{host['invite_code']}", "Robo"
    ) as bot:
        await bot.next_event(Welcome)  # the first one
        await bot.send(Chat(text="before"))
        closed_at = time.monotonic()
        left = await connections.restart_all(restart_reason(1500, 1700), timeout=5)
        assert left == 0
        connections.restarting, connections.draining = None, False  # "the new process"
        welcome = await bot.next_event(Welcome, timeout=10)
        waited = time.monotonic() - closed_at
        assert bot.last_close == (1012, restart_reason(1500, 1700))
        assert welcome.resumed is True
        assert 1.5 <= waited < 2.5, waited  # not the 0.1-0.2 s of a first back-off


async def test_a_refused_reconnect_after_a_restart_is_retried_soon_not_backed_off_to_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A restarting process closes 1012 and is not listening for a moment: the client's
    refused attempts keep coming every half second at most, while it is expected back
    (the usual back-off would wait 3.2 s and more by the sixth attempt)."""
    waits: list[tuple[float, float]] = []
    enough = asyncio.Event()

    class Recorded:
        @staticmethod
        def uniform(low: float, high: float) -> float:
            waits.append((low, high))
            if len(waits) >= 12:
                enough.set()
            return 0.01

    async def restart(ws: websockets.asyncio.server.ServerConnection) -> None:
        await ws.recv()
        await ws.close(1012, restart_reason(0, 0))

    monkeypatch.setattr(client_module, "random", Recorded)
    async with websockets.asyncio.server.serve(restart, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        client = FilmnightClient(Seat(f"http://127.0.0.1:{port}", "s", "m", "t"))
        connecting = asyncio.ensure_future(client.connect())
        while not waits:  # the restart's window was drawn: the 1012 came
            await asyncio.sleep(0.01)
        server.close()  # and the process is gone: reconnects are refused
    await asyncio.wait_for(enough.wait(), 30)
    connecting.cancel()
    await client.close()
    assert waits[0] == (0.0, 0.0)  # the window the close named
    refused = waits[1:]
    assert len(refused) >= 11 and all(high <= RESTART_RETRY_CAP_S for _, high in refused)


def test_the_back_off_caps_lower_only_while_a_restart_is_expected() -> None:
    assert reconnect_delay(8, restarting=False, max_backoff_s=10.0) == (5.0, 10.0)
    assert reconnect_delay(8, restarting=True, max_backoff_s=10.0) == (0.25, 0.5)
    assert reconnect_delay(1, restarting=True, max_backoff_s=10.0) == (0.1, 0.2)
    late = RESTART_FAST_ATTEMPTS + 1  # the process did not come back: back off as usual
    assert reconnect_delay(late, restarting=True, max_backoff_s=10.0) == (5.0, 10.0)
