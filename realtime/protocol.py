"""The v1 wire protocol: every client command and server event as a msgspec Struct.

Two tagged unions (``ClientMessage`` and ``ServerMessage``) are the contract; the
JSON Schema served at ``/api/v1/protocol/schema.json`` and docs/protocol.md are
generated from / checked against these types.  Evolution rules (msgspec's): a new
field always has a default, a field's type never changes, nothing named in
PROTOCOL.md is renamed.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

__all__ = [
    "CHAT_MAX_LENGTH",
    "CLIENT_DECODER",
    "MAX_ID_LENGTH",
    "Ack",
    "ApprovalExplanation",
    "ApprovalStandings",
    "Ballot",
    "BordaExplanation",
    "BordaStandings",
    "Candidate",
    "CandidatesEvent",
    "Chat",
    "ChatEvent",
    "ChatLine",
    "ClientMessage",
    "Closest",
    "Countdown",
    "CountdownEvent",
    "ErrorEvent",
    "Explanation",
    "Film",
    "FilmsEnriched",
    "Hello",
    "ImportDone",
    "ImportFailed",
    "ImportProgress",
    "IrvExplanation",
    "IrvRound",
    "IrvStandings",
    "Limits",
    "LimitsEvent",
    "MatchExplanation",
    "MemberInfo",
    "MemberJoined",
    "MemberLeft",
    "Method",
    "Mode",
    "PartyEvent",
    "PartyInfo",
    "PartySetup",
    "Ping",
    "Playback",
    "PlaybackEvent",
    "PlaybackInfo",
    "Pong",
    "Presence",
    "Reaction",
    "ReactionEvent",
    "Ready",
    "ReadyEvent",
    "RoundClose",
    "RoundDeadline",
    "RoundExtend",
    "RoundInfo",
    "RoundResult",
    "RoundStart",
    "RoundStarted",
    "RoundTally",
    "SchulzeExplanation",
    "SchulzeStandings",
    "ServerMessage",
    "SessionEnded",
    "Snapshot",
    "Standings",
    "StreamingServices",
    "Struck",
    "Veto",
    "VetoExplanation",
    "Vote",
    "Welcome",
    "command_id_of",
    "decode_client",
    "encode",
]

MAX_ID_LENGTH = 64
"""Longest client command ``id`` accepted (characters)."""
CHAT_MAX_LENGTH = 500
"""Longest chat message (characters): the schema's bound on ``chat.text``, the
server's after it normalizes the text, and the web client's input (``CHAT_MAX_LENGTH``
in web-client/js/live.js; a test keeps them equal)."""

CommandId = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_LENGTH)]
FilmId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
RoundId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Seq = Annotated[int, msgspec.Meta(ge=0, le=2**53)]


class _Base(msgspec.Struct, kw_only=True, tag_field="type", forbid_unknown_fields=False):
    """Common base: ``type`` is the tag; unknown fields are ignored for forward compatibility."""


# ---------------------------------------------------------------- shared shapes

Mode = Literal["match", "poll", "veto"]
Method = Literal["approval", "borda", "irv", "schulze"]
"""A poll's voting method (``round.start``'s ``method``)."""


class Film(msgspec.Struct, kw_only=True):
    """A film of the public catalogue (never linked to who imported it)."""

    id: str
    title: str
    year: int | None = None
    slug: str | None = None
    poster_url: str | None = None
    """Our own ``/posters/{name}`` once the film-data provider gave a poster."""
    original_title: str | None = None
    localized_title: str | None = None
    """The title in the server's ``film_data_language`` (Russian with Kinopoisk)."""
    runtime_minutes: int | None = None
    genres: list[str] = msgspec.field(default_factory=list)
    directors: list[str] = msgspec.field(default_factory=list)
    tmdb_id: int | None = None
    imdb_id: str | None = None
    kinopoisk_id: int | None = None
    titles: dict[str, str] = msgspec.field(default_factory=dict)
    """The title in each client language the provider knows (``"en"``, ``"ru"``): a client
    shows the one of its language, else ``title``."""
    overview: str | None = None
    """The provider's summary in ``film_data_language``, at most 400 characters."""
    overviews: dict[str, str] = msgspec.field(default_factory=dict)
    """The summary in each client language the provider has one in, but for the one
    ``overview`` already is (each at most 400 characters): a client shows the one of its
    language, else ``overview``."""


