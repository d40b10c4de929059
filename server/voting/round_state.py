"""The three kinds of round as pure, storable state machines (no I/O).

A round is stored msgpack-encoded in its ``fn_round`` row and changed only under
that row's lock, so a restart resumes it exactly.  Every refusal is a
:class:`RoundError` with a stable code.

Rules (docs/protocol.md quotes them):

- **Eligible members** are those present when the round started.  A member who
  joins later may watch but not vote (``not_eligible``).  A member who leaves
  stops counting: their votes are dropped, and what they were holding up is
  decided without them.
- **Match**: each member says yes or no to every card (a vote may be changed while
  the round is open).  The first film that has a yes from every eligible member is
  the match.  When everyone has answered every card without a match, the round
  closes with no winner and names the three films closest to one (most yeses,
  then card order).  Yes counts stay private until the result.
- **Poll**: each member submits a ranking (``ballot``), best first; a new ballot
  replaces the old one.  The poll closes when every eligible member has voted, when
  the host closes it, or at its deadline, and the winner comes from
  ``server.voting.methods`` (ties go to the film earlier in the shortlist).  The
  host may extend a deadline that has not passed (WCAG 2.2.1), to at most
  ``MAX_DEADLINE_MS`` from now.
- **Veto**: members strike one film each in the fixed turn order (joining order),
  cycling until one film remains.  When a member's turn has lasted
  ``veto_turn_timeout_s`` and they are offline, their turn is skipped; an online
  member is never skipped.  A host closing a veto early makes the first remaining
  film (in the round's order) the winner, with every remaining film ``tied``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import msgspec

from realtime.protocol import (
    ApprovalStandings,
    BordaStandings,
    Explanation,
    IrvStandings,
    Mode,
    SchulzeStandings,
    Standings,
)
from server.errors import DomainError
from server.voting.methods import Method, tally

__all__ = [
    "MAX_DEADLINE_MS",
    "AnyRound",
    "MatchRound",
    "Outcome",
    "PollRound",
    "Result",
    "RoundError",
    "VetoRound",
    "decode_round",
    "encode_round",
    "explain",
]

CLOSEST = 3
MAX_DEADLINE_MS = 24 * 3600 * 1000
"""The furthest a deadline may lie from now (the same day ``round.start`` allows)."""


class RoundError(DomainError):
    """A refused round action: ``code`` is stable, ``message`` is for people."""


class Result(msgspec.Struct, kw_only=True):
    winner: str | None
    tied: list[str] = msgspec.field(default_factory=list)
    explanation: dict[str, Any] = msgspec.field(default_factory=dict)
    """Stored as the method (or mode) built it; :func:`explain` gives its typed,
    tagged form for the wire."""


class Outcome(msgspec.Struct, kw_only=True):
    """What an action did: ``changed`` (tallies move), a ``result`` when it closed the round."""

    changed: bool = False
    result: Result | None = None
    struck: str | None = None


class _Round(msgspec.Struct, kw_only=True, tag_field="mode"):
    MODE: ClassVar[Mode]
    round_id: str
    films: list[str]
    eligible: list[str]
    started_at_ms: int
    status: Literal["open", "closed"] = "open"
    result: Result | None = None

    def _require_open(self) -> None:
        if self.status != "open":
            raise RoundError("round_closed", "This round is over.")

    def _require_eligible(self, member: str) -> None:
        if member not in self.eligible:
            raise RoundError(
                "not_eligible", "You joined after this round started: vote in the next one."
            )

    def _require_film(self, film: str, pool: list[str] | None = None) -> None:
        if film not in (self.films if pool is None else pool):
            raise RoundError("film_not_in_round", "That film is not in this round.")

    def _finish(self, result: Result) -> Outcome:
        self.status = "closed"
        self.result = result
        return Outcome(changed=True, result=result)

    def due_at(self) -> int | None:
        """When the clock next needs to look at this round (``None``: never)."""
        return None

    def extend(self, seconds: int, *, now_ms: int) -> int:
        """Give people more time: the deadline moves ``seconds`` later (polls only)."""
        self._require_open()
        raise RoundError("no_deadline", "This round has no deadline to extend.")

    def on_clock(self, *, now_ms: int, online: set[str]) -> Outcome:
        return Outcome()

    def voted(self) -> int:
        raise NotImplementedError

    def close(self, *, now_ms: int) -> Outcome:
        raise NotImplementedError

    def remove_member(self, member: str, *, now_ms: int) -> Outcome:
        raise NotImplementedError


class MatchRound(_Round, tag="match", kw_only=True):
    MODE: ClassVar[Mode] = "match"
    votes: dict[str, dict[str, bool]] = msgspec.field(default_factory=dict)
    """member → film → yes?"""

    def vote(self, member: str, film: str, yes: bool) -> Outcome:
        self._require_open()
        self._require_eligible(member)
        self._require_film(film)
        self.votes.setdefault(member, {})[film] = yes
        if yes and self._all_yes(film):
            return self._finish(self._match(film))
        if self.voted() == len(self.eligible):
            return self._finish(self._no_match())
        return Outcome(changed=True)

    def _all_yes(self, film: str) -> bool:
        return all(self.votes.get(m, {}).get(film) is True for m in self.eligible)

    def yes_counts(self) -> dict[str, int]:
        return {
            film: sum(1 for m in self.eligible if self.votes.get(m, {}).get(film) is True)
            for film in self.films
        }

    def _match(self, film: str) -> Result:
        return Result(
            winner=film,
            tied=[film],
            explanation={"yes": self.yes_counts(), "cards": len(self.films)},
        )

    def _no_match(self) -> Result:
        counts = self.yes_counts()
        order = {film: i for i, film in enumerate(self.films)}
        closest = sorted(
            (f for f in self.films if counts[f] > 0), key=lambda f: (-counts[f], order[f])
        )
        return Result(
            winner=None,
            explanation={
                "yes": counts,
                "cards": len(self.films),
                "closest": [{"film": f, "yes": counts[f]} for f in closest[:CLOSEST]],
            },
        )

    def answered(self) -> dict[str, int]:
        """How many cards each eligible member has answered: progress, never the answers."""
        return {m: len(self.votes.get(m, {})) for m in self.eligible}

    def voted(self) -> int:
        """Members who have answered every card."""
        return sum(1 for m in self.eligible if len(self.votes.get(m, {})) == len(self.films))

    def close(self, *, now_ms: int) -> Outcome:
        self._require_open()
        return self._finish(self._no_match())

    def remove_member(self, member: str, *, now_ms: int) -> Outcome:
        if self.status != "open" or member not in self.eligible:
            return Outcome()
        self.eligible.remove(member)
        self.votes.pop(member, None)
        if not self.eligible:
            return self._finish(self._no_match())
        for film in self.films:  # card order: the first film now complete is the match
            if self._all_yes(film):
                return self._finish(self._match(film))
        if self.voted() == len(self.eligible):
            return self._finish(self._no_match())
        return Outcome(changed=True)


class PollRound(_Round, tag="poll", kw_only=True):
    MODE: ClassVar[Mode] = "poll"
    method: Method = "schulze"
    hidden: bool = False
    deadline_ms: int | None = None
    ballots: dict[str, list[str]] = msgspec.field(default_factory=dict)

    def ballot(self, member: str, ranking: list[str], *, now_ms: int) -> Outcome:
        self._require_open()
        self._require_eligible(member)
        if len(set(ranking)) != len(ranking):
            raise RoundError("bad_ballot", "A film appears twice in your ranking.")
        for film in ranking:
            self._require_film(film)
        self.ballots[member] = list(ranking)
        if self.voted() == len(self.eligible):
            return self._finish(self._result())
        return Outcome(changed=True)

    def _counted(self) -> list[list[str]]:
        return [self.ballots[m] for m in self.eligible if m in self.ballots]

    def _result(self) -> Result:
        counted = tally(self.method, self.films, self._counted())
        explanation = dict(counted.explanation)
        explanation["ballots"] = len(self._counted())
        return Result(winner=counted.winner, tied=list(counted.winners), explanation=explanation)

    def standings(self) -> Standings:
        """The current leader board, as a client draws it: scores per film, tagged
        with the method (which says what they count)."""
        counted = tally(self.method, self.films, self._counted())
        ex, leader = counted.explanation, counted.winner
        if self.method == "approval":
            return ApprovalStandings(
                scores=ex["approvals"], label="Approvals so far", leader=leader
            )
        if self.method == "borda":
            return BordaStandings(scores=ex["scores"], label="Borda points so far", leader=leader)
        if self.method == "irv":
            first = ex["rounds"][0]["counts"] if ex["rounds"] else {}
            return IrvStandings(scores=first, label="First choices so far", leader=leader)
        pairwise: dict[str, dict[str, int]] = ex["pairwise"]
        wins = {
            a: sum(1 for b, n in row.items() if n > pairwise[b][a]) for a, row in pairwise.items()
        }
        return SchulzeStandings(scores=wins, label="Head-to-head wins so far", leader=leader)

    def voted(self) -> int:
        return sum(1 for m in self.eligible if m in self.ballots)

    def close(self, *, now_ms: int) -> Outcome:
        self._require_open()
        return self._finish(self._result())

    def due_at(self) -> int | None:
        return self.deadline_ms

    def extend(self, seconds: int, *, now_ms: int) -> int:
        self._require_open()
        if self.deadline_ms is None:
            raise RoundError("no_deadline", "This poll has no deadline to extend.")
        if now_ms >= self.deadline_ms:  # the clock is about to close it
            raise RoundError("round_closed", "This round's time is up.")
        deadline = self.deadline_ms + seconds * 1000
        if seconds < 1 or deadline - now_ms > MAX_DEADLINE_MS:
            raise RoundError("bad_extension", "An extended deadline lies at most a day from now.")
        self.deadline_ms = deadline
        return deadline

    def on_clock(self, *, now_ms: int, online: set[str]) -> Outcome:
        if self.status == "open" and self.deadline_ms is not None and now_ms >= self.deadline_ms:
            return self._finish(self._result())
        return Outcome()

    def remove_member(self, member: str, *, now_ms: int) -> Outcome:
        if self.status != "open" or member not in self.eligible:
            return Outcome()
        self.eligible.remove(member)
        self.ballots.pop(member, None)
        if not self.eligible or self.voted() == len(self.eligible):
            return self._finish(self._result())
        return Outcome(changed=True)


class Strike(msgspec.Struct):
    member: str
    film: str | None
    """``None``: the member's turn was skipped."""


