"""Structured JSON logs, audit lines, and the Prometheus instruments.

Audit lines record *that* a data operation happened and how it ended (time,
operation, outcome) and never who with what secret: no token, name, username or
URL is ever passed to them.

The event loop's lag (:func:`watch_loop_lag`): a timer due every
:data:`LOOP_LAG_INTERVAL_S` notes how late the loop ran it in
``filmnight_event_loop_lag_seconds``.  A callback that holds the loop (a big
decode, a slow synchronous call) delays every connection of the process by as much,
and shows here as one late tick; so does a machine too busy to run the process.
Twenty wake-ups a second and a bisect each: nothing measurable.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import logging.handlers
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import structlog
from prometheus_client import REGISTRY, Counter

from realtime.metrics import LoopHistogram
from server.settings import Settings

__all__ = [
    "AUDIT_OPERATIONS",
    "EVENT_LOOP_LAG",
    "LOOP_LAG_INTERVAL_S",
    "audit",
    "audited",
    "configure_logging",
    "watch_loop_lag",
]

AUDIT_OPERATIONS = Counter(
    "filmnight_audit_operations_total",
    "Data operations by name and outcome",
    ["operation", "outcome"],
)

_audit_log = structlog.get_logger("filmnight.audit")

LOOP_LAG_INTERVAL_S = 0.05
EVENT_LOOP_LAG = LoopHistogram(
    "filmnight_event_loop_lag_seconds",
    "How late the event loop ran a timer due every 50 ms (a stall delays every connection)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
REGISTRY.register(EVENT_LOOP_LAG)


async def watch_loop_lag(interval_s: float = LOOP_LAG_INTERVAL_S) -> None:
    """Observe the loop's lateness every ``interval_s`` until cancelled."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + interval_s
        await asyncio.sleep(interval_s)
        EVENT_LOOP_LAG.observe(max(0.0, loop.time() - due))


def audit(operation: str, outcome: str) -> None:
    """Record one data operation (operation and outcome are fixed vocabulary, never user data)."""
    AUDIT_OPERATIONS.labels(operation, outcome).inc()
    _audit_log.info("audit", operation=operation, outcome=outcome)


def configure_logging(settings: Settings) -> None:
    """JSON lines on stdout and, optionally, in a size-capped rotating file."""
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    if settings.log_file:
        path = Path(settings.log_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                path,
                maxBytes=settings.log_file_max_bytes,
                backupCount=settings.log_file_backups,
                encoding="utf-8",
            )
        )
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_filmnight", False):
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        handler.setFormatter(formatter)
        handler._filmnight = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    # uvicorn's access log writes request paths, which contain invite codes.
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs full request URLs at INFO (invite codes, usernames in import URLs).
    logging.getLogger("httpx").setLevel(logging.WARNING)


P = ParamSpec("P")
R = TypeVar("R")


def audited(operation: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Write an audit line when the decorated use case ends: ``ok`` or its error code."""

    def decorate(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(func)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                result = await func(*args, **kwargs)
            except Exception as exc:
                audit(operation, getattr(exc, "code", "error"))
                raise
            audit(operation, "ok")
            return result

        return wrapper

    return decorate
