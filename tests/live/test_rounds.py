"""Voting rounds over the socket: match, poll and veto, bad inputs, and a restart mid-round."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
from litestar import Litestar

from server.app import create_app
from server.settings import Settings
from tests.conftest import LiveServer, run_live
from tests.live.test_party import command, snapshot
from tests.live.test_socket import http_create, http_join
from tests.server.test_watchlists_http import ALIEN, CROCODILE, HEAT, PARASITE, SOLARIS, lb_csv
from tests.support.wsclient import RawMember, connect_member

EVERYONE = [PARASITE, ALIEN, HEAT, SOLARIS, CROCODILE]


@dataclass
class Seat:
    name: str
    member_id: str
    token: str
    ws: RawMember


@dataclass
class Room:
    live: LiveServer
    session_id: str
    invite_code: str
    seats: list[Seat]

    @property
    def host(self) -> Seat:
        return self.seats[0]

    async def close(self) -> None:
        # Read what is waiting first: a client that stopped reading cannot finish the
        # close handshake quickly.
        await asyncio.gather(*(seat.ws.quiet(0.05) for seat in self.seats), return_exceptions=True)
        await asyncio.gather(*(seat.ws.close() for seat in self.seats))


async def _upload(live: LiveServer, session_id: str, token: str, films: list[Any]) -> None:
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        response = await http.post(
            f"/api/v1/sessions/{session_id}/imports/csv",
            files={"file": ("watchlist.csv", lb_csv(*films), "text/csv")},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.text


async def open_room(live: LiveServer, names: list[str], films: list[Any] | None = None) -> Room:
    """A session whose members are all online and have imported ``films``."""
    host = await http_create(live, names[0])
    sid = host["session_id"]
    seats_raw = [(names[0], host)] + [
        (name, await http_join(live, host["invite_code"], name)) for name in names[1:]
    ]
    seats = []
    for name, seat in seats_raw:
        await _upload(live, sid, seat["token"], films or EVERYONE)
        ws, _ = await connect_member(live.ws_url, sid, seat["token"])
        seats.append(Seat(name, seat["member_id"], seat["token"], ws))
    await asyncio.sleep(0.2)  # presence settles: everyone is online when the round starts
    return Room(live, sid, host["invite_code"], seats)


async def start(room: Room, cid: str = "start", **fields: Any) -> dict[str, Any]:
    reply = await command(room.host.ws, {"type": "round.start", **fields}, cid)
    assert reply["type"] == "ack", reply
    started = await room.host.ws.next_type("round.started")
    return started


def film_ids(started: dict[str, Any]) -> list[str]:
    return [film["id"] for film in started["films"]]


async def test_match_round_finds_the_first_film_everyone_says_yes_to(live: LiveServer) -> None:
    room = await open_room(live, ["Ana", "Ben", "Cleo"])
    started = await start(room, mode="match", size=4)
    films = film_ids(started)
    assert len(films) == 4 and started["eligible"] == [s.member_id for s in room.seats]
    for seat in room.seats[1:]:
        seen = await seat.ws.next_type("round.started")
        assert film_ids(seen) == films  # the same cards in the same order for everyone
    rid = started["round_id"]

    # Ana and Ben like card 2; Cleo says no to card 1 and yes to card 2.
    for seat in room.seats[:2]:
        reply = await command(
            seat.ws, {"type": "vote", "round_id": rid, "film_id": films[1], "choice": "yes"}, "v1"
        )
        assert reply["type"] == "ack"
    no = {"type": "vote", "round_id": rid, "film_id": films[0], "choice": "no"}
    assert (await command(room.seats[2].ws, no, "v0"))["type"] == "ack"
    tally = await room.seats[0].ws.next_type("round.tally")
    assert tally["eligible"] == 3
    assert tally.get("standings") is None  # match votes stay private
    yes = {"type": "vote", "round_id": rid, "film_id": films[1], "choice": "yes"}
    assert (await command(room.seats[2].ws, yes, "v2"))["type"] == "ack"
    for seat in room.seats:
        result = await seat.ws.next_type("round.result")
        assert result["winner"]["id"] == films[1] and result["mode"] == "match"
    assert result["explanation"]["yes"][films[1]] == 3

    late = await command(room.seats[0].ws, {**yes, "film_id": films[2]}, "v3")
    assert (late["type"], late["code"]) == ("error", "round_closed")
    state = (await snapshot(live, room.session_id, room.seats[1].token))["round"]
    assert state["status"] == "closed" and state["winner"]["id"] == films[1]
    await room.close()


def _strings(value: Any) -> set[str]:
    """Every string in a decoded JSON value, keys included."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set(value) | {s for item in value.values() for s in _strings(item)}
    if isinstance(value, list):
        return {s for item in value for s in _strings(item)}
    return set()


