"""One typed settings object: ``litestar.toml`` defaults, then ``FILMNIGHT_*`` overrides.

Litestar does not read ``litestar.toml`` itself, so we do: the file is decoded into
:class:`Settings` (unknown keys are refused), then every ``FILMNIGHT_<KEY>``
environment variable replaces the key of the same name.  A bad value stops start-up
with a message naming the key and where it came from.
"""

from __future__ import annotations

import ipaddress
import os
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

__all__ = ["ENV_PREFIX", "Settings", "SettingsError", "load_settings"]

ENV_PREFIX = "FILMNIGHT_"
DEFAULT_CONFIG_FILE = Path(__file__).resolve().parent.parent / "litestar.toml"

Positive = Annotated[int, msgspec.Meta(ge=1)]
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]


class SettingsError(ValueError):
    """A configuration value is missing, unknown or invalid."""


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """Every setting of filmnight; ``litestar.toml`` documents each one."""

    host: str = "127.0.0.1"
    """Address ``filmnight serve`` binds to."""
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8000
    """TCP port ``filmnight serve`` listens on."""
    listen_backlog: Positive = 16384
    """Connections the kernel queues for ``filmnight serve`` before it accepts them
    (``listen``'s backlog; the kernel caps it at ``net.core.somaxconn``): every member
    of a process comes back at once after a network blip."""
    public_url: str = ""
    """Base URL used in invite links; empty: derived from each request's Host."""
    ssl_certfile: str = ""
    """PEM certificate (chain) ``filmnight serve`` serves HTTPS/WSS with; empty: plain."""
    ssl_keyfile: str = ""
    """The certificate's PEM private key (required with ``ssl_certfile``)."""
    forwarded_allow_ips: list[str] = msgspec.field(default_factory=list)
    """Proxies (addresses or networks) whose ``X-Forwarded-For``/``-Proto`` are believed;
    empty: none, every client is the socket's peer (per-address limits can't be dodged)."""
    database_url: str = "sqlite+aiosqlite:///data/filmnight.db"
    """SQLAlchemy URL: ``sqlite+aiosqlite:///…`` (embedded) or ``postgresql+asyncpg://…``."""
    redis_url: str = ""
    """Empty: in-memory fan-out (one process). Set: Redis pub/sub across processes."""
    allowed_origins: list[str] = msgspec.field(default_factory=list)
    """Extra origins allowed to open WebSockets (same-origin is always allowed)."""
    data_dir: str = "data"
    """Where the embedded database and the master key file live."""
    master_key: str = ""
    """``kid:base64url`` master keys (first is current); empty: the key file is used."""
    master_key_file: str = "data/master.key"
    """Key file created on first run with owner-only permissions."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_file: str = ""
    """Optional rotating JSON log file (empty: stdout only)."""
    log_file_max_bytes: Positive = 10 * 1024 * 1024
    log_file_backups: Annotated[int, msgspec.Meta(ge=0)] = 5
    # invites and members
    invite_default_ttl_s: Annotated[int, msgspec.Meta(ge=0)] = 7 * 24 * 3600
    """Lifetime of the host's first invite (0: never expires)."""
    max_members: Positive = 1000
    """Hard cap of members in one session."""
    max_body_bytes: Positive = 64 * 1024
    """Largest JSON request body."""
    invite_lookups_per_minute: Positive = 30
    joins_per_minute: Positive = 10
    sessions_per_minute: Positive = 10
    # websocket limits
    hello_timeout_s: PositiveFloat = 10.0
    ws_max_frame_bytes: Positive = 16 * 1024
    ws_commands_per_second: PositiveFloat = 20.0
    ws_command_burst: Positive = 40
    ws_bad_frames_before_close: Positive = 20
    ws_send_queue: Positive = 256
    """Frames buffered per connection before it is closed with 4000 (resume)."""
    ws_pipelined_commands: Positive = 16
    """Chat messages or ballots of one connection being applied at once."""
    ws_connections_per_member: Positive = 5
    ws_hellos_at_once: Positive = 64
    """Hellos a process answers at once (authenticate, welcome, replay); the others wait
    their turn in arrival order instead of queueing for pooled database connections."""
    ws_idle_timeout_s: PositiveFloat = 60.0
    ws_ping_interval_s: PositiveFloat = 20.0
    ws_stall_timeout_s: PositiveFloat = 10.0
    """A socket that takes no byte for this long while data waits for it is let go (4000)."""
    shutdown_grace_s: PositiveFloat = 15.0
    """On SIGTERM, the process exits within this long (draining included)."""
    shutdown_drain_s: Annotated[float, msgspec.Meta(ge=0)] = 2.0
    """On SIGTERM, ``/readyz`` answers 503 this long before the sockets are closed, so a
    load balancer stops sending new connections first."""
    restart_reconnect_window_s: PositiveFloat = 2.0
    """A restart's 1012 close asks members to come back at a random moment within this."""
    presence_ttl_s: PositiveFloat = 30.0
    chat_per_second: PositiveFloat = 1.0
    """Chat messages and reactions a member may send per second, after the burst."""
    chat_burst: Positive = 5
    chat_history: Annotated[int, msgspec.Meta(ge=0, le=500)] = 50
    """Chat messages of the log a fresh welcome carries (a reload keeps the conversation)."""
    room_linger_s: Annotated[float, msgspec.Meta(ge=0)] = 60.0
    """A session's room stays in its process this long after its last member there
    left, still following its events: members who come back within it (a dropped
    network, a reloaded page, a reconnect storm) are resumed from what it keeps,
    with no read of the database. 0: it goes at once."""
    room_recent_events: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 128
    """Durable events each room keeps for those resumes (the log answers older ones)."""
    sqlite_checkpoint_interval_s: Annotated[float, msgspec.Meta(ge=0)] = 1.0
    """SQLite: the write-ahead log is checkpointed this often, in the background, not
    by the commit that fills it (which made every writer wait). 0: SQLite's own
    checkpoints, at commit."""
    catch_up_interval_s: PositiveFloat = 2.0
    """How often each process checks its rooms against the log (heals lost publishes)."""
    event_log_max: Positive = 10_000
    """Durable events kept per live session for resume."""
    # imports
    letterboxd_url: str = "https://letterboxd.com"
    """The only address the spider fetches."""
    import_max_pages: Positive = 100
    import_max_films: Positive = 5000
    import_timeout_s: PositiveFloat = 120.0
    import_delay_s: Annotated[float, msgspec.Meta(ge=0)] = 1.0
    import_concurrency: Positive = 1
    imports_per_process: Positive = 4
    upload_max_bytes: Positive = 10 * 1024 * 1024
    upload_max_uncompressed_bytes: Positive = 50 * 1024 * 1024
    imports_per_minute: Positive = 6
    """Imports (Letterboxd or upload) a member may start per minute."""
    provider_searches_per_minute: Positive = 20
    """Nomination searches (and nominations of a provider's film) a member may send to
    the film-data provider per minute."""
    retention_hours: PositiveFloat = 24.0
    """Lists are destroyed this long after their session's last activity."""
    retention_sweep_interval_s: PositiveFloat = 300.0
    veto_turn_timeout_s: PositiveFloat = 30.0
    """An offline member's veto turn is skipped after this long."""
    tally_interval_s: PositiveFloat = 0.25
    """Live poll and match tallies are coalesced to at most one per interval per round."""
    # film data (the key is only ever read from FILMNIGHT_FILM_DATA_KEY, never from here)
    film_data: Literal["none", "tmdb", "kinopoisk"] = "none"
    """Where posters, runtimes and ids come from; ``none``: no outside calls."""
    tmdb_url: str = "https://api.themoviedb.org"
    """TMDb's API base (tests point it at a local fake)."""
    kinopoisk_url: str = "https://kinopoiskapiunofficial.tech"
    """The unofficial Kinopoisk API's base; its posters are served from the same host."""
    film_data_language: Annotated[str, msgspec.Meta(pattern=r"^([a-z]{2}(-[A-Z]{2})?)?$")] = "en-US"
    """Language of localized titles and overviews (TMDb ``language``; Kinopoisk: Russian)."""
    film_data_region: Annotated[str, msgspec.Meta(pattern=r"^([A-Z]{2})?$")] = ""
    """TMDb ``region`` of searches (ISO 3166-1, e.g. ``DE``); empty: none."""
    film_data_max_age_days: Annotated[int, msgspec.Meta(ge=1, le=183)] = 90
    """Details older than this are fetched again (TMDb's terms: at most six months)."""
    film_data_concurrency: Annotated[int, msgspec.Meta(ge=1, le=64)] = 8
    """Provider requests in flight at once, per process."""
    film_data_requests_per_second: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    """Provider requests started per second, per process; 0: the provider's own pace
    (TMDb 35, under its limit of about 40; Kinopoisk 20)."""
    film_data_timeout_s: PositiveFloat = 10.0
    film_data_attempts: Annotated[int, msgspec.Meta(ge=1, le=10)] = 3
    """Tries per request (429 after ``Retry-After``, 5xx and no answer are tried again)."""
    film_data_max_retry_after_s: PositiveFloat = 30.0
    """A 429 asking to wait longer than this counts as a spent quota, not a retry."""
    poster_size: str = "w342"
    """TMDb poster width (one of its ``poster_sizes``)."""
    poster_max_bytes: Annotated[int, msgspec.Meta(ge=1024, le=20 * 1024 * 1024)] = 2 * 1024 * 1024
    """Largest poster the server keeps; a larger one is refused."""
    # where to stream (film_data = "tmdb")
    streaming_choices_per_minute: Positive = 20
    """Times a member may save their country and streaming services per minute."""

    def __post_init__(self) -> None:
        if bool(self.ssl_certfile) != bool(self.ssl_keyfile):
            raise msgspec.ValidationError(
                "ssl_certfile and ssl_keyfile go together - at `$.ssl_keyfile`"
            )
        if self.shutdown_drain_s >= self.shutdown_grace_s:
            raise msgspec.ValidationError(
                "must be shorter than shutdown_grace_s - at `$.shutdown_drain_s`"
            )
        for entry in self.forwarded_allow_ips:
            try:
                if entry != "*":
                    ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise msgspec.ValidationError(
                    f"{entry!r} is not an IP address or network - at `$.forwarded_allow_ips`"
                ) from None

    @property
    def sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _env_value(name: str, raw: str, field_type: Any) -> Any:
    """Parse one environment string into the field's type."""
    origin = typing.get_origin(field_type)
    if origin is Annotated:
        return _env_value(name, raw, typing.get_args(field_type)[0])
    if origin is list:
        return [part.strip() for part in raw.split(",") if part.strip()]
    if field_type is str or origin is Literal:
        return raw
    if field_type is bool:
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise SettingsError(f"{name}: expected true or false, got {raw!r}")
    if isinstance(field_type, types.UnionType):
        return raw
    try:
        return msgspec.json.decode(raw.strip())
    except msgspec.DecodeError:
        raise SettingsError(f"{name}: expected a number, got {raw!r}") from None


