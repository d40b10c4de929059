"""Command handlers are typed by their command: the router pairs a command type with
a handler of that type, so the type checker refuses a mismatch, and no handler
takes any message and narrows it itself."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import cast

import pytest
from mypy import api

from realtime.connection import Member
from realtime.protocol import ClientMessage, Reaction, Vote
from server.live.gateway import CommandRouter
from server.session_engine import Transaction

ROOT = Path(__file__).resolve().parents[2]
SNIPPET = """
from realtime.connection import Member
from realtime.protocol import Veto, Vote
from server.live.gateway import CommandRouter
from server.session_engine import Transaction


async def strike(tx: Transaction, member: Member, command: Veto) -> int | None:
    return None


CommandRouter().register(Veto, strike)
CommandRouter().register(Vote, strike)  # line 13: a veto handler for votes
"""


def test_the_type_checker_pairs_each_command_with_its_handler(tmp_path: Path) -> None:
    source = tmp_path / "routes.py"
    source.write_text(SNIPPET)
    out, _, _ = api.run(
        ["--no-error-summary", "--config-file", str(ROOT / "pyproject.toml"), str(source)]
    )
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert len(errors) == 1 and "routes.py:13: error:" in errors[0], out


def test_no_handler_narrows_a_message_itself() -> None:
    """The services register handlers of one command each (no ``isinstance`` asserts,
    no ``Any``, no ``type: ignore`` on the way from the router to the handler)."""
    for path in [
        ROOT / "server" / "live" / "commands.py",
        ROOT / "server" / "live" / "batching.py",
        ROOT / "server" / "party" / "service.py",
        ROOT / "server" / "voting" / "service.py",
    ]:
        text = path.read_text()
        asserts = [
            ast.unparse(node)
            for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.Assert) and "isinstance(command" in ast.unparse(node)
        ]
        assert asserts == [], path
        assert "command: ClientMessage" not in text and "command: Any" not in text, path
        assert "type: ignore" not in text, path


async def test_the_router_hands_each_command_to_its_own_handler() -> None:
    seen: list[ClientMessage] = []

    async def vote(tx: Transaction, member: Member, command: Vote) -> int | None:
        seen.append(command)
        return 7

    router = CommandRouter()
    router.register(Vote, vote)
    ballot = Vote(round_id="r", film_id="f", choice="yes")
    handler = router.get(ballot)
    assert handler is not None and router.get(Reaction(emoji="🍿")) is None
    tx = cast(Transaction, object())
    assert await handler(tx, Member("s", "m"), ballot) == 7
    assert seen == [ballot]
    with pytest.raises(TypeError):  # a lookup by type never does this; the pairing holds
        handler(tx, Member("s", "m"), Reaction(emoji="🍿"))
