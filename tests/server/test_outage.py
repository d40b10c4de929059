"""While the database is unreachable: HTTP answers 503 with ``Retry-After`` and a
WebSocket hello is closed 1013 (try again later), as docs/protocol.md says."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest

from realtime.connection import CloseCode
from server.app import RETRY_AFTER_S, create_app
from tests.conftest import make_settings, run_live
from tests.support.services import free_port
from tests.support.wsclient import connect_member


def _unreachable_url(kind: str, tmp_path: Path) -> str:
    if kind == "postgres":  # nothing listens on that port
        return f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/filmnight"
    directory = tmp_path / "filmnight.db"  # a directory where the file should be
    directory.mkdir()
    return f"sqlite+aiosqlite:///{directory}"


@pytest.mark.parametrize("kind", ["postgres", "sqlite"])
async def test_an_unreachable_database_means_503_and_close_1013(kind: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, _unreachable_url(kind, tmp_path))
    session_id = str(uuid.uuid4())
    async with (
        run_live(create_app(settings), settings) as live,
        httpx.AsyncClient(base_url=live.base_url) as http,
    ):
        calls = [
            http.build_request("POST", "/api/v1/sessions", json={"host_name": "Ana"}),
            http.build_request("GET", "/api/v1/invites/ABCDEFGHJK"),
            http.build_request("POST", "/api/v1/invites/ABCDEFGHJK/join", json={"name": "Ben"}),
            http.build_request(
                "GET",
                f"/api/v1/sessions/{session_id}",
                headers={"Authorization": "Bearer some-token"},
            ),
        ]
        for request in calls:
            response = await http.send(request)
            assert response.status_code == 503, (request.url, response.text)
            assert response.headers["Retry-After"] == str(RETRY_AFTER_S)
            assert response.json()["code"] == "unavailable"
        assert (await http.get("/healthz")).status_code == 200  # the process itself is fine

        member, _ = await connect_member(live.ws_url, session_id, None, hello=False)
        await member.send({"type": "hello", "token": "some-token", "last_seq": None})
        assert await member.close_code() == 1013  # CloseCode.TRY_AGAIN_LATER


def test_every_close_code_the_server_uses_is_in_the_close_code_table() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    table = doc.split("## Close codes", 1)[1].split("\n## ", 1)[0]
    documented = {int(found) for found in re.findall(r"^\| (\d{4}) \|", table, re.MULTILINE)}
    assert documented == {int(code) for code in CloseCode}
