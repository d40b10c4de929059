"""Liveness, readiness and the protocol's JSON Schema."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.di import NamedDependency
from litestar.response import Response
from sqlalchemy import text

from realtime.connection import Connections
from realtime.hub import Hub
from realtime.protocol import protocol_json_schema
from server.session_engine import SessionEngine

__all__ = ["healthz", "protocol_schema", "readyz"]

_SCHEMA = protocol_json_schema()


@get("/healthz", tags=["operations"], summary="The process is up", sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", tags=["operations"], summary="Database and channels reachable")
async def readyz(
    engine: NamedDependency[SessionEngine],
    hub: NamedDependency[Hub],
    connections: NamedDependency[Connections],
) -> Response[dict[str, Any]]:
    if connections.draining:
        # Shutting down: a load balancer takes this process out before its sockets close.
        draining = {"status": "draining", "code": "draining", "message": "This process stops."}
        return Response(draining, status_code=503)
    checks: dict[str, bool] = {}
    try:
        async with engine.reader() as db:
            await db.execute(text("SELECT 1"))
        checks["database"] = True
    except Exception:
        checks["database"] = False
    checks["channels"] = await hub.healthy()
    ready = all(checks.values())
    body: dict[str, Any] = {"status": "ready" if ready else "not_ready", "checks": checks}
    if not ready:
        body["code"] = "not_ready"
        body["message"] = "A dependency is unreachable: " + ", ".join(
            k for k, v in checks.items() if not v
        )
    return Response(body, status_code=200 if ready else 503)


@get(
    "/api/v1/protocol/schema.json",
    tags=["protocol"],
    summary="JSON Schema of every WebSocket message",
    sync_to_thread=False,
)
def protocol_schema() -> dict[str, Any]:
    return _SCHEMA