async def test_match_progress_says_how_far_each_member_is_never_what_they_said(
    live: LiveServer,
) -> None:
    room = await open_room(live, ["Ana", "Ben", "Cleo"])
    started = await start(room, mode="match", size=4)
    films, rid = film_ids(started), started["round_id"]
    ana, ben, cleo = room.seats
    for seat, film, choice, cid in [
        (ana, films[0], "yes", "a1"),
        (ben, films[0], "no", "b1"),
        (ben, films[2], "yes", "b2"),
        (ana, films[0], "no", "a2"),  # a changed answer is still one card
    ]:
        frame = {"type": "vote", "round_id": rid, "film_id": film, "choice": choice}
        assert (await command(seat.ws, frame, cid))["type"] == "ack"
    expected = {ana.member_id: 1, ben.member_id: 2, cleo.member_id: 0}
    tally = await cleo.ws.next_type("round.tally")
    while tally["answered"] != expected:  # coalesced: a later tally has the newest counts
        tally = await cleo.ws.next_type("round.tally")
    assert (tally["voted"], tally["eligible"]) == (0, 3)
    # counts keyed by member; no film and no choice anywhere in the frame
    assert _strings(tally) <= {"type", "round.tally", "round_id", rid, *tally, *expected}
    assert not set(films) & _strings(tally)
    # a reload shows the same progress, and the member's own answers only
    state = (await snapshot(live, room.session_id, ben.token))["round"]
    assert state["answered"] == expected
    assert state["my_votes"] == {films[0]: "no", films[2]: "yes"}
    assert not set(films) & _strings({k: v for k, v in state.items() if k == "answered"})
    await room.close()


async def test_match_without_a_match_names_the_closest_films(live: LiveServer) -> None:
    room = await open_room(live, ["Ana", "Ben"])
    started = await start(room, mode="match", size=3)
    films, rid = film_ids(started), started["round_id"]
    for seat in room.seats:
        for index, film in enumerate(films):
            choice = "yes" if (seat.name == "Ana" and index == 2) else "no"
            frame = {"type": "vote", "round_id": rid, "film_id": film, "choice": choice}
            assert (await command(seat.ws, frame, f"{seat.name}{index}"))["type"] == "ack"
    result = await room.seats[1].ws.next_type("round.result")
    assert result["winner"] is None
    assert result["explanation"]["closest"][0] == {"film": films[2], "yes": 1}
    await room.close()


