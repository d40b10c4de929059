"""Shared fixtures: real databases (SQLite and PostgreSQL), the app, a live server."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.db.migrate import upgrade
from server.live.socket import with_direct_sockets
from server.settings import Settings, load_settings
from tests.support.services import POSTGRES_ADMIN_URL, REDIS_URL, reachable, require

__all__ = ["LiveServer", "make_settings"]


def make_settings(tmp_path: Path, database_url: str, **overrides: Any) -> Settings:
    """Settings for one test: its own data dir, generous rate limits unless overridden."""
    base = msgspec.structs.asdict(load_settings(environ={}))
    base.update(
        database_url=database_url,
        data_dir=str(tmp_path),
        master_key_file=str(tmp_path / "master.key"),
        invite_lookups_per_minute=10_000,
        joins_per_minute=10_000,
        sessions_per_minute=10_000,
        import_delay_s=0.0,
    )
    base.update(overrides)
    return msgspec.convert(base, Settings)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db')}/filmnight.db"
    upgrade(url)
    return url


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    require(reachable("127.0.0.1", 5432), "PostgreSQL")
    name = f"filmnight_test_{secrets.token_hex(4)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    host_part = POSTGRES_ADMIN_URL.split("://", 1)[1].rsplit("/", 1)[0]
    url = f"postgresql+asyncpg://{host_part}/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Every database test runs on the embedded SQLite and on PostgreSQL."""
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
def redis_url() -> str:
    require(reachable("127.0.0.1", 6379), "Redis")
    return REDIS_URL


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app, base_url="http://testserver.local") as test_client:
        yield test_client


@dataclass
class LiveServer:
    app: Litestar
    base_url: str

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http", "ws", 1)  # https: wss


@contextlib.asynccontextmanager
async def run_live(
    app: Litestar, settings: Settings, *, direct_sockets: bool = True
) -> AsyncIterator[LiveServer]:
    """Serve ``app`` with uvicorn in this event loop on a free port (the production stack;
    without ``direct_sockets``, Litestar serves the session route itself); over TLS when
    ``settings`` name a certificate."""
    config = uvicorn.Config(
        with_direct_sockets(app) if direct_sockets else app,  # as `filmnight serve` runs it
        host="127.0.0.1",
        port=0,
        ws="websockets-sansio",
        ws_max_size=settings.ws_max_frame_bytes,
        ws_per_message_deflate=False,
        ssl_certfile=settings.ssl_certfile or None,
        ssl_keyfile=settings.ssl_keyfile or None,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        scheme = "https" if settings.ssl_certfile else "http"
        yield LiveServer(app, f"{scheme}://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=15)


@pytest.fixture
async def live(app: Litestar, settings: Settings) -> AsyncIterator[LiveServer]:
    async with run_live(app, settings) as server:
        yield server