class VetoRound(_Round, tag="veto", kw_only=True):
    MODE: ClassVar[Mode] = "veto"
    order: list[str]
    remaining: list[str]
    turn_index: int = 0
    turn_started_ms: int = 0
    turn_timeout_ms: int = 30_000
    strikes: list[Strike] = msgspec.field(default_factory=list)

    @classmethod
    def begin(
        cls,
        *,
        round_id: str,
        films: list[str],
        order: list[str],
        now_ms: int,
        turn_timeout_ms: int,
    ) -> VetoRound:
        return cls(
            round_id=round_id,
            films=list(films),
            eligible=list(order),
            started_at_ms=now_ms,
            order=list(order),
            remaining=list(films),
            turn_started_ms=now_ms,
            turn_timeout_ms=turn_timeout_ms,
        )

    def current_turn(self) -> str | None:
        if self.status != "open" or not self.order:
            return None
        return self.order[self.turn_index % len(self.order)]

    def turn_ends_at(self) -> int | None:
        return None if self.status != "open" else self.turn_started_ms + self.turn_timeout_ms

    def _next_turn(self, now_ms: int) -> None:
        self.turn_index = (self.turn_index + 1) % max(len(self.order), 1)
        self.turn_started_ms = now_ms

    def strike(self, member: str, film: str, *, now_ms: int) -> Outcome:
        self._require_open()
        self._require_eligible(member)
        if member not in self.order:
            raise RoundError("not_eligible", "You are not in this round's turn order.")
        if self.current_turn() != member:
            raise RoundError("not_your_turn", "Wait for your turn to strike a film.")
        self._require_film(film, self.remaining)
        self.remaining.remove(film)
        self.strikes.append(Strike(member, film))
        if len(self.remaining) == 1:
            outcome = self._finish(self._decided())
            outcome.struck = film
            return outcome
        self._next_turn(now_ms)
        return Outcome(changed=True, struck=film)

    def _decided(self, tied: list[str] | None = None) -> Result:
        winner = self.remaining[0] if self.remaining else None
        return Result(
            winner=winner,
            tied=tied if tied is not None else ([winner] if winner else []),
            explanation={
                "strikes": [{"member": s.member, "film": s.film} for s in self.strikes if s.film],
                "skipped": [s.member for s in self.strikes if s.film is None],
                "remaining": list(self.remaining),
            },
        )

    def voted(self) -> int:
        return sum(1 for s in self.strikes if s.film is not None)

    def close(self, *, now_ms: int) -> Outcome:
        self._require_open()
        return self._finish(self._decided(tied=list(self.remaining)))

    def due_at(self) -> int | None:
        return self.turn_ends_at()

    def on_clock(self, *, now_ms: int, online: set[str]) -> Outcome:
        """Skip an offline member whose turn timed out; an online one gets more time."""
        turn = self.current_turn()
        ends = self.turn_ends_at()
        if turn is None or ends is None or now_ms < ends:
            return Outcome()
        if turn in online or not any(m in online for m in self.order):
            self.turn_started_ms = now_ms  # present (or nobody is): wait another period
            return Outcome()
        self.strikes.append(Strike(turn, None))
        self._next_turn(now_ms)
        return Outcome(changed=True)

    def remove_member(self, member: str, *, now_ms: int) -> Outcome:
        if self.status != "open" or member not in self.order:
            return Outcome()
        index = self.order.index(member)
        current = self.turn_index % len(self.order)
        self.order.remove(member)
        if member in self.eligible:
            self.eligible.remove(member)
        if not self.order:
            return self._finish(self._decided(tied=list(self.remaining)))
        if index < current:
            self.turn_index = current - 1
        elif index == current:
            self.turn_index = current % len(self.order)
            self.turn_started_ms = now_ms
        return Outcome(changed=True)


AnyRound = MatchRound | PollRound | VetoRound


def explain(state: AnyRound, result: Result) -> Explanation:
    """``result``'s explanation as the wire's tagged union: its ``kind`` is the poll's
    method, or the round's mode for match and veto (a shape that does not fit fails
    here, not in a client)."""
    kind = state.method if isinstance(state, PollRound) else state.MODE
    typed: Explanation = msgspec.convert({**result.explanation, "kind": kind}, Explanation)
    return typed


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(AnyRound)


def encode_round(state: AnyRound) -> bytes:
    return _encoder.encode(state)


def decode_round(mode: str, data: bytes) -> AnyRound:
    """Decode a stored round (``mode`` is checked against the stored tag)."""
    state: AnyRound = _decoder.decode(data)
    if state.__struct_config__.tag != mode:
        raise ValueError("stored round does not match its mode")
    return state
