"""Commands over the socket: acks, at-most-once ids, validation, chat and reactions."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest

from realtime.connection import Member
from realtime.protocol import RoundClose
from server.app import create_app
from server.live.commands import PRUNE_FROM, ChatCommands
from server.session_engine import SessionEngine
from tests.conftest import LiveServer, make_settings, run_live
from tests.live.test_socket import http_create, http_join, http_leave
from tests.server.test_watchlists_http import ALIEN, HEAT, lb_csv
from tests.support.wsclient import connect_member


async def test_chat_is_acked_reaches_everyone_and_is_applied_once_per_id(live: LiveServer) -> None:
    host = await http_create(live)
    ben_seat = await http_join(live, host["invite_code"], "Ben")
    ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
    ben, _ = await connect_member(live.ws_url, host["session_id"], ben_seat["token"])

    text = "<img src=x onerror=alert(1)> popcorn?"
    await ana.send({"type": "chat", "text": text, "id": "c-1"})
    mine = await ana.recv_type("chat")
    ack = await ana.recv_type("ack")
    assert ack == {"type": "ack", "id": "c-1", "seq": mine["seq"], "seqs": [mine["seq"]]}
    theirs = await ben.recv_type("chat")
    assert theirs == mine
    assert theirs["text"] == text and theirs["member_id"] == host["member_id"]
    assert isinstance(theirs["at"], int)

    # The same id again (a resend after a reconnect): acknowledged, not applied twice.
    await ana.send({"type": "chat", "text": text, "id": "c-1"})
    again = await ana.recv_type("ack")
    assert again == ack
    assert [f for f in await ben.quiet(0.3) if f["type"] == "chat"] == []
    await ana.close()
    await ben.close()


async def test_bad_chat_gets_stable_codes_and_changes_nothing(live: LiveServer) -> None:
    host = await http_create(live)
    ana, welcome = await connect_member(live.ws_url, host["session_id"], host["token"])
    assert welcome is not None
    cases: list[tuple[dict[str, Any], str]] = [
        ({"type": "chat", "text": "   ", "id": "e1"}, "chat_empty"),
        # within the schema's 500 characters as sent, 600 once normalized (NFC)
        ({"type": "chat", "text": "\u0958" * 300, "id": "e2"}, "chat_too_long"),
        ({"type": "chat", "text": "bell\x07", "id": "e3"}, "bad_text"),
        ({"type": "reaction", "emoji": "💩", "id": "e4"}, "bad_reaction"),
    ]
    for frame, code in cases:
        await ana.send(frame)
        error = await ana.recv_type("error")
        assert (error["code"], error["id"]) == (code, frame["id"])
    # longer than the schema's bound, or 10 KB: never reaches the handler
    for text in ("x" * 501, "y" * 10_000):
        await ana.send({"type": "chat", "text": text, "id": "e5"})
        error = await ana.recv_type("error")
        assert error["code"] == "bad_message"
    # nothing was written: a resume from the welcome's seq replays nothing
    await ana.close()
    again, resumed = await connect_member(
        live.ws_url, host["session_id"], host["token"], last_seq=welcome["seq"]
    )
    assert resumed is not None and resumed["resumed"] is True and resumed["seq"] == welcome["seq"]
    await again.close()


async def test_a_chat_flood_is_rate_limited_per_member_with_a_retry_time(
    live: LiveServer,
) -> None:
    host = await http_create(live)
    ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
    codes = []
    for i in range(8):
        await ana.send({"type": "chat", "text": f"spam {i}", "id": f"s{i}"})
        reply = await ana.recv_type("ack", "error")
        codes.append(reply.get("code", "ok"))
        if reply["type"] == "error":
            # one a second after the burst: the wait is never more than that
            assert reply["id"] == f"s{i}" and 0 < reply["retry_after_ms"] <= 1000
    assert codes[:5] == ["ok"] * 5
    assert "rate_limited" in codes[5:]
    # reactions share the limit, and say when to try again the same way
    await ana.send({"type": "reaction", "emoji": "🍿", "id": "r1"})
    refused = await ana.recv_type("ack", "error")
    assert (refused["code"], refused["id"]) == ("rate_limited", "r1")
    assert 0 < refused["retry_after_ms"] <= 1000
    await ana.close()


async def test_a_frame_refused_as_malformed_names_the_id_it_carries(live: LiveServer) -> None:
    host = await http_create(live)
    ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
    await ana.send('{"type":"vote","id":"x3","round_id":"r1","film_id":"f1","choice":"maybe"}')
    await ana.send('{"type":"playback","id":"p1","action":"warp"}')
    await ana.send('{"type":"playback","id":42,"action":"warp"}')
    replies = [await ana.recv_type("ack", "error") for _ in range(3)]
    assert [(r["code"], r["id"]) for r in replies] == [
        ("bad_message", "x3"),
        ("bad_message", "p1"),
        ("bad_message", None),
    ]
    assert [f for f in await ana.quiet(0.2) if f["type"] in {"ack", "error"}] == []
    await ana.close()


async def test_chat_is_kept_for_resume_but_reactions_are_not(live: LiveServer) -> None:
    host = await http_create(live)
    ben_seat = await http_join(live, host["invite_code"], "Ben")
    ben, welcome = await connect_member(live.ws_url, host["session_id"], ben_seat["token"])
    assert welcome is not None
    await ben.close()
    ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
    await ana.send({"type": "reaction", "emoji": "🍿", "id": "r1"})
    reaction = await ana.recv_type("reaction")
    assert reaction["emoji"] == "🍿" and "seq" not in reaction
    assert (await ana.recv_type("ack"))["seq"] is None
    await ana.send({"type": "chat", "text": "starting soon", "id": "c1"})
    await ana.recv_type("ack")

    ben, resumed = await connect_member(
        live.ws_url, host["session_id"], ben_seat["token"], last_seq=welcome["seq"]
    )
    assert resumed is not None and resumed["resumed"] is True
    replayed = await ben.recv_type("chat")
    assert replayed["text"] == "starting soon"
    assert [f for f in await ben.quiet(0.3) if f["type"] == "reaction"] == []
    await ana.close()
    await ben.close()


async def test_a_command_without_a_handler_says_unsupported(live: LiveServer) -> None:
    # A server may run a protocol newer than its features: such commands are refused clearly.
    live.app.state.services.router._handlers.pop(RoundClose)
    host = await http_create(live)
    ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
    await ana.send({"type": "round.close", "round_id": "r1", "id": "x1"})
    error = await ana.recv_type("error")
    assert (error["id"], error["code"]) == ("x1", "unsupported")
    await ana.close()


async def test_chats_sent_together_get_their_own_answers_and_one_gap_free_order(
    live: LiveServer,
) -> None:
    rooms = []
    for title in ("A", "B"):
        host = await http_create(live, f"Host {title}")
        seats = [host, *[await http_join(live, host["invite_code"], f"M{n}") for n in range(2)]]
        sockets = [
            (await connect_member(live.ws_url, host["session_id"], seat["token"]))[0]
            for seat in seats
        ]
        rooms.append((host["session_id"], sockets))
    # Every member sends four messages at once (one of them empty): batched on the server.
    for _, sockets in rooms:
        for n, ws in enumerate(sockets):
            for k in range(4):
                text = "" if (n, k) == (1, 2) else f"m{n}-{k}"
                await ws.send({"type": "chat", "text": text, "id": f"c{n}-{k}"})
    for _, sockets in rooms:
        for n, ws in enumerate(sockets):
            replies: dict[str, dict[str, Any]] = {}
            while len(replies) < 4:
                frame = await ws.next_type("ack", "error")
                replies[frame["id"]] = frame
            if n == 1:
                assert replies["c1-2"]["code"] == "chat_empty"
            acked = [r["seq"] for r in replies.values() if r["type"] == "ack"]
            assert len(acked) == (3 if n == 1 else 4) and len(set(acked)) == len(acked)
        # Every member sees the same 11 chats, in one gap-free seq order.
        orders = []
        for ws in sockets:
            seen: list[dict[str, Any]] = [f for f in ws.frames if f["type"] == "chat"]
            while len(seen) < 11:
                seen.append(await ws.recv_type("chat"))
            seqs = [f["seq"] for f in seen]
            assert seqs == sorted(seqs) and seqs == list(range(seqs[0], seqs[0] + 11))
            orders.append([f["text"] for f in seen])
        assert all(order == orders[0] for order in orders)
        assert "" not in orders[0]
        for ws in sockets:
            await ws.close()


async def test_a_members_commands_are_applied_in_the_order_sent_even_when_pipelined(
    live: LiveServer,
) -> None:
    host = await http_create(live)
    ben_seat = await http_join(live, host["invite_code"], "Ben")
    ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
    ben, _ = await connect_member(live.ws_url, host["session_id"], ben_seat["token"])
    # Three chats (pipelined together), a reaction (waits for them), one more chat
    # (waits for the reaction): all sent before any answer arrives.
    for k in range(3):
        await ana.send({"type": "chat", "text": f"m{k}", "id": f"c{k}"})
    await ana.send({"type": "reaction", "emoji": "🍿"})
    await ana.send({"type": "chat", "text": "m3", "id": "c3"})
    for ws in (ana, ben):
        seen = [await ws.recv_type("chat", "reaction") for _ in range(5)]
        assert [f.get("text", f.get("emoji")) for f in seen] == ["m0", "m1", "m2", "🍿", "m3"]
        chats = [f["seq"] for f in seen if f["type"] == "chat"]
        assert chats == list(range(chats[0], chats[0] + 4))
    acks = [await ana.next_type("ack") for _ in range(4)]
    assert [a["id"] for a in acks] == ["c0", "c1", "c2", "c3"]
    await ana.close()
    await ben.close()


async def test_chat_allowances_are_released_when_members_leave_and_sessions_end(
    live: LiveServer,
) -> None:
    """A member's chat bucket lives as long as the seat: not past a leave or an end."""
    chat = live.app.state.services.chat
    host = await http_create(live)
    seats = [await http_join(live, host["invite_code"], name) for name in ("Ben", "Cleo")]
    members = []
    for seat in [host, *seats]:
        member, _ = await connect_member(live.ws_url, host["session_id"], seat["token"])
        await member.send({"type": "chat", "text": "hello", "id": "hi"})
        await member.recv_type("ack")
        members.append(member)
    ids = {host["member_id"], *(seat["member_id"] for seat in seats)}
    assert ids <= set(chat._buckets)
    before = len(chat._buckets)

    await http_leave(live, host["session_id"], seats[0]["token"])
    assert seats[0]["member_id"] not in chat._buckets
    assert len(chat._buckets) == before - 1

    async with httpx.AsyncClient(base_url=live.base_url) as http:
        response = await http.delete(
            f"/api/v1/sessions/{host['session_id']}",
            headers={"Authorization": f"Bearer {host['token']}"},
        )
        assert response.status_code == 204
    assert not ids & set(chat._buckets)
    assert len(chat._buckets) == before - 3
    for member in members:
        await member.close()


