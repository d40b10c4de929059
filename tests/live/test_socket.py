"""The WebSocket endpoint end to end on the real stack (uvicorn + websockets client)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import LiveServer, make_settings, run_live
from tests.support.wsclient import connect_member


async def http_create(live: LiveServer, name: str = "Ana") -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        response = await http.post("/api/v1/sessions", json={"host_name": name, "title": "Friday"})
        assert response.status_code == 201
        body: dict[str, Any] = response.json()
        return body


async def http_join(live: LiveServer, code: str, name: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        response = await http.post(f"/api/v1/invites/{code}/join", json={"name": name})
        assert response.status_code == 201
        body: dict[str, Any] = response.json()
        return body


async def http_leave(live: LiveServer, session_id: str, token: str) -> None:
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        response = await http.delete(
            f"/api/v1/sessions/{session_id}/members/me",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 204


async def test_two_members_see_each_other_join_and_come_online(live: LiveServer) -> None:
    host = await http_create(live)
    ana, welcome = await connect_member(live.ws_url, host["session_id"], host["token"])
    assert welcome is not None
    assert welcome["member_id"] == host["member_id"]
    assert welcome["resumed"] is False
    assert welcome["seq"] == 1
    assert [m["name"] for m in welcome["session"]["members"]] == ["Ana"]
    assert welcome["session"]["members"][0]["online"] is True

    ben_seat = await http_join(live, host["invite_code"], "Ben")
    joined = await ana.recv_type("member.joined")
    assert joined["seq"] == 2
    assert joined["member"]["name"] == "Ben"
    assert joined["member"]["online"] is False

    ben, ben_welcome = await connect_member(live.ws_url, host["session_id"], ben_seat["token"])
    assert ben_welcome is not None
    assert ben_welcome["seq"] == 2
    assert {m["name"]: m["online"] for m in ben_welcome["session"]["members"]} == {
        "Ana": True,
        "Ben": True,
    }
    presence = await ana.recv_type("presence")
    while ben_seat["member_id"] not in presence["online"]:  # Ana's own arrival may come first
        presence = await ana.recv_type("presence")
    assert presence["offline"] == []
    await ben.close()
    offline = await ana.recv_type("presence")
    assert offline == {"type": "presence", "online": [], "offline": [ben_seat["member_id"]]}
    await ana.close()


async def test_resume_replays_exactly_the_missed_events_in_order(live: LiveServer) -> None:
    host = await http_create(live)
    ana, welcome = await connect_member(live.ws_url, host["session_id"], host["token"])
    assert welcome is not None
    last_seq = welcome["seq"]
    await ana.close()

    names = ["Ben", "Cleo", "Dev"]
    for name in names:
        await http_join(live, host["invite_code"], name)

    ana, resumed = await connect_member(
        live.ws_url, host["session_id"], host["token"], last_seq=last_seq
    )
    assert resumed is not None and resumed["resumed"] is True
    replay = [await ana.recv_type("member.joined") for _ in names]
    assert [f["seq"] for f in replay] == [last_seq + 1, last_seq + 2, last_seq + 3]
    assert [f["member"]["name"] for f in replay] == names

    await http_join(live, host["invite_code"], "Eve")
    live_event = await ana.recv_type("member.joined")
    assert live_event["seq"] == last_seq + 4
    rest = await ana.quiet(0.3)
    assert not [f for f in rest if f["type"] == "member.joined"], "no duplicates"
    await ana.close()


class LiteralReader:
    """A client that tracks its position exactly as docs/protocol.md says, nothing more."""

    def __init__(self) -> None:
        self.position: int | None = None
        self.applied: list[dict[str, Any]] = []

    def take(self, frame: dict[str, Any]) -> None:
        if frame["type"] == "welcome":
            self.position = frame["seq"]  # "your position is welcome.seq"
        elif "seq" in frame and isinstance(frame["seq"], int) and frame["type"] != "ack":
            assert self.position is not None
            if frame["seq"] > self.position:  # "apply it and make it your position"
                self.applied.append(frame)
                self.position = frame["seq"]

    async def read(self, member: Any, duration: float = 0.4) -> None:
        for frame in await member.quiet(duration):
            self.take(frame)

    def chats(self) -> list[str]:
        return [f["text"] for f in self.applied if f["type"] == "chat"]


async def test_a_client_that_follows_the_doc_word_by_word_loses_nothing_across_a_resume(
    live: LiveServer,
) -> None:
    host = await http_create(live)
    ben_seat = await http_join(live, host["invite_code"], "Ben")
    ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
    reader = LiteralReader()
    ben, welcome = await connect_member(live.ws_url, host["session_id"], ben_seat["token"])
    assert welcome is not None
    reader.take(welcome)
    await ana.send({"type": "chat", "text": "before", "id": "c0"})
    await reader.read(ben)
    await ben.close()

    # While Ben is away: chat (which no snapshot holds) and a member joining.
    for n in range(1, 4):
        await ana.send({"type": "chat", "text": f"away {n}", "id": f"c{n}"})
        await ana.recv_type("ack")
    await http_join(live, host["invite_code"], "Cleo")

    ben, resumed = await connect_member(
        live.ws_url, host["session_id"], ben_seat["token"], last_seq=reader.position
    )
    assert resumed is not None and resumed["resumed"] is True
    assert resumed["seq"] == reader.position  # a resumed welcome is where the client was
    reader.take(resumed)
    await reader.read(ben)
    await ana.send({"type": "chat", "text": "after", "id": "c9"})
    await reader.read(ben)

    assert reader.chats() == ["before", "away 1", "away 2", "away 3", "after"]
    assert [f["member"]["name"] for f in reader.applied if f["type"] == "member.joined"] == ["Cleo"]
    seqs = [f["seq"] for f in reader.applied]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # no gap, no duplicate
    await ana.close()
    await ben.close()


async def test_resume_from_an_unknown_point_gives_a_fresh_snapshot(live: LiveServer) -> None:
    host = await http_create(live)
    ana, welcome = await connect_member(
        live.ws_url, host["session_id"], host["token"], last_seq=999
    )
    assert welcome is not None and welcome["resumed"] is False and welcome["seq"] == 1
    await ana.close()
    ana, welcome = await connect_member(live.ws_url, host["session_id"], host["token"], last_seq=1)
    assert welcome is not None and welcome["resumed"] is True
    assert [f for f in await ana.quiet(0.2) if "seq" in f and f["type"] != "welcome"] == []
    await ana.close()


async def test_authentication_failures_close_with_the_documented_codes(live: LiveServer) -> None:
    one = await http_create(live)
    other = await http_create(live, "Zed")
    cases: list[tuple[str, Any]] = [
        ("bad token", {"type": "hello", "token": "nope"}),
        ("other session", {"type": "hello", "token": other["token"]}),
        ("not hello", {"type": "ping", "t": 1}),
        ("not json", "{{{"),
    ]
    codes = {}
    for label, first in cases:
        member, _ = await connect_member(live.ws_url, one["session_id"], None, hello=False)
        await member.send(first)
        codes[label] = await member.close_code()
    assert codes == {"bad token": 4401, "other session": 4403, "not hello": 4401, "not json": 4401}


async def test_no_hello_within_the_deadline_closes_4401(tmp_path: Any, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url, hello_timeout_s=0.3)
    from server.app import create_app

    async with run_live(create_app(settings), settings) as live:
        host = await http_create(live)
        member, _ = await connect_member(live.ws_url, host["session_id"], None, hello=False)
        assert await member.close_code() == 4401


async def test_cross_site_origins_are_refused_at_the_handshake(live: LiveServer) -> None:
    host = await http_create(live)
    with pytest.raises(websockets.InvalidStatus) as refused:
        await connect_member(
            live.ws_url, host["session_id"], host["token"], origin="https://evil.example"
        )
    assert refused.value.response.status_code == 403
    same, welcome = await connect_member(
        live.ws_url, host["session_id"], host["token"], origin=live.base_url
    )
    assert welcome is not None
    await same.close()


async def test_allowed_origins_are_accepted(tmp_path: Any, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url, allowed_origins=["https://friends.example"])
    from server.app import create_app

    async with run_live(create_app(settings), settings) as live:
        host = await http_create(live)
        member, welcome = await connect_member(
            live.ws_url, host["session_id"], host["token"], origin="https://friends.example"
        )
        assert welcome is not None
        await member.close()


async def test_bad_frames_get_errors_and_the_socket_stays_open(live: LiveServer) -> None:
    host = await http_create(live)
    ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
    frames: list[str | bytes] = [
        "not json",
        '{"type": "teleport"}',
        '{"type": "chat"}',
        "[1,2]",
        b"\x00\x01",
        '{"type":"vote","round_id":1}',
    ]
    for frame in frames:
        await ana.send(frame)
        error = await ana.recv_type("error")
        assert error["code"] == "bad_message", frame
    await ana.send({"type": "hello", "token": host["token"]})
    assert (await ana.recv_type("error"))["code"] == "already_authenticated"
    await ana.send({"type": "ping", "t": 12.5})
    pong = await ana.recv_type("pong")
    assert pong["t"] == 12.5 and isinstance(pong["server_time"], int)
    await ana.close()


async def test_a_flood_of_bad_frames_closes_1008(tmp_path: Any, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url, ws_bad_frames_before_close=5)
    from server.app import create_app

    async with run_live(create_app(settings), settings) as live:
        host = await http_create(live)
        ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
        for _ in range(6):
            await ana.send("garbage")
        assert await ana.close_code() == 1008


async def test_oversized_frames_close_1009(live: LiveServer) -> None:
    host = await http_create(live)
    ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
    await ana.send("x" * 20_000)
    assert await ana.close_code() == 1009


async def test_command_floods_are_rate_limited_then_closed(
    tmp_path: Any, database_url: str
) -> None:
    settings = make_settings(tmp_path, database_url, ws_commands_per_second=1.0, ws_command_burst=3)
    from server.app import create_app

    async with run_live(create_app(settings), settings) as live:
        host = await http_create(live)
        ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
        for i in range(4):
            await ana.send({"type": "ping", "t": i})
        limited = await ana.recv_type("error")
        assert limited["code"] == "rate_limited" and limited["retry_after_ms"] > 0
        for i in range(10):
            await ana.send({"type": "ping", "t": i})
        assert await ana.close_code() == 1008


async def test_leaving_closes_your_socket_4410_and_others_see_member_left(live: LiveServer) -> None:
    host = await http_create(live)
    ben_seat = await http_join(live, host["invite_code"], "Ben")
    ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
    ben, _ = await connect_member(live.ws_url, host["session_id"], ben_seat["token"])
    await http_leave(live, host["session_id"], ben_seat["token"])
    left = await ana.recv_type("member.left")
    assert left["member_id"] == ben_seat["member_id"] and left["reason"] == "left"
    assert await ben.close_code() == 4410
    # a departed token cannot come back
    again, _ = await connect_member(live.ws_url, host["session_id"], None, hello=False)
    await again.send({"type": "hello", "token": ben_seat["token"]})
    assert await again.close_code() == 4401
    await ana.close()


async def test_ending_the_session_reaches_everyone_then_closes_4410(live: LiveServer) -> None:
    host = await http_create(live)
    ben_seat = await http_join(live, host["invite_code"], "Ben")
    ben, _ = await connect_member(live.ws_url, host["session_id"], ben_seat["token"])
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        await http.delete(
            f"/api/v1/sessions/{host['session_id']}",
            headers={"Authorization": f"Bearer {host['token']}"},
        )
    ended = await ben.recv_type("session.ended")
    assert ended["reason"] == "ended_by_host"
    assert await ben.close_code() == 4410


async def test_many_members_connect_concurrently_and_all_see_the_same_sequence(
    live: LiveServer,
) -> None:
    host = await http_create(live)
    seats = await asyncio.gather(*(http_join(live, host["invite_code"], f"M{i}") for i in range(8)))
    members = [
        (await connect_member(live.ws_url, host["session_id"], seat["token"]))[0] for seat in seats
    ]
    await asyncio.gather(*(http_join(live, host["invite_code"], f"Late{i}") for i in range(5)))
    sequences = []
    for member in members:
        got = [await member.recv_type("member.joined") for _ in range(5)]
        sequences.append([(f["seq"], f["member"]["name"]) for f in got])
    assert all(seq == sequences[0] for seq in sequences)
    assert [s for s, _ in sequences[0]] == list(range(10, 15))
    for member in members:
        await member.close()


async def test_connections_per_member_are_limited_4429(tmp_path: Any, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url, ws_connections_per_member=2)
    from server.app import create_app

    async with run_live(create_app(settings), settings) as live:
        host = await http_create(live)
        first, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
        second, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
        third, _ = await connect_member(live.ws_url, host["session_id"], None, hello=False)
        await third.send({"type": "hello", "token": host["token"]})
        assert await third.close_code() == 4429
        await second.close()
        await asyncio.sleep(0.2)
        again, welcome = await connect_member(live.ws_url, host["session_id"], host["token"])
        assert welcome is not None
        await again.close()
        await first.close()
