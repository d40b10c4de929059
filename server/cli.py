"""The ``filmnight`` command: ``serve``, ``db upgrade`` (more commands join as features land)."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from typing import TYPE_CHECKING

import click

from server.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    import uvicorn
    from litestar.types import ASGIApp

__all__ = ["main"]

APP_PATH = "server.app:create_app"


def _settings(**overrides: object) -> Settings:
    try:
        settings = load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    clean = {k: v for k, v in overrides.items() if v is not None}
    if clean:
        import msgspec

        settings = msgspec.structs.replace(settings, **clean)
    return settings


@click.group()
def main() -> None:
    """filmnight: pick a film together, then watch it in sync."""
    os.environ.setdefault("LITESTAR_APP", APP_PATH)


@main.command()
@click.option("--host", default=None, help="Address to bind (default: litestar.toml `host`).")
@click.option("--port", type=int, default=None, help="Port (default: litestar.toml `port`).")
def serve(host: str | None, port: int | None) -> None:
    """Apply migrations, then serve HTTP and WebSocket."""
    from server.app import create_app
    from server.db.migrate import upgrade
    from server.filmdata.provider import film_data_key
    from server.live.socket import with_direct_sockets
    from server.shutdown import GracefulServer

    settings = _settings(host=host, port=port)
    try:
        film_data_key(settings, os.environ)  # a provider without its key stops start-up
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    raise_open_file_limit()
    upgrade(settings.database_url)
    app = create_app(settings)
    # Everything built so far lives as long as the process: keep it out of the collector's
    # full passes, and make those rarer, so a 1,000-member fan-out is not stalled by them.
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    # The database driver runs in a thread (aiosqlite) and needs the GIL for a moment
    # per statement: with the default 5 ms switch interval, a busy event loop made
    # every statement of a transaction wait up to 5 ms for it.
    sys.setswitchinterval(0.0005)
    config = uvicorn_config(settings, with_direct_sockets(app))
    # SIGTERM drains first (server/shutdown.py): members are told to come back, the
    # commands in flight finish, and the process exits 0 within shutdown_grace_s.
    server = GracefulServer(
        config,
        app.state.connections,
        grace_s=settings.shutdown_grace_s,
        drain_s=settings.shutdown_drain_s,
        reconnect_window_s=settings.restart_reconnect_window_s,
    )
    server.run()
    if not server.started:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE (the port is taken, the app failed)


def raise_open_file_limit() -> None:
    """Take the hard limit on open files, not the soft one (often 1,024): every member
    holds a socket, and a process serves thousands of them."""
    try:
        import resource
    except ImportError:  # not on this platform
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    # The kernel's own ceiling (fs.nr_open) may be lower: then the soft limit stays.
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def uvicorn_config(settings: Settings, app: ASGIApp) -> uvicorn.Config:
    """uvicorn's configuration of ``filmnight serve`` for ``app`` (an ASGI application)."""
    import uvicorn

    from server.live.wire import sansio_protocol

    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        # A reconnect storm (every member of a process at once) must not overflow the
        # accept queue: a dropped SYN costs its client a second or more.
        backlog=settings.listen_backlog,
        # The protocol the direct writes are tested with; uvicorn's own choice when
        # that is not available (see server/live/wire.py).
        ws="websockets-sansio" if sansio_protocol() is not None else "auto",
        ws_max_size=settings.ws_max_frame_bytes,
        ws_per_message_deflate=False,
        ws_ping_interval=settings.ws_ping_interval_s,
        ws_ping_timeout=settings.ws_ping_interval_s,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        ssl_certfile=settings.ssl_certfile or None,
        ssl_keyfile=settings.ssl_keyfile or None,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise, which
        # would let any local process pick the address the per-address limits count.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=list(settings.forwarded_allow_ips),
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )


@main.command()
@click.option("--invite", required=True, help="Invite URL (https://host/join/CODE).")
@click.option("--name", required=True, help="The bot's display name.")
@click.option(
    "--strategy",
    type=click.Choice(["yes-before-2000", "mirror-majority"]),
    default="mirror-majority",
    show_default=True,
)
def bot(invite: str, name: str, strategy: str) -> None:
    """Join a session as a bot and play a built-in strategy until the session ends."""
    import asyncio

    from realtime.bots import STRATEGIES, run_bot
    from realtime.client import CommandFailed, FilmnightClient, SeatLost

    async def play() -> None:
        async with await FilmnightClient.join(invite, name) as client:
            click.echo(f"joined as {name} ({client.seat.member_id}); playing {strategy}")
            await run_bot(client, STRATEGIES[strategy]())

    try:
        asyncio.run(play())
    except SeatLost as lost:
        click.echo(f"the seat is gone ({lost.code}: {lost.reason})")
    except (CommandFailed, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    from server.db.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url, revision)
    click.echo(f"database at revision {revision}")


@main.group()
def keys() -> None:
    """Master keys of the encrypted lists."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Re-wrap every list's data key under a new master key (lists are not re-encrypted).

    With the key file (the default), a new key is added to it, every data key is
    re-wrapped, then the old key is removed from the file.  With
    ``FILMNIGHT_MASTER_KEY``, put the new key first in it (``new:KEY,old:KEY``) and
    run this; then drop the old key from the variable.
    """
    import asyncio
    from pathlib import Path

    from server.db.engine import create_engine, create_session_factory
    from server.watchlists.crypto import KeyConfigError, MasterKeys
    from server.watchlists.store import WatchlistStore

    settings = _settings()
    key_file = Path(settings.master_key_file)
    try:
        if settings.master_key:
            keys = MasterKeys.parse(settings.master_key)
        else:
            old = MasterKeys.load_or_create(key_file)
            keys = old.with_new_key()
            keys.save(key_file)  # new first, old kept until every data key moved
    except KeyConfigError as exc:
        raise click.ClickException(str(exc)) from None

    async def rotate() -> tuple[int, int]:
        engine = create_engine(settings.database_url)
        try:
            async with create_session_factory(engine)() as db, db.begin():
                return await WatchlistStore(keys).rotate(db)
        finally:
            await engine.dispose()

    moved, unreadable = asyncio.run(rotate())
    if not settings.master_key:
        keys.only_current().save(key_file)
    click.echo(f"re-wrapped {moved} data keys under key {keys.current_kid!r}")
    if unreadable:
        click.echo(f"{unreadable} lists could not be read and were left as they are", err=True)