async def test_bad_round_commands_get_stable_codes(live: LiveServer) -> None:
    room = await open_room(live, ["Ana", "Ben"])
    ben = room.seats[1].ws

    async def error(ws: RawMember, frame: dict[str, Any], cid: str) -> str:
        reply = await command(ws, frame, cid)
        assert reply["type"] == "error", reply
        return str(reply["code"])

    assert await error(ben, {"type": "round.start", "mode": "match"}, "a") == "host_only"
    assert (
        await error(ben, {"type": "vote", "round_id": "nope", "film_id": "1", "choice": "yes"}, "b")
        == "round_not_found"
    )
    assert (
        await error(
            room.host.ws, {"type": "round.start", "mode": "poll", "films": ["999999", "1"]}, "c"
        )
        == "film_not_in_round"
    )
    assert (
        await error(
            room.host.ws, {"type": "round.start", "mode": "poll", "films": ["1", "1"]}, "c2"
        )
        == "bad_films"
    )
    started = await start(room, mode="poll", method="borda", size=3)
    rid, films = started["round_id"], film_ids(started)
    assert await error(room.host.ws, {"type": "round.start", "mode": "veto"}, "d") == "round_open"
    assert (
        await error(
            ben, {"type": "vote", "round_id": rid, "film_id": films[0], "choice": "yes"}, "e"
        )
        == "wrong_mode"
    )
    assert (
        await error(ben, {"type": "ballot", "round_id": rid, "ranking": ["424242"]}, "f")
        == "film_not_in_round"
    )
    assert (
        await error(ben, {"type": "ballot", "round_id": rid, "ranking": [films[0], films[0]]}, "g")
        == "bad_ballot"
    )
    assert (
        await error(ben, {"type": "veto", "round_id": rid, "film_id": films[0]}, "h")
        == "wrong_mode"
    )
    assert await error(ben, {"type": "round.close", "round_id": rid}, "i") == "host_only"

    # A member who joins mid-round watches: their ballot is not counted.
    late = await http_join(live, room.invite_code, "Dee")
    dee, _ = await connect_member(live.ws_url, room.session_id, late["token"])
    assert (
        await error(dee, {"type": "ballot", "round_id": rid, "ranking": films}, "j")
        == "not_eligible"
    )
    await dee.close()
    await room.close()


async def test_poll_closes_when_everyone_voted_and_explains_schulze(live: LiveServer) -> None:
    room = await open_room(live, ["Ana", "Ben", "Cleo"])
    started = await start(room, mode="poll", size=3)
    assert started["method"] == "schulze"
    a, b, c = film_ids(started)
    rid = started["round_id"]
    ballots = {"Ana": [a, b, c], "Ben": [b, c, a], "Cleo": [b, a, c]}
    # Ana changes her mind once: the second ballot replaces the first.
    first = {"type": "ballot", "round_id": rid, "ranking": [c, b, a]}
    assert (await command(room.seats[0].ws, first, "x0"))["type"] == "ack"
    for seat in room.seats:
        frame = {"type": "ballot", "round_id": rid, "ranking": ballots[seat.name]}
        assert (await command(seat.ws, frame, f"b-{seat.name}"))["type"] == "ack"
    result = await room.seats[0].ws.next_type("round.result")
    assert result["winner"]["id"] == b and result["method"] == "schulze"
    pairwise = result["explanation"]["pairwise"]
    assert pairwise[b][a] == 2 and pairwise[a][b] == 1
    assert "strongest" in result["explanation"]
    await room.close()


async def test_hidden_poll_shows_progress_not_standings_and_closes_at_its_deadline(
    live: LiveServer,
) -> None:
    room = await open_room(live, ["Ana", "Ben"])
    started = await start(room, mode="poll", method="approval", size=3, hidden=True, deadline_s=1.0)
    films, rid = film_ids(started), started["round_id"]
    assert started["hidden"] is True and started["deadline"] is not None
    ballot = {"type": "ballot", "round_id": rid, "ranking": [films[1]]}
    assert (await command(room.seats[1].ws, ballot, "b"))["type"] == "ack"
    tally = await room.seats[0].ws.next_type("round.tally")
    assert (tally["voted"], tally["eligible"]) == (1, 2)
    assert tally.get("standings") is None
    result = await room.seats[0].ws.next_type("round.result", timeout=6)
    assert result["winner"]["id"] == films[1]
    assert result["explanation"]["approvals"][films[1]] == 1
    await room.close()


