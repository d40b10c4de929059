"""Bot strategies and the loop that runs one on a :class:`~realtime.client.FilmnightClient`.

A strategy is a pure object: it sees each event and answers with the commands to
send. That keeps strategies testable without a server and easy to copy (see
``examples/``). ``filmnight bot --strategy NAME`` runs a built-in one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import structlog

from realtime.client import CommandFailed, FilmnightClient
from realtime.protocol import (
    Ballot,
    ClientMessage,
    RoundResult,
    RoundStarted,
    RoundTally,
    ServerMessage,
    Standings,
    Veto,
    Vote,
    Welcome,
)

__all__ = ["STRATEGIES", "MirrorMajority", "Strategy", "YesBefore2000", "run_bot"]

log = structlog.get_logger(__name__)


class Strategy(Protocol):
    """Decides what a bot sends in answer to each event."""

    def react(self, event: ServerMessage, me: str) -> list[ClientMessage]: ...


class YesBefore2000:
    """Match rounds: yes to every film released before 2000, no to the rest (and undated)."""

    def react(self, event: ServerMessage, me: str) -> list[ClientMessage]:
        if not isinstance(event, RoundStarted) or event.mode != "match":
            return []
        return [
            Vote(
                round_id=event.round_id,
                film_id=film.id,
                choice="yes" if film.year is not None and film.year < 2000 else "no",
            )
            for film in event.films
        ]


class MirrorMajority:
    """Follows the room: in a poll it ranks films as the live standings do; in a veto it
    strikes the film the standings like least; in a match it says yes to everything
    (a yes never blocks the group's match)."""

    def __init__(self) -> None:
        self._films: dict[str, list[str]] = {}
        self._modes: dict[str, str] = {}
        self._last_ballot: dict[str, list[str]] = {}

    def react(self, event: ServerMessage, me: str) -> list[ClientMessage]:
        if isinstance(event, RoundStarted):
            films = [film.id for film in event.films]
            self._films[event.round_id] = films
            self._modes[event.round_id] = event.mode
            if event.mode == "match":
                return [Vote(round_id=event.round_id, film_id=f, choice="yes") for f in films]
            if event.mode == "poll":
                self._last_ballot[event.round_id] = films
                return [Ballot(round_id=event.round_id, ranking=films)]
            if event.mode == "veto" and event.order[:1] == [me] and films:
                return [Veto(round_id=event.round_id, film_id=films[-1])]
            return []
        if isinstance(event, RoundTally):
            return self._follow(event, me)
        if isinstance(event, RoundResult):
            self._films.pop(event.round_id, None)
            self._modes.pop(event.round_id, None)
            self._last_ballot.pop(event.round_id, None)
        return []

    def _follow(self, tally: RoundTally, me: str) -> list[ClientMessage]:
        mode = self._modes.get(tally.round_id)
        if mode == "veto" and tally.turn == me and tally.remaining:
            ranked = _ranking(tally.standings, tally.remaining)
            return [Veto(round_id=tally.round_id, film_id=ranked[-1])]
        if mode == "poll" and tally.standings:
            ranking = _ranking(tally.standings, self._films.get(tally.round_id, []))
            if ranking and ranking != self._last_ballot.get(tally.round_id):
                self._last_ballot[tally.round_id] = ranking
                return [Ballot(round_id=tally.round_id, ranking=ranking)]
        return []


def _ranking(standings: Standings | None, films: list[str]) -> list[str]:
    """Films best-first by the standings' scores, whatever the method (stable for ties)."""
    scores: dict[str, float] = dict(standings.scores) if standings is not None else {}
    order = {film: i for i, film in enumerate(films)}
    return sorted(films, key=lambda f: (-scores.get(f, 0.0), order[f]))


STRATEGIES: dict[str, Callable[[], Strategy]] = {
    "yes-before-2000": YesBefore2000,
    "mirror-majority": MirrorMajority,
}


async def run_bot(client: FilmnightClient, strategy: Strategy) -> None:
    """Feed every event to ``strategy`` and send what it answers, until the seat is lost."""
    async for event in client.events():
        if isinstance(event, Welcome):
            continue
        for command in strategy.react(event, client.seat.member_id):
            try:
                await client.send(command)
            except CommandFailed as refused:
                log.info("bot.command_refused", code=refused.code)