class Limits(msgspec.Struct, kw_only=True):
    """The host's limits for tonight (``null`` / empty: no bound); see docs/protocol.md."""

    max_runtime_minutes: int | None = None
    exclude_genres: list[str] = msgspec.field(default_factory=list)
    year_from: int | None = None
    year_to: int | None = None


class Candidate(msgspec.Struct, kw_only=True):
    film: Film
    wanted_by: int
    """How many members have the film on their list."""
    nominated: bool = False
    """The host added it (by search or by title and year)."""


class MemberInfo(msgspec.Struct, kw_only=True):
    """A member as every other member sees them."""

    member_id: str
    name: str
    bot: bool = False
    host: bool = False
    online: bool = False
    import_state: Literal["none", "running", "done", "failed"] = "none"
    films: int | None = None
    """Films on the member's stored list (``None``: no list)."""
    import_reason: str | None = None
    """Why the newest import failed (an ``import.failed`` reason, or ``unreadable``)."""


class PlaybackInfo(msgspec.Struct, kw_only=True):
    """The shared clock: ``position_ms`` held at server time ``at``, advancing at ``rate``."""

    state: Literal["playing", "paused"] = "paused"
    position_ms: int = 0
    rate: float = 1.0
    at: int = 0
    by: str | None = None
    version: int = 0


class PartyInfo(msgspec.Struct, kw_only=True):
    """The watch party's state (``Snapshot.party``)."""

    film_title: str | None = None
    media_url: str | None = None
    control: Literal["host", "everyone"] = "host"
    playback: PlaybackInfo = msgspec.field(default_factory=PlaybackInfo)
    ready: list[str] = msgspec.field(default_factory=list)
    countdown_ends_at: int | None = None


# A round's result explains itself with the shape of its method (or mode): the
# ``kind`` tag says which, so a client never guesses it from the keys present.


class _Explanation(msgspec.Struct, kw_only=True, tag_field="kind"):
    pass


class ApprovalExplanation(_Explanation, tag="approval", kw_only=True):
    approvals: dict[str, int]
    """Approvals per film."""
    ballots: int = 0


class BordaExplanation(_Explanation, tag="borda", kw_only=True):
    scores: dict[str, float]
    """Borda points per film (unlisted films share the remaining positions)."""
    ballots: int = 0


class IrvRound(msgspec.Struct, kw_only=True):
    counts: dict[str, int]
    """First choices per film still in the race."""
    eliminated: list[str]


class IrvExplanation(_Explanation, tag="irv", kw_only=True):
    rounds: list[IrvRound]
    ballots: int = 0


class SchulzeExplanation(_Explanation, tag="schulze", kw_only=True):
    pairwise: dict[str, dict[str, int]]
    """``pairwise[a][b]``: ballots ranking a above b."""
    strongest: dict[str, dict[str, int]]
    """``strongest[a][b]``: the strength of the strongest path from a to b."""
    ballots: int = 0


class Closest(msgspec.Struct, kw_only=True):
    film: str
    yes: int


class MatchExplanation(_Explanation, tag="match", kw_only=True):
    yes: dict[str, int]
    """Yes votes per film (private until the result)."""
    cards: int
    closest: list[Closest] = msgspec.field(default_factory=list)
    """Without a match: the (at most three) films closest to one."""


class Struck(msgspec.Struct, kw_only=True):
    member: str
    film: str


class VetoExplanation(_Explanation, tag="veto", kw_only=True):
    strikes: list[Struck]
    skipped: list[str]
    """Members whose turn was skipped (offline past the turn's time)."""
    remaining: list[str]


Explanation = (
    ApprovalExplanation
    | BordaExplanation
    | IrvExplanation
    | SchulzeExplanation
    | MatchExplanation
    | VetoExplanation
)