async def test_veto_takes_turns_and_skips_an_offline_member(
    app: Litestar, settings: Settings
) -> None:
    fast = msgspec.structs.replace(settings, veto_turn_timeout_s=0.5)
    async with run_live(create_app(fast), fast) as live:
        room = await open_room(live, ["Ana", "Ben", "Cleo"])
        started = await start(room, mode="veto", size=4)
        films, rid = film_ids(started), started["round_id"]
        order = started["order"]
        assert order == [s.member_id for s in room.seats] and started["turn"] == order[0]
        by_id = {s.member_id: s for s in room.seats}

        out_of_turn = await command(
            by_id[order[1]].ws, {"type": "veto", "round_id": rid, "film_id": films[0]}, "o"
        )
        assert out_of_turn["code"] == "not_your_turn"
        assert (
            await command(
                by_id[order[0]].ws, {"type": "veto", "round_id": rid, "film_id": films[0]}, "s1"
            )
        )["type"] == "ack"
        tally = await by_id[order[2]].ws.next_type("round.tally")
        assert tally["turn"] == order[1] and tally["remaining"] == films[1:]
        struck = await command(
            by_id[order[1]].ws, {"type": "veto", "round_id": rid, "film_id": films[0]}, "s2"
        )
        assert struck["code"] == "film_not_in_round"  # already struck
        assert (
            await command(
                by_id[order[1]].ws, {"type": "veto", "round_id": rid, "film_id": films[1]}, "s3"
            )
        )["type"] == "ack"

        # Cleo's turn, but Cleo goes offline: after the timeout her turn is skipped.
        await by_id[order[2]].ws.close()
        skipped = await by_id[order[0]].ws.next_type("round.tally", timeout=8)
        while skipped["turn"] != order[0]:
            skipped = await by_id[order[0]].ws.next_type("round.tally", timeout=8)
        assert skipped["remaining"] == films[2:]
        last = {"type": "veto", "round_id": rid, "film_id": films[2]}
        last_ack = await command(by_id[order[0]].ws, last, "s4")
        # the last strike has its logged tally like every other, then the result
        final = await by_id[order[1]].ws.next_type("round.tally", "round.result")
        while final["type"] == "round.tally" and final["struck"] != films[2]:
            final = await by_id[order[1]].ws.next_type("round.tally", "round.result")
        assert final["type"] == "round.tally"
        assert (final["struck"], final["by"], final["remaining"]) == (films[2], order[0], films[3:])
        assert final["turn"] is None
        result = await by_id[order[1]].ws.next_type("round.result")
        assert result["seq"] == final["seq"] + 1
        assert last_ack["seqs"] == [final["seq"], result["seq"]]
        assert result["winner"]["id"] == films[3]
        assert [s["film"] for s in result["explanation"]["strikes"]] == films[:3]
        for seat in room.seats[:2]:
            await seat.ws.close()


async def test_a_member_leaving_mid_match_completes_it_and_the_host_role_passes(
    live: LiveServer,
) -> None:
    room = await open_room(live, ["Ana", "Ben", "Cleo"])
    started = await start(room, mode="match", size=3)
    films, rid = film_ids(started), started["round_id"]
    for seat in room.seats[1:]:
        frame = {"type": "vote", "round_id": rid, "film_id": films[0], "choice": "yes"}
        assert (await command(seat.ws, frame, "y"))["type"] == "ack"
    # The host, the only one who has not said yes, leaves: the round is decided without her.
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        gone = await http.delete(
            f"/api/v1/sessions/{room.session_id}/members/me",
            headers={"Authorization": f"Bearer {room.host.token}"},
        )
        assert gone.status_code == 204
    left = await room.seats[1].ws.next_type("member.left")
    assert left["new_host_id"] == room.seats[1].member_id
    result = await room.seats[1].ws.next_type("round.result")
    assert result["winner"]["id"] == films[0]
    # The new host can start the next round.
    nxt = await command(room.seats[1].ws, {"type": "round.start", "mode": "match"}, "n")
    assert nxt["type"] == "ack"
    for seat in room.seats[1:]:
        await seat.ws.close()