def load_settings(
    config_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read ``litestar.toml`` and apply ``FILMNIGHT_*`` overrides; raise :class:`SettingsError`."""
    environ = os.environ if environ is None else environ
    path = Path(environ.get(f"{ENV_PREFIX}CONFIG", "") or config_file or DEFAULT_CONFIG_FILE)
    values: dict[str, Any] = {}
    if path.exists():
        try:
            values = msgspec.toml.decode(path.read_bytes())
        except msgspec.DecodeError as exc:
            raise SettingsError(f"{path.name}: not valid TOML ({exc})") from None
        known = set(Settings.__struct_fields__)
        for key in values:
            if key not in known:
                raise SettingsError(f"{path.name}: unknown key {key!r}")
    hints = typing.get_type_hints(Settings, include_extras=True)
    sources = dict.fromkeys(values, path.name)
    for field in Settings.__struct_fields__:
        env_name = f"{ENV_PREFIX}{field.upper()}"
        if env_name in environ:
            values[field] = _env_value(env_name, environ[env_name], hints[field])
            sources[field] = env_name
    try:
        return msgspec.convert(values, Settings)
    except msgspec.ValidationError as exc:
        message = str(exc)
        found = re.search(r"\$\.(\w+)", message)
        key = found.group(1) if found else ""
        where = sources.get(key, "defaults")
        reason = message.split(" - at ", 1)[0]
        raise SettingsError(f"invalid setting {key!r} (from {where}): {reason}") from None