class _Standings(msgspec.Struct, kw_only=True, tag_field="method"):
    label: str
    """What ``scores`` count, for people."""
    leader: str | None


class ApprovalStandings(_Standings, tag="approval", kw_only=True):
    scores: dict[str, int]
    """Approvals so far."""


class BordaStandings(_Standings, tag="borda", kw_only=True):
    scores: dict[str, float]
    """Borda points so far."""


class IrvStandings(_Standings, tag="irv", kw_only=True):
    scores: dict[str, int]
    """First choices so far."""


class SchulzeStandings(_Standings, tag="schulze", kw_only=True):
    scores: dict[str, int]
    """Head-to-head wins so far."""


Standings = ApprovalStandings | BordaStandings | IrvStandings | SchulzeStandings
"""A poll's live leader board, tagged with its ``method``."""


class RoundInfo(msgspec.Struct, kw_only=True):
    """The session's current (or last) voting round, as one member sees it."""

    round_id: str
    mode: Mode
    method: Method | None = None
    status: Literal["open", "closed"]
    films: list[Film]
    eligible: list[str]
    order: list[str] = msgspec.field(default_factory=list)
    hidden: bool = False
    deadline: int | None = None
    voted: int = 0
    turn: str | None = None
    turn_ends_at: int | None = None
    remaining: list[str] | None = None
    standings: Standings | None = None
    winner: Film | None = None
    tied: list[str] = msgspec.field(default_factory=list)
    explanation: Explanation | None = None
    """Set once the round is closed."""
    my_votes: dict[str, Literal["yes", "no"]] = msgspec.field(default_factory=dict)
    """This member's own match votes (votes are private until the match)."""
    my_ballot: list[str] | None = None
    answered: dict[str, int] = msgspec.field(default_factory=dict)
    """Match: cards answered per eligible member (how far, never what)."""


class ChatLine(msgspec.Struct, kw_only=True):
    """A chat message of the log, as the welcome's recent conversation carries it."""

    seq: int
    member_id: str
    name: str
    """The author's name, also when they have left since."""
    text: str
    at: int


class Snapshot(msgspec.Struct, kw_only=True):
    """The whole state of a session at ``seq`` (``GET /sessions/{id}`` and ``welcome``)."""

    session_id: str
    title: str
    state: Literal["lobby", "ended"]
    host_id: str
    seq: int
    members: list[MemberInfo]
    created_at: int
    party: PartyInfo = msgspec.field(default_factory=PartyInfo)
    round: RoundInfo | None = None
    chat: list[ChatLine] = msgspec.field(default_factory=list)
    """The last ``chat_history`` chat messages of the log, oldest first."""
    limits: Limits = msgspec.field(default_factory=Limits)
    """The host's limits for tonight."""
    film_data: Literal["none", "tmdb", "kinopoisk"] = "none"
    """The server's film-data provider: the client credits it as its terms ask."""


# ---------------------------------------------------------------- client → server


class Hello(_Base, tag="hello", kw_only=True):
    token: Annotated[str, msgspec.Meta(max_length=256)]
    last_seq: Seq | None = None


class Ping(_Base, tag="ping", kw_only=True):
    t: float


class RoundStart(_Base, tag="round.start", kw_only=True):
    mode: Mode
    method: Method = "schulze"
    films: Annotated[list[FilmId], msgspec.Meta(max_length=200)] | None = None
    size: Annotated[int, msgspec.Meta(ge=2, le=200)] | None = None
    hidden: bool = False
    deadline_s: Annotated[float, msgspec.Meta(gt=0, le=86400)] | None = None
    id: CommandId | None = None


class RoundClose(_Base, tag="round.close", kw_only=True):
    round_id: RoundId
    id: CommandId | None = None


class RoundExtend(_Base, tag="round.extend", kw_only=True):
    round_id: RoundId
    seconds: Annotated[int, msgspec.Meta(ge=1, le=3600)]
    id: CommandId | None = None


