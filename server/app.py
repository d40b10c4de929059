"""The application factory: one place that wires settings, storage, the hub and the routes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from litestar import Litestar, Request, Response
from litestar.di import Provide
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from sqlalchemy.ext.asyncio import AsyncEngine

from realtime.connection import ConnectionLimits, Connections
from realtime.hub import Hub, create_hub
from realtime.presence import PresenceStore, create_presence
from realtime.room import Rooms
from server.db.checkpoint import run_checkpoints
from server.db.engine import UNREACHABLE, create_engine, create_session_factory, sqlite_file
from server.errors import DomainError
from server.filmdata.controllers import poster
from server.filmdata.enrichment import FilmEnricher
from server.filmdata.posters import PosterStore
from server.filmdata.provider import create_provider
from server.filmdata.tmdb import TmdbProvider
from server.health import healthz, protocol_schema, readyz
from server.live.commands import ChatCommands
from server.live.gateway import CommandRouter, LiveGateway
from server.live.socket import SocketRoute, session_socket
from server.live.wire import write_pass
from server.observability import audit, configure_logging, watch_loop_lag
from server.party.service import PartyCommands
from server.ratelimit import RateLimits
from server.security import security_headers_middleware
from server.session_engine import SessionEngine
from server.sessions.controllers import InviteController, SessionController
from server.sessions.service import SessionService
from server.settings import Settings, load_settings
from server.streaming.controllers import StreamingController
from server.streaming.directory import ServiceDirectory
from server.streaming.service import StreamingService
from server.voting.service import RoundCommands
from server.watchlists.controllers import WatchlistController
from server.watchlists.crypto import MasterKeys
from server.watchlists.service import WatchlistService
from server.watchlists.store import WatchlistStore
from server.web import web_router

__all__ = ["Services", "create_app"]

log = structlog.get_logger(__name__)

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


@dataclass
class Services:
    """Everything the routes need, built once per app."""

    settings: Settings
    hub: Hub
    presence: PresenceStore
    engine: SessionEngine
    service: SessionService
    rooms: Rooms
    gateway: LiveGateway
    rate_limits: RateLimits
    router: CommandRouter
    watchlists: WatchlistService
    rounds: RoundCommands
    chat: ChatCommands
    films: FilmEnricher
    posters: PosterStore
    streaming: StreamingService


def _now_ms() -> int:
    return int(time.time() * 1000)


def background_checkpoints(settings: Settings) -> bool:
    """Does this process checkpoint its SQLite file in the background (not at commit)?"""
    in_file = sqlite_file(settings.database_url) is not None
    return in_file and settings.sqlite_checkpoint_interval_s > 0


async def _checkpoints(settings: Settings) -> None:
    path = sqlite_file(settings.database_url)
    if path is not None and background_checkpoints(settings):
        await run_checkpoints(path, settings.sqlite_checkpoint_interval_s)


def build_services(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> tuple[Services, list[AsyncEngine]]:
    # First, so a provider without its key stops start-up before anything is opened.
    provider = create_provider(settings, os.environ if environ is None else environ)
    write_engine = create_engine(
        settings.database_url, checkpoint_at_commit=not background_checkpoints(settings)
    )
    engines = [write_engine]
    read_factory = None
    if settings.sqlite:
        read_engine = create_engine(settings.database_url, writer=False)
        engines.append(read_engine)
        read_factory = create_session_factory(read_engine)
    else:
        # PostgreSQL (READ COMMITTED): a statement sees what was committed when it began,
        # in a transaction or not, so a read needs none; in autocommit it is spared the
        # BEGIN and ROLLBACK round trips (a storm's hellos make thousands of reads).
        read_factory = create_session_factory(
            write_engine.execution_options(isolation_level="AUTOCOMMIT")
        )
    hub = create_hub(settings.redis_url or None, local_scope=write_pass)
    presence = create_presence(settings.redis_url or None, ttl_s=settings.presence_ttl_s)
    engine = SessionEngine(
        create_session_factory(write_engine),
        hub,
        read_factory=read_factory,
        serialize_writes=settings.sqlite,
        event_log_max=settings.event_log_max,
    )
    service = SessionService(
        engine, max_members=settings.max_members, invite_default_ttl_s=settings.invite_default_ttl_s
    )
    keys = MasterKeys.resolve(settings.master_key, Path(settings.master_key_file))
    posters = PosterStore(
        Path(settings.data_dir) / "posters",
        max_bytes=settings.poster_max_bytes,
        timeout_s=settings.film_data_timeout_s,
    )
    films = FilmEnricher(
        engine, provider, posters, max_age=timedelta(days=settings.film_data_max_age_days)
    )
    watchlists = WatchlistService(engine, WatchlistStore(keys), settings, films=films)
    service.snapshot_parts.append(films.snapshot_part)
    watchlists.attach(service)
    streaming = StreamingService(
        engine, ServiceDirectory(provider if isinstance(provider, TmdbProvider) else None)
    )
    streaming.attach(service)
    router = CommandRouter()
    chat = ChatCommands(
        engine,
        per_second=settings.chat_per_second,
        burst=settings.chat_burst,
        history=settings.chat_history,
    )
    chat.register(router)
    chat.attach(service)
    service.snapshot_parts.append(chat.snapshot_part)
    party = PartyCommands(presence, engine=engine)
    party.register(router)
    rounds = RoundCommands(engine, watchlists, presence, settings)
    rounds.register(router)
    rounds.attach(service)
    gateway = LiveGateway(
        service,
        engine,
        presence,
        router,
        clock_ms=_now_ms,
        connections_per_member=settings.ws_connections_per_member,
    )
    gateway.offline_hooks.append(party.member_offline)
    rooms = Rooms(
        hub,
        engine,
        linger_s=settings.room_linger_s,
        recent_events=settings.room_recent_events,
    )
    gateway.rooms = rooms
    rate_limits = RateLimits(
        {
            "invite_lookups": settings.invite_lookups_per_minute,
            "joins": settings.joins_per_minute,
            "sessions": settings.sessions_per_minute,
            "imports": settings.imports_per_minute,
            "streaming_choices": settings.streaming_choices_per_minute,
            "provider_searches": settings.provider_searches_per_minute,
        },
        settings.redis_url,
    )
    services = Services(
        settings,
        hub,
        presence,
        engine,
        service,
        rooms,
        gateway,
        rate_limits,
        router,
        watchlists,
        rounds,
        chat,
        films,
        posters,
        streaming,
    )
    return services, engines


def _error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response[dict[str, str]]:
    return Response({"code": code, "message": message}, status_code=status, headers=headers)


def _domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, str]]:
    """Every refusal over HTTP (a use case's ApiError or a pure module's own error)."""
    return _error_response(exc.status, exc.code, exc.message, exc.headers)


def _validation_error(
    _: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, str]]:
    detail = exc.detail if isinstance(exc.detail, str) else "Invalid request."
    extra = exc.extra if isinstance(exc.extra, list) else []
    if extra and isinstance(extra[0], dict) and "message" in extra[0]:
        detail = f"{detail}: {extra[0]['message']}"
    return _error_response(400, "invalid_body", detail[:300])


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, str]]:
    if exc.status_code >= 500:
        return _internal_error(request, exc)
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    return _error_response(exc.status_code, code, str(exc.detail)[:300], dict(exc.headers or {}))


RETRY_AFTER_S = 5
"""``Retry-After`` of a 503 while the database is unreachable."""


def _unavailable(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, str]]:
    log.warning("request.database_unreachable", error=type(exc).__name__)
    return _error_response(
        503,
        "unavailable",
        "The server can't serve this right now; try again shortly.",
        {"Retry-After": str(RETRY_AFTER_S)},
    )


def _internal_error(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, str]]:
    log.error("request.failed", error=type(exc).__name__, exc_info=exc)
    return _error_response(500, "internal_error", "Something went wrong on our side.")


def create_app(
    settings: Settings | None = None, environ: Mapping[str, str] | None = None
) -> Litestar:
    """Build the Litestar app (``litestar run`` finds it through ``LITESTAR_APP``).

    ``environ`` (default: the process's) is where the film-data key is read from.
    """
    settings = settings or load_settings()
    configure_logging(settings)
    services, engines = build_services(settings, environ)

    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await services.hub.start()
        heartbeat = asyncio.create_task(
            services.gateway.run_presence_heartbeat(settings.presence_ttl_s / 3)
        )
        catch_up = asyncio.create_task(services.rooms.run_catch_up(settings.catch_up_interval_s))
        retention = asyncio.create_task(
            services.watchlists.run_retention(settings.retention_sweep_interval_s)
        )
        poster_sweep = asyncio.create_task(
            services.films.run_poster_sweep(settings.retention_sweep_interval_s)
        )
        round_clock = asyncio.create_task(services.rounds.run_clock(1.0))
        stall_check = asyncio.create_task(connections.run_stall_check())
        loop_lag = asyncio.create_task(watch_loop_lag())
        checkpoints = asyncio.create_task(_checkpoints(settings))
        audit("server.start", "ok")
        try:
            yield
        finally:
            for task in (
                heartbeat,
                catch_up,
                retention,
                poster_sweep,
                round_clock,
                stall_check,
                loop_lag,
                checkpoints,
            ):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await services.gateway.close()
            await services.watchlists.close()
            await services.films.close()
            await services.rounds.close()
            await services.chat.batch.close()
            services.rooms.close()
            await services.hub.stop()
            await services.presence.close()
            for engine in engines:
                await engine.dispose()

    def _value(value: object) -> Provide:
        return Provide(lambda: value, use_cache=True, sync_to_thread=False)

    limits = ConnectionLimits(
        hello_timeout_s=settings.hello_timeout_s,
        max_frame_bytes=settings.ws_max_frame_bytes,
        commands_per_second=settings.ws_commands_per_second,
        command_burst=settings.ws_command_burst,
        bad_frames_before_close=settings.ws_bad_frames_before_close,
        send_queue=settings.ws_send_queue,
        idle_timeout_s=settings.ws_idle_timeout_s,
        pipelined_commands=settings.ws_pipelined_commands,
        stall_timeout_s=settings.ws_stall_timeout_s,
    )
    # This process's sockets: the stall check, and the drain of a restart (server/shutdown.py).
    connections = Connections(
        settings.ws_stall_timeout_s, hellos_at_once=settings.ws_hellos_at_once
    )
    socket_route = SocketRoute(
        services.gateway, services.rooms, limits, list(settings.allowed_origins), connections
    )
    # HTTP only: on WebSockets the middleware would wrap every frame sent (the socket has
    # its own instruments in realtime/metrics.py).
    prometheus = PrometheusConfig(
        app_name="filmnight", prefix="filmnight", group_path=True, scopes={ScopeType.HTTP}
    )
    app = Litestar(
        route_handlers=[
            SessionController,
            InviteController,
            WatchlistController,
            StreamingController,
            session_socket,
            healthz,
            readyz,
            protocol_schema,
            poster,
            PrometheusController,
            web_router(),
        ],
        dependencies={
            "settings": _value(settings),
            "service": _value(services.service),
            "engine": _value(services.engine),
            "hub": _value(services.hub),
            "presence": _value(services.presence),
            "rate_limits": _value(services.rate_limits),
            "gateway": _value(services.gateway),
            "rooms": _value(services.rooms),
            "watchlists": _value(services.watchlists),
            "posters": _value(services.posters),
            "streaming": _value(services.streaming),
            "directory": _value(services.streaming.directory),
            "connections": _value(connections),
            "socket_route": _value(socket_route),
        },
        middleware=[prometheus.middleware, security_headers_middleware],
        exception_handlers={
            DomainError: _domain_error,
            ValidationException: _validation_error,
            HTTPException: _http_error,
            **dict.fromkeys(UNREACHABLE, _unavailable),
            Exception: _internal_error,
        },
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(title="filmnight", version="1.0.0", path="/schema"),
        request_max_body_size=settings.max_body_bytes,
        logging_config=None,
        debug=False,
    )
    app.state.services = services
    app.state.connections = connections
    app.state.socket_route = socket_route
    return app