def test_refilled_allowances_are_dropped_as_the_map_grows() -> None:
    """What bounds the map on a process that served a member's chat but not the leave:
    a bucket that has refilled decides exactly as a new one, so it can go."""
    chat = ChatCommands(cast(SessionEngine, object()), per_second=1.0, burst=2)
    clock = [100.0]
    with pytest.MonkeyPatch.context() as patch:
        fake = SimpleNamespace(monotonic=lambda: clock[0], time=time.time)
        patch.setattr("server.live.commands.time", fake)
        for i in range(PRUNE_FROM):
            chat._throttle(Member("s", f"m{i}"))
        clock[0] += 0.5  # half a token back: none is full yet
        chat._throttle(Member("s", "busy"))
        chat._throttle(Member("s", "busy"))
        assert len(chat._buckets) == PRUNE_FROM + 1
        clock[0] += 1.0  # the first ones have refilled, "busy" has not
        for i in range(PRUNE_FROM):
            chat._throttle(Member("s", f"n{i}"))
        assert "busy" in chat._buckets and "m0" not in chat._buckets
        assert len(chat._buckets) == PRUNE_FROM + 1


async def test_a_fresh_welcome_carries_the_recent_chat_even_of_members_who_left(
    tmp_path: Path, database_url: str
) -> None:
    """A reload (no resume) keeps the conversation: the last ``chat_history`` messages."""
    settings = make_settings(tmp_path, database_url, chat_history=3, chat_burst=100)
    async with run_live(create_app(settings), settings) as live:
        host = await http_create(live)
        ben_seat = await http_join(live, host["invite_code"], "Ben")
        cleo_seat = await http_join(live, host["invite_code"], "Cleo")
        ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
        cleo, _ = await connect_member(live.ws_url, host["session_id"], cleo_seat["token"])
        said: list[dict[str, Any]] = []
        for member, text in [(ana, "first"), (cleo, "see you — 🍿"), (ana, "bye Cleo")]:
            await member.send({"type": "chat", "text": text, "id": text})
            said.append(await ana.recv_type("chat"))
        await cleo.close()
        await http_leave(live, host["session_id"], cleo_seat["token"])
        await ana.send({"type": "reaction", "emoji": "🍿"})  # not logged, never in the history
        await ana.send({"type": "party.setup", "film_title": "Alien", "id": "s1"})
        await ana.recv_type("ack")
        await ana.send({"type": "chat", "text": "starting", "id": "last"})
        said.append(await ana.recv_type("chat"))

        ben, welcome = await connect_member(live.ws_url, host["session_id"], ben_seat["token"])
        assert welcome is not None and welcome["resumed"] is False
        history = welcome["session"]["chat"]
        names = {host["member_id"]: "Ana", cleo_seat["member_id"]: "Cleo"}
        assert history == [
            {
                "seq": event["seq"],
                "member_id": event["member_id"],
                "name": names[event["member_id"]],
                "text": event["text"],
                "at": event["at"],
            }
            for event in said[-3:]  # the newest three, oldest first
        ]
        assert history[0]["name"] == "Cleo"  # she left, her words stay with her name
        assert cleo_seat["member_id"] not in [m["member_id"] for m in welcome["session"]["members"]]
        await ana.close()
        await ben.close()


async def test_the_candidates_event_counts_lists_and_members(live: LiveServer) -> None:
    host = await http_create(live)
    await http_join(live, host["invite_code"], "Ben")
    ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        answer = await http.post(
            f"/api/v1/sessions/{host['session_id']}/imports/csv",
            files={"file": ("watchlist.csv", lb_csv(ALIEN, HEAT), "text/csv")},
            headers={"Authorization": f"Bearer {host['token']}"},
        )
    assert answer.status_code == 201, answer.text
    event = await ana.recv_type("candidates")
    # one list of two members: every film is on the only list, and nobody's "everyone"
    assert (event["lists"], event["members"], event["member_count"]) == (1, 2, 1)
    assert {c["wanted_by"] for c in event["candidates"]} == {1}
    await ana.close()
