"""The reconnect-storm benchmark's code paths, at a size that costs seconds
(bench/realtime/storm.py measures 10,000 members; nothing here is timed)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import pytest

from bench.realtime.storm import raw, single_process
from bench.realtime.storm_members import StormMember

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _args(**overrides: object) -> argparse.Namespace:
    values: dict[str, object] = {
        "members": 20,
        "session_size": 10,
        "clients": 1,
        "drops": {"cut", "restart"},
        "window": 0.5,
        "drain": 0.0,
        "profile": None,
        "server_env": {},
    }
    values.update(overrides)
    return argparse.Namespace(**values)


def test_every_member_resumes_gap_free_after_a_cut_and_a_restart(tmp_path: Path) -> None:
    storms = asyncio.run(single_process(_args(), tmp_path))
    assert [s.name for s in storms] == [
        "filmnight, 1 process: sockets cut",
        "filmnight, 1 process: SIGTERM, restart",
    ]
    for storm in storms:
        # Every member came back with resumed=true, no seq skipped or repeated, and
        # every member of a session holds the same last seq (the speakers' messages,
        # sent as soon as each was back, reached the late ones).
        assert storm.resumed == storm.members == 20, storm
        assert storm.errors == 0 and storm.sessions_apart == 0, storm.notes
    restart = storms[1]
    assert restart.notes and "ready again at" in restart.notes[0]


def test_the_raw_floor_reconnects_the_same_members(tmp_path: Path) -> None:
    storms = asyncio.run(raw(_args()))
    assert [(s.members, s.resumed, s.errors) for s in storms] == [(20, 20, 0), (20, 20, 0)]


def test_a_member_counts_a_gap_a_duplicate_and_a_fresh_start_as_errors() -> None:
    member = StormMember("ws://127.0.0.1:1/x", "token", 0, speaker=False, raw=False)
    member.on_frame('{"type":"welcome","seq":5,"resumed":false}', None)
    member.on_frame('{"type":"chat","seq":6}', None)
    member.on_frame('{"type":"presence"}', None)  # ephemeral: no seq
    member.on_frame('{"type":"ack","id":"a","seq":6}', None)  # names a seq, not a position
    assert member.errors == [] and member.last_seq == 6
    member.on_frame('{"type":"chat","seq":8}', None)
    member.on_frame('{"type":"chat","seq":8}', None)
    assert member.errors == ["gap: 8 after 6", "duplicate: 8 after 8"]
    member.on_frame('{"type":"welcome","seq":8,"resumed":true}', None)
    assert member.resumed and len(member.errors) == 2
    member.on_frame('{"type":"welcome","seq":3,"resumed":false}', None)
    assert member.errors[-1] == "welcome not resumed (last_seq 8)"
