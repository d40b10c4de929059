"""Bot strategies (pure) and the bot command against a real server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from examples.mirror_majority import Follower
from examples.yes_before_2000 import OldFilmsOnly
from realtime.bots import STRATEGIES, MirrorMajority, YesBefore2000
from realtime.protocol import (
    Ballot,
    BordaExplanation,
    BordaStandings,
    Film,
    RoundResult,
    RoundStarted,
    RoundTally,
    Veto,
    Vote,
)
from tests.conftest import LiveServer
from tests.live.test_socket import http_create

FILMS = [
    Film(id="a", title="Alien", year=1979),
    Film(id="b", title="Barbie", year=2023),
    Film(id="c", title="Undated"),
    Film(id="d", title="Heat", year=1995),
]


def started(mode: str, order: list[str] | None = None) -> RoundStarted:
    return RoundStarted(seq=1, round_id="r1", mode=mode, films=FILMS, order=order or [])  # type: ignore[arg-type]


def test_yes_before_2000_votes_on_every_card_and_ignores_other_rounds() -> None:
    for strategy in (YesBefore2000(), OldFilmsOnly()):
        votes = strategy.react(started("match"), "me")
        assert votes == [
            Vote(round_id="r1", film_id="a", choice="yes"),
            Vote(round_id="r1", film_id="b", choice="no"),
            Vote(round_id="r1", film_id="c", choice="no"),
            Vote(round_id="r1", film_id="d", choice="yes"),
        ]
        assert strategy.react(started("poll"), "me") == []


def test_mirror_majority_follows_poll_standings_and_strikes_the_least_liked() -> None:
    bot = MirrorMajority()
    assert bot.react(started("poll"), "me") == [Ballot(round_id="r1", ranking=["a", "b", "c", "d"])]
    tally = RoundTally(
        round_id="r1",
        voted=2,
        eligible=3,
        standings=BordaStandings(scores={"d": 5, "b": 3, "a": 3}, label="Borda", leader="d"),
    )
    assert bot.react(tally, "me") == [Ballot(round_id="r1", ranking=["d", "a", "b", "c"])]
    assert bot.react(tally, "me") == []  # unchanged: no new ballot
    result = RoundResult(
        seq=9, round_id="r1", mode="poll", explanation=BordaExplanation(scores={"d": 5.0})
    )
    assert bot.react(result, "me") == []

    veto = MirrorMajority()
    assert veto.react(started("veto", order=["me", "x"]), "me") == [
        Veto(round_id="r1", film_id="d")
    ]
    turn = RoundTally(
        round_id="r1",
        voted=1,
        eligible=2,
        turn="me",
        remaining=["a", "b"],
    )
    assert veto.react(turn, "me") == [Veto(round_id="r1", film_id="b")]
    assert (
        veto.react(RoundTally(round_id="r1", voted=1, eligible=2, turn="x", remaining=["a"]), "me")
        == []
    )
    match = MirrorMajority().react(started("match"), "me")
    assert {v.choice for v in match if isinstance(v, Vote)} == {"yes"} and len(match) == 4

    follower = Follower()
    follower.react(started("poll"), "me")
    assert follower.react(tally, "me") == [Ballot(round_id="r1", ranking=["d", "a", "b", "c"])]
    assert set(STRATEGIES) == {"yes-before-2000", "mirror-majority"}


async def test_filmnight_bot_joins_and_stops_when_the_session_ends(live: LiveServer) -> None:
    host = await http_create(live)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "bot",
        "--invite",
        f"{live.base_url}/join/{host['invite_code']}",
        "--name",
        "Robo",
        "--strategy",
        "yes-before-2000",
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 30)
    assert b"joined as Robo" in line
    import httpx

    async with httpx.AsyncClient(base_url=live.base_url) as http:
        snapshot = (
            await http.get(
                f"/api/v1/sessions/{host['session_id']}",
                headers={"Authorization": f"Bearer {host['token']}"},
            )
        ).json()
        assert [m["name"] for m in snapshot["members"]] == ["Ana", "Robo"]
        await http.delete(
            f"/api/v1/sessions/{host['session_id']}",
            headers={"Authorization": f"Bearer {host['token']}"},
        )
    rest = await asyncio.wait_for(process.stdout.read(), 30)
    assert await process.wait() == 0
    assert b"the seat is gone (4410" in rest


async def test_filmnight_bot_reports_a_bad_invite(live: LiveServer) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "bot",
        "--invite",
        f"{live.base_url}/join/nope-nope-nope-nope00",
        "--name",
        "Robo",
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 1
    assert b"invite_not_found" in output[0]
