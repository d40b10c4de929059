"""A bot that follows the room: it ranks films in polls as the live standings do.

    uv run python examples/mirror_majority.py https://host/join/CODE "Follower"

It reads ``round.tally`` standings (when the host has not hidden them) and sends a
new ballot whenever the order changes; a new ballot replaces the previous one.
"""

from __future__ import annotations

import asyncio
import sys

from realtime.client import FilmnightClient
from realtime.protocol import Ballot, ClientMessage, RoundStarted, RoundTally, ServerMessage


class Follower:
    def __init__(self) -> None:
        self.films: dict[str, list[str]] = {}
        self.sent: dict[str, list[str]] = {}

    def react(self, event: ServerMessage, me: str) -> list[ClientMessage]:
        if isinstance(event, RoundStarted) and event.mode == "poll":
            self.films[event.round_id] = [film.id for film in event.films]
        if isinstance(event, RoundTally) and event.standings and event.round_id in self.films:
            scores = event.standings.scores  # approvals, points or wins, by the method
            films = self.films[event.round_id]
            ranking = sorted(films, key=lambda f: (-float(scores.get(f, 0)), films.index(f)))
            if ranking != self.sent.get(event.round_id):
                self.sent[event.round_id] = ranking
                return [Ballot(round_id=event.round_id, ranking=ranking)]
        return []


async def main(invite: str, name: str) -> None:
    from realtime.bots import run_bot

    async with await FilmnightClient.join(invite, name) as bot:
        await run_bot(bot, Follower())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "Follower"))