class Vote(_Base, tag="vote", kw_only=True):
    round_id: RoundId
    film_id: FilmId
    choice: Literal["yes", "no"]
    id: CommandId | None = None


class Ballot(_Base, tag="ballot", kw_only=True):
    round_id: RoundId
    ranking: Annotated[list[FilmId], msgspec.Meta(max_length=200)]
    id: CommandId | None = None


class Veto(_Base, tag="veto", kw_only=True):
    round_id: RoundId
    film_id: FilmId
    id: CommandId | None = None


class Ready(_Base, tag="ready", kw_only=True):
    ready: bool
    id: CommandId | None = None


class Playback(_Base, tag="playback", kw_only=True):
    action: Literal["play", "pause", "seek", "rate"]
    position_ms: int | None = None
    rate: float | None = None
    base_version: int | None = None
    id: CommandId | None = None


class PartySetup(_Base, tag="party.setup", kw_only=True):
    film_title: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    media_url: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    control: Literal["host", "everyone"] = "host"
    id: CommandId | None = None


class Countdown(_Base, tag="countdown", kw_only=True):
    action: Literal["start", "cancel", "extend"]
    seconds: Annotated[int, msgspec.Meta(ge=1, le=60)] = 5
    """``start``: the countdown's length; ``extend``: the seconds added to a running one."""
    force: bool = False
    id: CommandId | None = None


class Chat(_Base, tag="chat", kw_only=True):
    text: Annotated[str, msgspec.Meta(max_length=CHAT_MAX_LENGTH)]
    id: CommandId | None = None


class Reaction(_Base, tag="reaction", kw_only=True):
    emoji: Annotated[str, msgspec.Meta(max_length=16)]
    id: CommandId | None = None


ClientMessage = (
    Hello
    | Ping
    | RoundStart
    | RoundClose
    | RoundExtend
    | Vote
    | Ballot
    | Veto
    | Ready
    | Playback
    | PartySetup
    | Countdown
    | Chat
    | Reaction
)

# ---------------------------------------------------------------- server → client


class Welcome(_Base, tag="welcome", kw_only=True):
    member_id: str
    seq: int
    """The client's position after this frame: ``session.seq`` when not ``resumed``, the
    ``last_seq`` the client sent when ``resumed`` (the replay that follows advances it)."""
    resumed: bool
    session: Snapshot
    server_time: int


class MemberJoined(_Base, tag="member.joined", kw_only=True):
    seq: int
    member: MemberInfo


class MemberLeft(_Base, tag="member.left", kw_only=True):
    seq: int
    member_id: str
    reason: Literal["left", "removed"] = "left"
    new_host_id: str | None = None


class Presence(_Base, tag="presence", kw_only=True):
    """Ephemeral (no ``seq``): who came online and who went offline since the last one.

    Changes are coalesced per session on a short tick, so a room filling up sends a
    few frames per member instead of one per join (O(N) rather than O(N^2)).
    """

    online: list[str] = msgspec.field(default_factory=list)
    offline: list[str] = msgspec.field(default_factory=list)


class ImportProgress(_Base, tag="import.progress", kw_only=True):
    import_id: str
    member_id: str
    pages: int
    pages_total: int | None = None
    films: int


class ImportDone(_Base, tag="import.done", kw_only=True):
    seq: int
    import_id: str
    member_id: str
    films: int
    source: Literal["letterboxd", "letterboxd_zip", "letterboxd_csv", "imdb_csv"] = "letterboxd"
    skipped: int = 0
    """Rows of an upload that could not be read (the rest were imported)."""
    watched: int = 0


class ImportFailed(_Base, tag="import.failed", kw_only=True):
    seq: int
    import_id: str
    member_id: str
    reason: str
    message: str


