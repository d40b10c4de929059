"""A batch whose transaction fails: every command still gets an answer, with a stable code."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import IntegrityError

from realtime.connection import Member
from realtime.protocol import Ack, Chat, ErrorEvent
from server.db.models import AppliedCommand
from server.errors import ApiError
from server.live.batching import CommandBatcher, Pending, Reply
from server.session_engine import SessionEngine, utcnow
from tests.conftest import LiveServer
from tests.live.test_socket import http_create, http_join


class Failing(CommandBatcher[Chat]):
    def __init__(self, engine: SessionEngine, error: Exception) -> None:
        super().__init__(Chat, engine)
        self.error = error
        self.batches: list[int] = []

    async def apply(self, batch: list[Pending[Chat]]) -> list[Reply]:
        self.batches.append(len(batch))
        raise self.error


def _answers(replies: list[Reply]) -> list[tuple[str, str | None, Any]]:
    out: list[tuple[str, str | None, Any]] = []
    for reply in replies:
        if isinstance(reply, Ack):
            out.append(("ack", reply.id, reply.seq))
        else:
            assert isinstance(reply, ErrorEvent)
            out.append((reply.code, reply.id, None))
    return out


async def _submit(
    batcher: CommandBatcher[Chat], member: Member, ids: list[str | None]
) -> list[Reply]:
    futures = [batcher.submit(member, Chat(text="hi", id=i), i) for i in ids]
    return list(await asyncio.gather(*futures))


async def test_a_fault_of_ours_answers_every_command_with_internal_error(live: LiveServer) -> None:
    host = await http_create(live)
    member = Member(host["session_id"], host["member_id"])
    batcher = Failing(live.app.state.services.engine, RuntimeError("bug"))
    replies = await _submit(batcher, member, ["a", None])
    assert _answers(replies) == [("internal_error", "a", None), ("internal_error", None, None)]
    refused = Failing(live.app.state.services.engine, ApiError(410, "session_ended", "Ended."))
    assert _answers(await _submit(refused, member, ["b"])) == [("session_ended", "b", None)]


async def test_a_race_on_an_id_answers_the_applied_one_with_its_ack(live: LiveServer) -> None:
    host = await http_create(live)
    member = Member(host["session_id"], host["member_id"])
    engine = live.app.state.services.engine
    async with engine.transaction() as tx:  # applied meanwhile on another connection
        tx.db.add(
            AppliedCommand(
                session_id=uuid.UUID(member.session_id),
                member_id=uuid.UUID(member.member_id),
                command_id="raced",
                seq=7,
                created_at=utcnow(),
            )
        )
    batcher = Failing(engine, IntegrityError("INSERT", {}, Exception("unique")))
    replies = await _submit(batcher, member, ["raced", "other", None])
    assert _answers(replies) == [
        ("ack", "raced", 7),
        ("conflict", "other", None),
        ("conflict", None, None),
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_closing_cancels_what_is_still_queued(live: LiveServer) -> None:
    engine = live.app.state.services.engine
    release = asyncio.Event()

    class Held(CommandBatcher[Chat]):
        async def apply(self, batch: list[Pending[Chat]]) -> list[Reply]:
            await release.wait()
            return [None] * len(batch)

    batcher = Held(Chat, engine)
    member = Member(str(uuid.uuid4()), str(uuid.uuid4()))
    first = batcher.submit(member, Chat(text="1"), None)
    await asyncio.sleep(0.01)  # the first batch is being applied
    second = batcher.submit(member, Chat(text="2"), None)
    await batcher.close()
    assert first.cancelled() and second.cancelled()


async def test_a_chat_batch_refuses_seats_that_are_gone_and_writes_the_rest(
    live: LiveServer,
) -> None:
    ana = await http_create(live)
    ben = await http_join(live, ana["invite_code"], "Ben")
    ended = await http_create(live, "Cy")
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        gone = await http.delete(
            f"/api/v1/sessions/{ana['session_id']}/members/me",
            headers={"Authorization": f"Bearer {ben['token']}"},
        )
        over = await http.delete(
            f"/api/v1/sessions/{ended['session_id']}",
            headers={"Authorization": f"Bearer {ended['token']}"},
        )
    assert (gone.status_code, over.status_code) == (204, 204)
    chat = live.app.state.services.chat.batch
    futures = [
        chat.submit(Member(seat["session_id"], seat["member_id"]), Chat(text="hi", id=k), k)
        for k, seat in (("ana", ana), ("ben", ben), ("cy", ended))
    ]
    replies = list(await asyncio.gather(*futures))
    assert [a[:2] for a in _answers(replies)] == [
        ("ack", "ana"),
        ("not_a_member", "ben"),
        ("session_ended", "cy"),
    ]
