"""Structured JSON logs, audit lines, and the Prometheus instruments.

Audit lines record *that* a data operation happened and how it ended (time,
operation, outcome) and never who with what secret: no token, name, username or
URL is ever passed to them.
"""

from __future__ import annotations

import functools
import logging
import logging.handlers
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import structlog
from prometheus_client import Counter

from server.settings import Settings

__all__ = ["AUDIT_OPERATIONS", "audit", "audited", "configure_logging"]

AUDIT_OPERATIONS = Counter(
    "filmnight_audit_operations_total",
    "Data operations by name and outcome",
    ["operation", "outcome"],
)

_audit_log = structlog.get_logger("filmnight.audit")


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