async def test_ballots_survive_a_restart_and_the_poll_continues(
    settings: Settings,
) -> None:
    async with run_live(create_app(settings), settings) as live:
        room = await open_room(live, ["Ana", "Ben", "Cleo"])
        started = await start(room, mode="poll", method="irv", size=3)
        films, rid = film_ids(started), started["round_id"]
        for seat, ranking in zip(
            room.seats[:2], ([films[2], films[0]], [films[2], films[1]]), strict=False
        ):
            frame = {"type": "ballot", "round_id": rid, "ranking": ranking}
            assert (await command(seat.ws, frame, "b1"))["type"] == "ack"
        await room.close()
    async with run_live(create_app(settings), settings) as live:
        ana, welcome = await connect_member(live.ws_url, room.session_id, room.host.token)
        assert welcome is not None
        state = welcome["session"]["round"]
        assert state["status"] == "open" and state["voted"] == 2
        assert state["my_ballot"] == [films[2], films[0]]
        cleo, _ = await connect_member(live.ws_url, room.session_id, room.seats[2].token)
        frame = {"type": "ballot", "round_id": rid, "ranking": [films[0]]}
        assert (await command(cleo, frame, "b2"))["type"] == "ack"
        result = await ana.next_type("round.result")
        assert result["winner"]["id"] == films[2]
        assert result["explanation"]["rounds"][0]["counts"][films[2]] == 2
        await ana.close()
        await cleo.close()


async def test_a_large_poll_sends_coalesced_tallies(live: LiveServer) -> None:
    room = await open_room(live, [f"M{i}" for i in range(12)], films=[ALIEN, HEAT, SOLARIS])
    started = await start(room, mode="poll", method="borda", size=3)
    films, rid = film_ids(started), started["round_id"]
    observer = room.seats[0].ws
    for index, seat in enumerate(room.seats[1:]):
        ranking = films if index % 2 else list(reversed(films))
        await seat.ws.send({"type": "ballot", "round_id": rid, "ranking": ranking})
    frames = await observer.quiet(1.5)
    tallies = [f for f in frames if f["type"] == "round.tally"]
    assert tallies and tallies[-1]["voted"] == 11
    assert len(tallies) < 11  # coalesced: fewer tallies than ballots
    assert tallies[-1]["standings"]["scores"]
    await room.close()


async def test_ballots_sent_together_each_get_their_own_answer(live: LiveServer) -> None:
    room = await open_room(live, [f"M{i}" for i in range(8)], films=[ALIEN, HEAT, SOLARIS])
    started = await start(room, mode="poll", method="approval", size=3)
    films, rid = film_ids(started), started["round_id"]
    voters = room.seats[1:]
    frames: list[tuple[RawMember, dict[str, Any]]] = []
    for n, seat in enumerate(voters):
        ranking = [films[n % 3]] if n != 3 else ["999999"]  # one bad ballot in the batch
        frames.append(
            (seat.ws, {"type": "ballot", "round_id": rid, "ranking": ranking, "id": f"b{n}"})
        )
    frames.append((voters[0].ws, frames[0][1]))  # a resend of the same id
    for ws, frame in frames:
        await ws.send(frame)
    replies = {}
    for ws, frame in frames[:-1]:
        replies[frame["id"]] = await ws.next_type("ack", "error")
    resent = await voters[0].ws.next_type("ack", "error")
    assert resent == replies["b0"]  # applied once, answered twice alike
    assert replies["b3"]["code"] == "film_not_in_round"
    assert all(r["type"] == "ack" for k, r in replies.items() if k != "b3")
    tally = await room.host.ws.next_type("round.tally")
    while tally["voted"] < 6:
        tally = await room.host.ws.next_type("round.tally")
    assert (tally["voted"], tally["eligible"]) == (6, 8)
    assert sum(tally["standings"]["scores"].values()) == 6
    await room.close()


