"""A bot that says yes to every film released before 2000 in match rounds.

    uv run python examples/yes_before_2000.py https://host/join/CODE "Old-timer"

Copy this file to write your own: a strategy answers each event with commands.
"""

from __future__ import annotations

import asyncio
import sys

from realtime.client import FilmnightClient
from realtime.protocol import ClientMessage, RoundStarted, ServerMessage, Vote


class OldFilmsOnly:
    def react(self, event: ServerMessage, me: str) -> list[ClientMessage]:
        if isinstance(event, RoundStarted) and event.mode == "match":
            return [
                Vote(
                    round_id=event.round_id,
                    film_id=film.id,
                    choice="yes" if (film.year or 9999) < 2000 else "no",
                )
                for film in event.films
            ]
        return []


async def main(invite: str, name: str) -> None:
    from realtime.bots import run_bot

    async with await FilmnightClient.join(invite, name) as bot:
        await run_bot(bot, OldFilmsOnly())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "Old-timer"))