class FilmsEnriched(_Base, tag="films.enriched", kw_only=True):
    """Film details arrived from the provider (ephemeral: the films themselves are durable)."""

    films: list[Film]
    """The films of this batch that got details (cards fill in with these)."""
    enriched: int
    unlinked: int
    """Films the provider could not tell apart or did not find (they stay bare)."""
    skipped: int
    """Films whose details the provider sent unreadable or absurd."""
    failed: int
    """Films not looked up because the provider refused or did not answer."""
    remaining: int
    """Films of this import still to look up (0: the last event of the import)."""
    failure: str | None = None
    """``bad_key``, ``quota`` or ``down`` when the provider failed."""
    message: str | None = None
    """The failure in plain words, for the host."""
    import_id: str | None = None
    """The import whose films these are: the counts are that import's (two members'
    imports are looked up side by side)."""


class CandidatesEvent(_Base, tag="candidates", kw_only=True):
    seq: int
    member_count: int
    """Members with an imported list (the ones ``wanted_by`` counts against)."""
    candidates: list[Candidate]
    """Most wanted first, at most 100 here; ``GET .../candidates`` pages through all."""
    total: int = 0
    waiting: list[str] = msgspec.field(default_factory=list)
    """Members who have not imported yet (they do not empty the intersection)."""
    lists: int = 0
    """Members with an imported list (the same as ``member_count``, named for what it is)."""
    members: int = 0
    """Members in the session: a film is on everyone's list only when ``wanted_by == members``."""
    left_out: int = 0
    """Films the limits for tonight left out (they would be candidates otherwise)."""


class RoundStarted(_Base, tag="round.started", kw_only=True):
    seq: int
    round_id: str
    mode: Mode
    method: Method | None = None
    films: list[Film]
    order: list[str] = msgspec.field(default_factory=list)
    hidden: bool = False
    deadline: int | None = None
    eligible: list[str] = msgspec.field(default_factory=list)
    """Members present at the start: the ones whose votes count."""
    turn: str | None = None
    turn_ends_at: int | None = None
    limits: Limits | None = None
    """The limits for tonight the shortlist respected (``None``: none were set, or the
    host named the films)."""


class LimitsEvent(_Base, tag="limits", kw_only=True):
    """The host set the limits for tonight; a ``candidates`` event follows."""

    seq: int
    limits: Limits
    by: str


class RoundTally(_Base, tag="round.tally", kw_only=True):
    round_id: str
    voted: int
    eligible: int
    turn: str | None = None
    remaining: list[str] | None = None
    standings: Standings | None = None
    seq: int | None = None
    """Set when the tally is in the log (veto strikes); coalesced tallies have none."""
    turn_ends_at: int | None = None
    struck: str | None = None
    """Veto: the film just struck."""
    by: str | None = None
    answered: dict[str, int] = msgspec.field(default_factory=dict)
    """Match: cards answered per eligible member (how far each is, never what they said)."""


class RoundResult(_Base, tag="round.result", kw_only=True):
    seq: int
    round_id: str
    mode: Mode
    method: Method | None = None
    winner: Film | None = None
    tied: list[str] = msgspec.field(default_factory=list)
    explanation: Explanation


class RoundDeadline(_Base, tag="round.deadline", kw_only=True):
    """The host extended a round's deadline (``deadline`` in server ms)."""

    seq: int
    round_id: str
    deadline: int
    by: str


class ReadyEvent(_Base, tag="ready", kw_only=True):
    seq: int
    member_id: str
    ready: bool
    all_ready: bool


class PlaybackEvent(_Base, tag="playback", kw_only=True):
    seq: int
    state: Literal["playing", "paused"]
    position_ms: int
    rate: float
    at: int
    by: str
    version: int = 0


class PartyEvent(_Base, tag="party", kw_only=True):
    seq: int
    film_title: str | None = None
    media_url: str | None = None
    control: Literal["host", "everyone"] = "host"
    reset: bool = False
    """The film changed: nobody is ready any more, no countdown runs, and a ``playback``
    event follows with the clock at 0:00, paused."""


class CountdownEvent(_Base, tag="countdown", kw_only=True):
    seq: int
    ends_at: int | None
    by: str
    forced: bool = False


class ChatEvent(_Base, tag="chat", kw_only=True):
    seq: int
    member_id: str
    text: str
    at: int