async def test_the_example_bots_play_a_match_round(live: LiveServer) -> None:
    from realtime.bots import MirrorMajority, YesBefore2000, run_bot
    from realtime.client import FilmnightClient

    host = await http_create(live, "Ana")
    await _upload(live, host["session_id"], host["token"], [HEAT, ALIEN, PARASITE])
    ana, _ = await connect_member(live.ws_url, host["session_id"], host["token"])
    invite = host["invite_url"]
    async with (
        await FilmnightClient.join(invite, "Old-timer") as old,
        await FilmnightClient.join(invite, "Follower") as follower,
    ):
        bots = [
            asyncio.create_task(run_bot(old, YesBefore2000())),
            asyncio.create_task(run_bot(follower, MirrorMajority())),
        ]
        await asyncio.sleep(0.5)  # both bots are online when the round starts
        reply = await command(ana, {"type": "round.start", "mode": "match", "size": 3}, "go")
        assert reply["type"] == "ack"
        started = await ana.next_type("round.started")
        assert len(started["eligible"]) == 3
        by_title = {f["title"]: f["id"] for f in started["films"]}
        # Ana says yes to the pre-2000 films as the old-timer does, the follower to everything.
        for title in ("Heat", "Alien"):
            frame = {
                "type": "vote",
                "round_id": started["round_id"],
                "film_id": by_title[title],
                "choice": "yes",
            }
            await command(ana, frame, f"yes-{title.lower()}")
        result = await ana.next_type("round.result")
        assert result["winner"]["title"] in {"Heat", "Alien"}
        assert result["explanation"]["yes"][by_title["Parasite"]] < 3
        for task in bots:
            task.cancel()
        await asyncio.gather(*bots, return_exceptions=True)
    await ana.close()


async def test_the_host_picks_films_closes_early_and_a_reload_restores_my_votes(
    live: LiveServer,
) -> None:
    room = await open_room(live, ["Ana", "Ben"])
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        nominated = await http.post(
            f"/api/v1/sessions/{room.session_id}/nominations",
            json={"title": "Paris, Texas", "year": 1984},
            headers={"Authorization": f"Bearer {room.host.token}"},
        )
    paris = nominated.json()["id"]
    poll = await start(room, "p", mode="poll", size=2)
    assert paris in film_ids(poll) and len(film_ids(poll)) == 3  # nominations join the shortlist
    closed = await command(room.host.ws, {"type": "round.close", "round_id": poll["round_id"]}, "c")
    assert closed["type"] == "ack"
    result = await room.host.ws.next_type("round.result")
    assert result["explanation"]["ballots"] == 0 and result["tied"] == film_ids(poll)

    chosen = film_ids(poll)[1:]
    match = await start(room, "m", mode="match", films=chosen)
    assert film_ids(match) == chosen
    vote = {"type": "vote", "round_id": match["round_id"], "film_id": chosen[0], "choice": "no"}
    assert (await command(room.seats[1].ws, vote, "v"))["type"] == "ack"
    state = (await snapshot(live, room.session_id, room.seats[1].token))["round"]
    assert state["my_votes"] == {chosen[0]: "no"} and state["status"] == "open"
    assert (await snapshot(live, room.session_id, room.host.token))["round"]["my_votes"] == {}
    end = await command(room.host.ws, {"type": "round.close", "round_id": match["round_id"]}, "e")
    assert end["type"] == "ack"
    ended_match = await room.seats[1].ws.next_type("round.result")
    while ended_match["round_id"] != match["round_id"]:
        ended_match = await room.seats[1].ws.next_type("round.result")
    assert ended_match["winner"] is None

    veto = await start(room, "v", mode="veto", size=3)
    state = (await snapshot(live, room.session_id, room.host.token))["round"]
    assert state["turn"] == room.host.member_id and state["remaining"] == film_ids(veto)
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        ended = await http.delete(
            f"/api/v1/sessions/{room.session_id}",
            headers={"Authorization": f"Bearer {room.host.token}"},
        )
        assert ended.status_code == 204
    await room.seats[1].ws.next_type("session.ended")
    await room.close()


