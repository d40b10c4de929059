"""The wire types: one-step decoding, the JSON Schema, and the reference document."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from realtime import protocol

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def test_every_message_type_has_its_section_in_docs_protocol() -> None:
    text = DOC.read_text()
    headings = set(re.findall(r"^#### ([\w.]+)$", text, flags=re.MULTILINE))
    missing = [
        t
        for t in protocol.client_message_types() + protocol.server_message_types()
        if t not in headings
    ]
    assert missing == []


def test_every_protocol_md_name_is_in_the_unions() -> None:
    client = set(protocol.client_message_types())
    server = set(protocol.server_message_types())
    assert {
        "hello",
        "ping",
        "round.start",
        "round.close",
        "vote",
        "ballot",
        "veto",
        "ready",
        "playback",
        "chat",
    } <= client
    assert {
        "welcome",
        "member.joined",
        "member.left",
        "presence",
        "import.progress",
        "import.done",
        "import.failed",
        "candidates",
        "round.started",
        "round.tally",
        "round.result",
        "ready",
        "playback",
        "chat",
        "session.ended",
        "ack",
        "error",
        "pong",
    } <= server


def test_every_error_code_the_server_emits_is_documented() -> None:
    text = DOC.read_text()
    root = Path(__file__).resolve().parents[2]
    codes: set[str] = set()
    for path in [*root.glob("server/**/*.py"), *root.glob("realtime/**/*.py")]:
        source = path.read_text()
        # ApiError(400, "code", ...), SeatLost's cls(410, "code", ...), and every
        # DomainError subclass (RoundError("code", ...), PlaybackError, ReadyError ...)
        codes |= set(re.findall(r'(?:ApiError|cls)\(\s*\d+,\s*"(\w+)"', source))
        codes |= set(re.findall(r'_error\(\s*"(\w+)"', source))
        codes |= set(re.findall(r'ErrorEvent\(\s*code="(\w+)"', source))
        codes |= set(
            re.findall(
                r'(?:RoundError|UploadError|PlaybackError|ReadyError|RuleViolation|LimitsError)\(\s*"(\w+)"',
                source,
            )
        )
    assert {"session_ended", "not_a_member", "not_all_ready", "round_closed"} <= codes
    assert codes, "the scan found the server's codes"
    undocumented = sorted(code for code in codes if f"`{code}`" not in text)
    assert undocumented == []


def test_every_websocket_limit_is_in_the_limits_table() -> None:
    from server.settings import Settings

    text = DOC.read_text()
    table = text[text.index("## Limits") : text.index("## Close codes")]
    keys = [
        name
        for name in Settings.__struct_fields__
        if name.startswith(("ws_", "chat_")) or name in {"hello_timeout_s", "presence_ttl_s"}
    ]
    assert "ws_connections_per_member" in keys
    assert [key for key in keys if f"`{key}`" not in table] == []
    assert "| 4429 |" in text[text.index("## Close codes") :]


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (b'{"type":"hello","token":"t","last_seq":3}', protocol.Hello(token="t", last_seq=3)),
        (b'{"type":"ping","t":1.5}', protocol.Ping(t=1.5)),
        (
            b'{"type":"vote","round_id":"r","film_id":"f","choice":"yes","id":"c1"}',
            protocol.Vote(round_id="r", film_id="f", choice="yes", id="c1"),
        ),
        (b'{"type":"chat","text":"hi","future_field":1}', protocol.Chat(text="hi")),
    ],
)
def test_decoding_validates_in_one_step(frame: bytes, expected: object) -> None:
    assert protocol.decode_client(frame) == expected


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"[]",
        b'{"type":"teleport"}',
        b'{"token":"x"}',
        b'{"type":"vote","round_id":"r","film_id":"f","choice":"maybe"}',
        b'{"type":"hello","token":"x","last_seq":-1}',
        b'{"type":"hello","token":"x","last_seq":1e400}',
        b'{"type":"ballot","round_id":"r","ranking":' + b'["f",' * 300 + b'"f"' + b"]" * 1 + b"}",
        b'{"type":"chat","text":"' + b"a" * 2001 + b'"}',
        b'{"type":"round.start","mode":"match","size":1}',
        b'{"type":"chat","text":"x","id":""}',
    ],
)
def test_invalid_frames_raise_decode_errors(frame: bytes) -> None:
    with pytest.raises(msgspec.DecodeError):
        protocol.decode_client(frame)


def test_server_messages_round_trip_and_the_schema_covers_both_unions() -> None:
    event = protocol.MemberJoined(seq=4, member=protocol.MemberInfo(member_id="m", name="<b>x</b>"))
    encoded = protocol.encode(event)
    assert encoded.startswith(b'{"type":"member.joined"')
    assert protocol.decode_server(encoded) == event
    schema = protocol.protocol_json_schema()
    defs = schema["$defs"]
    for struct in [*protocol.ClientMessage.__args__, *protocol.ServerMessage.__args__]:
        assert struct.__name__ in defs


def test_the_chat_length_is_one_constant_for_schema_server_and_client() -> None:
    root = Path(__file__).resolve().parents[2]
    schema = protocol.protocol_json_schema()["$defs"]["Chat"]["properties"]["text"]
    assert schema["maxLength"] == protocol.CHAT_MAX_LENGTH
    live_js = (root / "web-client" / "js" / "live.js").read_text()
    found = re.search(r"export const CHAT_MAX_LENGTH = (\d+);", live_js)
    assert found is not None and int(found.group(1)) == protocol.CHAT_MAX_LENGTH
    chat_js = (root / "web-client" / "js" / "views" / "chat.js").read_text()
    assert 'id: "chat-input", maxlength: CHAT_MAX_LENGTH' in chat_js
    assert protocol.decode_client('{"type":"chat","text":"' + "x" * 500 + '"}')
    with pytest.raises(msgspec.ValidationError):
        protocol.decode_client('{"type":"chat","text":"' + "x" * 501 + '"}')


def test_results_and_standings_are_tagged_unions_in_the_schema_and_the_doc() -> None:
    """A client reads the tag: the schema says which shapes there are, the doc names
    each one, and the mode and method are closed sets."""
    text = DOC.read_text()
    defs = protocol.protocol_json_schema()["$defs"]
    explanation = defs["RoundResult"]["properties"]["explanation"]
    assert explanation["discriminator"]["propertyName"] == "kind"
    kinds = set(explanation["discriminator"]["mapping"])
    assert kinds == {"approval", "borda", "irv", "schulze", "match", "veto"}
    assert all(f'`"kind": "{kind}"`' in text for kind in kinds)
    standings = defs["RoundTally"]["properties"]["standings"]["anyOf"]
    union = next(s for s in standings if "discriminator" in s)
    assert union["discriminator"]["propertyName"] == "method"
    methods = set(union["discriminator"]["mapping"])
    assert methods == {"approval", "borda", "irv", "schulze"}
    assert all(f'`"method": "{method}"`' in text for method in methods)
    assert defs["RoundResult"]["properties"]["mode"]["enum"] == ["match", "poll", "veto"]
    info_method = defs["RoundInfo"]["properties"]["method"]["anyOf"]
    assert {"enum": ["approval", "borda", "irv", "schulze"]} in [
        {k: v for k, v in s.items() if k == "enum"} for s in info_method
    ]


def test_a_result_keeps_its_keys_on_the_wire_and_adds_its_tag() -> None:
    frame = (
        b'{"type":"round.result","seq":3,"round_id":"r","mode":"poll","method":"approval",'
        b'"winner":null,"tied":["a"],"explanation":{"kind":"approval",'
        b'"approvals":{"a":2,"b":1},"ballots":3}}'
    )
    result = protocol.decode_server(frame)
    assert isinstance(result, protocol.RoundResult)
    assert isinstance(result.explanation, protocol.ApprovalExplanation)
    assert protocol.encode(result) == frame
    with pytest.raises(msgspec.ValidationError):  # no tag: no guessing
        protocol.decode_server(frame.replace(b'"kind":"approval",', b""))
    with pytest.raises(msgspec.ValidationError):
        protocol.decode_server(frame.replace(b'"mode":"poll"', b'"mode":"duel"'))
