"""The session route served in front of Litestar (``server.live.socket``), and behind it.

``filmnight serve`` (and the ``live`` fixture, which serves the same way) answers
``/ws/v1/sessions/{id}`` with plain ASGI, before Litestar's router, middleware and
dependency resolution; Litestar's own handler serves the route the same way where
that wrapper is not used. These tests pin that no Litestar layer is held per
socket, that the route matches what Litestar matched and nothing else, that a fault
of ours closes that one socket with 1011, and that Litestar's handler still
authenticates, refuses foreign origins and serves members.
"""

from __future__ import annotations

import gc
from typing import Any

import pytest
import websockets
from litestar.connection import WebSocket

from realtime.connection import Member, Rejected
from server.app import create_app
from server.live.gateway import LiveGateway
from server.live.socket import session_path
from tests.conftest import LiveServer, make_settings, run_live
from tests.live.test_socket import http_create, http_join
from tests.support.wsclient import connect_member


def _litestar_sockets() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, WebSocket))


async def test_no_litestar_layer_is_held_for_a_socket(live: LiveServer) -> None:
    host = await http_create(live)
    guest = await http_join(live, host["invite_code"], "Bo")
    before = _litestar_sockets()
    members = []
    for seat in (host, guest):
        member, welcome = await connect_member(live.ws_url, host["session_id"], seat["token"])
        assert welcome is not None and welcome["type"] == "welcome"
        members.append(member)
    await members[0].send({"type": "chat", "text": "hi", "id": "c1"})
    chat = await members[1].recv_type("chat")
    assert chat["text"] == "hi"
    assert _litestar_sockets() == before  # Litestar's WebSocket would wrap each one
    for member in members:
        await member.close()


@pytest.mark.parametrize(
    ("path", "session_id"),
    [
        ("/ws/v1/sessions/abc", "abc"),
        ("/ws/v1/sessions/abc/", "abc"),
        ("/ws/v1/sessions/", None),
        ("/ws/v1/sessions", None),
        ("/ws/v1/sessions/abc/more", None),
        ("/ws/v1/sessions//", None),
        ("/api/v1/sessions/abc", None),
        ("/ws/v1/sessions/abc/\n", None),
    ],
)
def test_the_route_matches_one_path_segment(path: str, session_id: str | None) -> None:
    assert session_path(path) == session_id


async def test_a_trailing_slash_is_the_same_route_and_other_paths_are_refused(
    live: LiveServer,
) -> None:
    host = await http_create(live)
    member, welcome = await connect_member(live.ws_url, host["session_id"] + "/", host["token"])
    assert welcome is not None and welcome["member_id"] == host["member_id"]
    await member.close()
    for path in ("/ws/v1/sessions/", f"/ws/v1/sessions/{host['session_id']}/more", "/ws/v1/x"):
        with pytest.raises(websockets.InvalidStatus):  # Litestar: no such route
            await websockets.connect(live.ws_url + path)


async def test_a_fault_of_ours_closes_that_socket_1011_and_the_others_go_on(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = await http_create(live)
    guest = await http_join(live, host["invite_code"], "Bo")
    gateway: LiveGateway = live.app.state.services.gateway
    authenticate = gateway.authenticate

    async def failing(session_id: str, token: str) -> Member | Rejected:
        if token == guest["token"]:
            raise RuntimeError("a bug of ours")
        return await authenticate(session_id, token)

    monkeypatch.setattr(gateway, "authenticate", failing)
    broken, _ = await connect_member(live.ws_url, host["session_id"], None, hello=False)
    await broken.send({"type": "hello", "token": guest["token"]})
    assert await broken.close_code() == 1011
    member, welcome = await connect_member(live.ws_url, host["session_id"], host["token"])
    assert welcome is not None and welcome["type"] == "welcome"
    await member.close()


async def test_litestars_own_handler_serves_the_route_the_same_way(
    tmp_path: Any, database_url: str
) -> None:
    settings = make_settings(tmp_path, database_url)
    async with run_live(create_app(settings), settings, direct_sockets=False) as live:
        host = await http_create(live)
        guest = await http_join(live, host["invite_code"], "Bo")
        sid = host["session_id"]
        with pytest.raises(websockets.InvalidStatus) as refused:
            await connect_member(live.ws_url, sid, host["token"], origin="https://evil.example")
        assert refused.value.response.status_code == 403
        stranger, _ = await connect_member(live.ws_url, sid, None, hello=False)
        await stranger.send({"type": "hello", "token": "nope"})
        assert await stranger.close_code() == 4401
        before = _litestar_sockets()
        one, welcome = await connect_member(live.ws_url, sid, host["token"])
        two, _ = await connect_member(live.ws_url, sid, guest["token"])
        assert welcome is not None and welcome["member_id"] == host["member_id"]
        await one.send({"type": "chat", "text": "hello", "id": "c1"})
        assert (await two.recv_type("chat"))["text"] == "hello"
        assert _litestar_sockets() == before + 2  # here Litestar wraps each socket
        await one.close()
        await two.close()
