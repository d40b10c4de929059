"""The reference bot of docs/protocol.md, run as written against a live server."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from realtime.connection import CloseCode, Connection, Member, WelcomePlan
from tests.conftest import LiveServer
from tests.live.test_party import command, snapshot
from tests.live.test_rounds import EVERYONE, _upload, film_ids
from tests.live.test_socket import http_create
from tests.realtime.test_protocol import DOC
from tests.support.wsclient import RawMember, connect_member

MARKER = "<!-- reference-bot: the tests extract and run the next code block -->"


def reference_bot() -> str:
    """The code block right after the marker in docs/protocol.md."""
    text = DOC.read_text()
    assert text.count(MARKER) == 1
    found = re.match(r"\s*```python\n(.*?)\n```", text[text.index(MARKER) + len(MARKER) :], re.S)
    assert found is not None, "the marker is followed by a python code block"
    return found.group(1)


def test_the_reference_bot_is_about_thirty_lines_and_complete() -> None:
    code = reference_bot()
    lines = [line for line in code.splitlines() if line.strip()]
    assert len(lines) <= 50  # about thirty, past the imports
    for part in ('"hello"', '"ping"', '"vote"', "last_seq", "/join", "websockets.connect"):
        assert part in code


async def _until(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (found := check()):
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)
    return found


async def _drain(member: RawMember, until: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    while True:
        frame = await member.next_type(*_TYPES)
        if until(frame):
            return frame


_TYPES = ("member.joined", "presence", "chat", "round.started", "round.tally", "round.result")


async def test_the_reference_bot_joins_resumes_from_its_last_seq_and_votes(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = live.app.state.services
    hellos: list[tuple[str, int | None, str]] = []
    welcome: Callable[[Member, int | None], Coroutine[Any, Any, WelcomePlan]] = (
        services.gateway.welcome
    )

    async def recording_welcome(member: Member, last_seq: int | None) -> WelcomePlan:
        plan = await welcome(member, last_seq)
        hellos.append((member.member_id, last_seq, plan.welcome))
        return plan

    monkeypatch.setattr(services.gateway, "welcome", recording_welcome)

    host = await http_create(live)
    sid = host["session_id"]
    await _upload(live, sid, host["token"], EVERYONE)
    ana, _ = await connect_member(live.ws_url, sid, host["token"])

    namespace: dict[str, Any] = {"__name__": "reference_bot"}
    exec(compile(reference_bot(), str(DOC), "exec"), namespace)  # our own document's code
    main: Callable[[str, str, str], Coroutine[Any, Any, None]] = namespace["main"]
    bot = asyncio.create_task(main(live.base_url, host["invite_code"], "Robo"))
    try:
        joined = await _drain(ana, lambda f: f["type"] == "member.joined")
        robo = joined["member"]["member_id"]
        assert joined["member"]["bot"] is True
        await _until(lambda: [h for h in hellos if h[0] == robo])
        assert hellos[-1][1] is None  # a first hello has no position yet

        # The bot hears a chat; then the server drops it (as for a slow consumer).
        await command(ana, {"type": "chat", "text": "hello bot"}, "c1")
        heard = await _drain(ana, lambda f: f["type"] == "chat")
        room = services.rooms.get(sid)

        def bots_connection() -> Connection | None:
            return next((c for c in room.recipients if c.member_id == robo), None)

        def caught_up(seq: int) -> Connection | None:
            conn = bots_connection()
            return conn if conn is not None and conn.last_seq >= seq else None

        connection = await _until(lambda: caught_up(heard["seq"]))
        await asyncio.sleep(0.5)  # the frame is in the bot's hands, not only in flight
        connection.abort(CloseCode.RESUME, "reconnect and resume")
        # While it is away: a chat only the log holds.
        await command(ana, {"type": "chat", "text": "while you were away"}, "c2")
        away = await _drain(ana, lambda f: f["type"] == "chat")

        # It comes back with the position it had (the chat's seq), and is resumed.
        await _until(lambda: len([h for h in hellos if h[0] == robo]) == 2)
        _, last_seq, welcome_frame = [h for h in hellos if h[0] == robo][-1]
        assert last_seq == heard["seq"] == away["seq"] - 1
        assert '"resumed":true' in welcome_frame
        await _until(lambda: caught_up(away["seq"]))

        # A match round: the bot answers yes to every card, so the host's yes decides it.
        reply = await command(ana, {"type": "round.start", "mode": "match", "size": 3}, "r1")
        assert reply["type"] == "ack", reply
        started = await _drain(ana, lambda f: f["type"] == "round.started")
        assert robo in started["eligible"]
        films, rid = film_ids(started), started["round_id"]
        no = {"type": "vote", "round_id": rid, "film_id": films[0], "choice": "no"}
        assert (await command(ana, no, "v0"))["type"] == "ack"
        yes = {"type": "vote", "round_id": rid, "film_id": films[1], "choice": "yes"}
        assert (await command(ana, yes, "v1"))["type"] == "ack"
        result = await _drain(ana, lambda f: f["type"] == "round.result")
        assert result["winner"]["id"] == films[1]
        assert result["explanation"]["yes"][films[1]] == 2  # the bot's yes is one of them
        state = (await snapshot(live, sid, host["token"]))["round"]
        assert state["answered"][robo] >= 2
        assert not bot.done()  # still connected, still in its loop
    finally:
        bot.cancel()
        await asyncio.gather(bot, return_exceptions=True)
        await ana.close()
