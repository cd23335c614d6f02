"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get

from crier.gateway.entrypoints.http import schemas as s
from crier.gateway.entrypoints.http.errors import ApiError
from crier.gateway.entrypoints.http.state import Gateway, gateway_of
from crier.gateway.handlers.health import database_ready
from crier.kit.bus import rpc
from crier.kit.service import HealthReply, health_subject

PROBE_TIMEOUT_S = 1.0


@get(
    "/healthz",
    operation_id="healthz",
    tags=["health"],
    security=[],
    opt={"exclude_from_auth": True},
    summary="The process is up",
)
async def healthz() -> s.Health:
    return s.Health(status="ok")


@get(
    "/readyz",
    operation_id="readyz",
    tags=["health"],
    security=[],
    opt={"exclude_from_auth": True},
    summary="The database and every required service answer",
)
async def readyz(request: Request[Any, Any, Any]) -> Response[s.Health]:
    gw = gateway_of(request)
    names = list(gw.settings.required_services)
    answers = await asyncio.gather(database_ready(gw.ctx, PROBE_TIMEOUT_S * 2), *(_service_ready(gw, n) for n in names))
    services = {"database": answers[0], **dict(zip(names, answers[1:], strict=True))}
    missing = [name for name, ok in services.items() if not ok]
    if missing:
        raise ApiError(
            503, "not_ready", f"waiting for {', '.join(missing)}", {"missing": missing, "services": services}
        )
    return Response(s.Health(status="ready", services=services))


async def _service_ready(gw: Gateway, name: str) -> bool:
    try:
        reply = await rpc.call(gw.bus, health_subject(name), None, HealthReply, timeout=PROBE_TIMEOUT_S)
    except Exception:
        return False
    return reply.ready
