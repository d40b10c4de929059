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
        codes |= set(re.findall(r'ApiError\(\s*\d+,\s*"(\w+)"', source))
        codes |= set(re.findall(r'_error\(\s*"(\w+)"', source))
        codes |= set(re.findall(r'ErrorEvent\(\s*code="(\w+)"', source))
        codes |= set(
            re.findall(r'(?:RoundError|UploadError|ReadyError|PlaybackError)\(\s*"(\w+)"', source)
        )
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
