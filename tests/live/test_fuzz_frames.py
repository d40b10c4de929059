"""Arbitrary frames at one connection: an error or a close for each; nobody else notices."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from server.app import create_app
from tests.conftest import make_settings
from tests.support.threaded_server import threaded_server

MAX_FRAME = 4096

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
message_types = st.sampled_from(
    [
        "hello",
        "ping",
        "vote",
        "ballot",
        "veto",
        "chat",
        "ready",
        "playback",
        "round.start",
        "round.close",
        "x",
        "",
    ]
)
frames = st.one_of(
    st.binary(max_size=64),
    st.text(max_size=64),
    json_values.map(json.dumps),
    st.builds(
        lambda t, extra: json.dumps({"type": t, **extra}),
        message_types,
        st.dictionaries(st.text(max_size=10), json_values, max_size=5),
    ),
    st.integers(min_value=2**64).map(lambda n: json.dumps({"type": "ping", "t": n})),
    st.integers(min_value=50, max_value=3000).map(lambda depth: "[" * depth + "]" * depth),
    st.just("x" * (MAX_FRAME + 1)),
)


@pytest.fixture(scope="module")
def fuzz_server(
    tmp_path_factory: pytest.TempPathFactory, sqlite_url: str
) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("fuzz")
    app_settings = make_settings(
        Path(tmp),
        sqlite_url,
        ws_max_frame_bytes=MAX_FRAME,
        ws_commands_per_second=10_000.0,
        ws_command_burst=10_000,
    )
    with threaded_server(create_app(app_settings), MAX_FRAME) as base_url:
        host = httpx.post(f"{base_url}/api/v1/sessions", json={"host_name": "Host"}).json()
        guest = httpx.post(
            f"{base_url}/api/v1/invites/{host['invite_code']}/join", json={"name": "Fuzzer"}
        ).json()
        ws_url = base_url.replace("http", "ws", 1) + f"/ws/v1/sessions/{host['session_id']}"
        with connect(ws_url, ping_interval=None) as watcher:
            watcher.send(json.dumps({"type": "hello", "token": host["token"]}))
            assert json.loads(watcher.recv(timeout=5))["type"] == "welcome"
            yield {
                "ws_url": ws_url,
                "token": guest["token"],
                "member_id": guest["member_id"],
                "watcher": watcher,
            }


def _hello(ws: ClientConnection, token: str) -> None:
    ws.send(json.dumps({"type": "hello", "token": token}))
    while json.loads(ws.recv(timeout=5))["type"] != "welcome":
        pass


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frame=frames)
def test_every_frame_gets_an_error_or_a_close_and_nobody_else_notices(
    fuzz_server: dict[str, Any], frame: str | bytes
) -> None:
    with connect(fuzz_server["ws_url"], max_size=2**22, ping_interval=None) as ws:
        _hello(ws, fuzz_server["token"])
        ws.send(frame)
        try:
            reply = json.loads(ws.recv(timeout=5))
            while reply["type"] == "presence":  # the fuzzer's own arrival
                reply = json.loads(ws.recv(timeout=5))
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code in {1008, 1009}  # noqa: PT017
        else:
            assert reply["type"] in {"error", "pong", "ack"}, reply
            if reply["type"] == "error":
                assert isinstance(reply["code"], str) and reply["code"]
    watcher: ClientConnection = fuzz_server["watcher"]
    # The other member sees the fuzzer come and go, and at most the effect of a frame that was a
    # valid command of the fuzzer's; never an error, a close, or anything about someone else.
    while True:
        try:
            seen = json.loads(watcher.recv(timeout=0.05))
        except TimeoutError:
            break
        fuzzer = fuzz_server["member_id"]
        assert seen["type"] == "presence" or fuzzer in {seen.get("member_id"), seen.get("by")}, seen
        assert seen["type"] != "error"