async def test_a_veto_and_a_match_go_on_after_a_restart(settings: Settings) -> None:
    async with run_live(create_app(settings), settings) as live:
        room = await open_room(live, ["Ana", "Ben"])
        veto = await start(room, "v", mode="veto", size=3)
        films, rid = film_ids(veto), veto["round_id"]
        strike = {"type": "veto", "round_id": rid, "film_id": films[0]}
        assert (await command(room.host.ws, strike, "s1"))["type"] == "ack"
        await room.close()
    async with run_live(create_app(settings), settings) as live:
        ben, welcome = await connect_member(live.ws_url, room.session_id, room.seats[1].token)
        assert welcome is not None
        state = welcome["session"]["round"]
        assert (state["turn"], state["remaining"]) == (room.seats[1].member_id, films[1:])
        again = {"type": "veto", "round_id": rid, "film_id": films[1], "id": "s1"}
        await ben.send(again)
        assert (await ben.next_type("ack", "error"))["type"] == "ack"
        result = await ben.next_type("round.result")
        assert result["winner"]["id"] == films[2]
        ana, _ = await connect_member(live.ws_url, room.session_id, room.host.token)
        await asyncio.sleep(0.2)
        match = await command(ana, {"type": "round.start", "mode": "match", "size": 2}, "m")
        assert match["type"] == "ack"
        started = await ana.next_type("round.started")
        yes = {"type": "vote", "round_id": started["round_id"], "film_id": film_ids(started)[1]}
        assert (await command(ana, {**yes, "choice": "yes"}, "y"))["type"] == "ack"
        await ana.close()
        await ben.close()
    async with run_live(create_app(settings), settings) as live:
        ben, welcome = await connect_member(live.ws_url, room.session_id, room.seats[1].token)
        assert welcome is not None and welcome["session"]["round"]["status"] == "open"
        assert (await command(ben, {**yes, "choice": "yes"}, "y"))["type"] == "ack"
        assert (await ben.next_type("round.result"))["winner"]["id"] == film_ids(started)[1]
        await ben.close()


async def test_the_host_extends_a_polls_deadline_and_it_closes_at_the_new_one(
    live: LiveServer,
) -> None:
    """WCAG 2.2.1: people who need more time get it; the clock follows the new deadline."""
    room = await open_room(live, ["Ana", "Ben"])
    started = await start(room, mode="poll", method="approval", size=3, deadline_s=1.0)
    rid, ben = started["round_id"], room.seats[1].ws
    extend = {"type": "round.extend", "round_id": rid, "seconds": 2}
    assert (await command(ben, extend, "e0"))["code"] == "host_only"
    ack = await command(room.host.ws, extend, "e1")
    moved = await ben.next_type("round.deadline")
    assert moved["deadline"] == started["deadline"] + 2_000
    assert (moved["round_id"], moved["by"], ack["seqs"]) == (
        rid,
        room.host.member_id,
        [moved["seq"]],
    )
    state = await snapshot(live, room.session_id, room.seats[1].token)
    assert state["round"]["deadline"] == moved["deadline"]
    hour = await command(room.host.ws, {**extend, "seconds": 3600}, "e2")
    assert hour["type"] == "ack"
    await ben.next_type("round.deadline")
    await command(room.host.ws, {"type": "round.close", "round_id": rid}, "c1")
    await ben.next_type("round.result")
    assert (await command(room.host.ws, extend, "e3"))["code"] == "round_closed"

    # the clock closes a poll at its extended deadline, not at the first one
    again = await start(room, "start2", mode="poll", method="approval", size=3, deadline_s=0.5)
    await command(room.host.ws, {**extend, "round_id": again["round_id"], "seconds": 1}, "e4")
    early = await ben.quiet(0.9)  # past the first deadline: still open
    assert [f for f in early if f["type"] == "round.result"] == []
    state = await snapshot(live, room.session_id, room.seats[1].token)
    assert state["round"]["status"] == "open"
    result = await ben.next_type("round.result", timeout=6)
    assert result["round_id"] == again["round_id"]

    match = await start(room, "start3", mode="match", size=3)
    no_deadline = {"type": "round.extend", "round_id": match["round_id"], "seconds": 5}
    assert (await command(room.host.ws, no_deadline, "e5"))["code"] == "no_deadline"
    await room.close()