class ReactionEvent(_Base, tag="reaction", kw_only=True):
    member_id: str
    emoji: str
    at: int


class SessionEnded(_Base, tag="session.ended", kw_only=True):
    seq: int
    reason: Literal["ended_by_host", "expired"] = "ended_by_host"


class StreamingServices(_Base, tag="streaming.services", kw_only=True):
    """A member saved their region and streaming services: availability changed."""

    seq: int
    member_id: str
    region: str
    services: list[int] = msgspec.field(default_factory=list)
    """TMDb provider ids (none: the member is not counted, see docs/protocol.md)."""


class Ack(_Base, tag="ack", kw_only=True):
    id: str
    seq: int | None = None
    """The newest event the command caused (``None``: none); kept for older clients."""
    seqs: list[int] = msgspec.field(default_factory=list)
    """Every event the command caused, in order (a last ``ready`` causes three)."""

    def __post_init__(self) -> None:
        # An ack built (or sent by an older server) with ``seq`` alone names that one
        # event, so ``seqs`` is never less than ``seq`` says.
        if not self.seqs and self.seq is not None:
            self.seqs = [self.seq]


class ErrorEvent(_Base, tag="error", kw_only=True):
    code: str
    message: str
    id: str | None = None
    retry_after_ms: int | None = None


class Pong(_Base, tag="pong", kw_only=True):
    t: float
    server_time: int


ServerMessage = (
    Welcome
    | MemberJoined
    | MemberLeft
    | Presence
    | ImportProgress
    | ImportDone
    | ImportFailed
    | FilmsEnriched
    | CandidatesEvent
    | LimitsEvent
    | RoundStarted
    | RoundTally
    | RoundResult
    | RoundDeadline
    | ReadyEvent
    | PlaybackEvent
    | PartyEvent
    | CountdownEvent
    | ChatEvent
    | ReactionEvent
    | SessionEnded
    | Ack
    | ErrorEvent
    | Pong
    | StreamingServices
)

CLIENT_DECODER: msgspec.json.Decoder[ClientMessage] = msgspec.json.Decoder(ClientMessage)
SERVER_DECODER: msgspec.json.Decoder[ServerMessage] = msgspec.json.Decoder(ServerMessage)
_ENCODER = msgspec.json.Encoder()


def decode_client(frame: str | bytes) -> ClientMessage:
    """Decode and validate one client frame in a single step (raises ``msgspec.DecodeError``)."""
    return CLIENT_DECODER.decode(frame)


class _CommandIdOnly(msgspec.Struct):
    """A refused frame's ``id`` and nothing else (other fields, valid or not, are skipped)."""

    id: str | None = None


_COMMAND_ID_DECODER = msgspec.json.Decoder(_CommandIdOnly)


def command_id_of(frame: str | bytes) -> str | None:
    """The string ``id`` of a frame that is a JSON object, else ``None``.

    Read only for a frame that is refused (malformed or over the rate), so that the
    refusal carries the id the client waits on, whatever else is wrong with it.
    """
    try:
        return _COMMAND_ID_DECODER.decode(frame).id
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None


def decode_server(frame: str | bytes) -> ServerMessage:
    """Decode one server frame (used by the bot client and the tests)."""
    return SERVER_DECODER.decode(frame)


def encode(message: msgspec.Struct) -> bytes:
    """Encode a message once; the same bytes go to every recipient."""
    return _ENCODER.encode(message)


def client_message_types() -> list[str]:
    """Every ``type`` a client may send."""
    return [t.__struct_config__.tag for t in ClientMessage.__args__]


def server_message_types() -> list[str]:
    """Every ``type`` the server may send."""
    return [t.__struct_config__.tag for t in ServerMessage.__args__]


def protocol_json_schema() -> dict[str, Any]:
    """JSON Schema of both unions, generated from the same types (cannot drift)."""
    (client, server), components = msgspec.json.schema_components(
        [ClientMessage, ServerMessage], ref_template="#/$defs/{name}"
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "filmnight WebSocket protocol v1",
        "$defs": components,
        "properties": {"client": client, "server": server},
    }
