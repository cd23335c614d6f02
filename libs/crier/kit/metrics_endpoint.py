"""A service's operations endpoint on `CRIER_METRICS_PORT`: `/metrics`, `/healthz`, `/readyz`.

It is served by uvicorn on the service's own event loop, not from a thread: `/healthz` answering
is then proof that the loop itself is not stuck, which is what a liveness probe should restart a
pod for. `/readyz` asks the service's own dependencies only (its database, its NATS connection):
a gateway must stay in its Service while the webhooks service is down, or one failing service
would take the API with it.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec
import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.kit.bus import Bus
from crier.kit.metrics import Metrics, MetricsSettings
from crier.kit.uvicorn_server import RuntimeServer

# Dependency name → whether it answers.
Readiness = Callable[[], Awaitable[Mapping[str, bool]]]
# Longer than this and the probe would time out anyway; answering 503 says why.
READY_TIMEOUT_S = 3.0


def dependencies(engine: AsyncEngine, bus: Bus) -> Readiness:
    """The readiness of a service whose dependencies are its database and NATS."""

    async def database() -> bool:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    async def check() -> Mapping[str, bool]:
        try:
            db = await database()
        except Exception:
            db = False
        return {"database": db, "nats": bus.nc.is_connected}

    return check


class OperationsEndpoint:
    """Binds at construction (a taken port fails there, plainly), serves from `serve(stop)`."""

    def __init__(self, metrics: Metrics, readiness: Readiness, host: str = "127.0.0.1", port: int = 0) -> None:
        self.metrics = metrics
        self.readiness = readiness
        self._socket = socket.create_server((host, port))
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            interface="asgi3",  # a bound method: uvicorn's guess would take it for ASGI 2
            proxy_headers=False,
            log_config=None,
            access_log=False,
            lifespan="off",
            server_header=False,
            timeout_graceful_shutdown=1,
        )
        self._server = RuntimeServer(config)

    async def serve(self, stop: asyncio.Event) -> None:
        async def stop_when_told() -> None:
            await stop.wait()
            self._server.should_exit = True

        watcher = asyncio.ensure_future(stop_when_told())
        try:
            await self._server.serve(sockets=[self._socket])
        finally:
            watcher.cancel()
            self._socket.close()

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _answer(send, 405, b"method not allowed\n", "text/plain")
        elif scope["path"] == "/metrics":
            await _answer(send, 200, await self.metrics.exposition(), CONTENT_TYPE_LATEST)
        elif scope["path"] == "/healthz":
            await _answer(send, 200, b"ok\n", "text/plain")
        elif scope["path"] == "/readyz":
            checks = await self._checks()
            ready = bool(checks) and all(checks.values())
            body = msgspec.json.encode({"ready": ready, "service": self.metrics.service_name, "checks": checks})
            await _answer(send, 200 if ready else 503, body, "application/json")
        else:
            await _answer(send, 404, b"not found\n", "text/plain")

    async def _checks(self) -> dict[str, bool]:
        try:
            return dict(await asyncio.wait_for(self.readiness(), READY_TIMEOUT_S))
        except TimeoutError:
            return {"timeout": False}
        except Exception:
            return {"error": False}


async def _answer(send: Any, status: int, body: bytes, content_type: str) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def operations_endpoint(settings: MetricsSettings, metrics: Metrics, readiness: Readiness) -> OperationsEndpoint | None:
    """The endpoint `CRIER_METRICS_PORT` asks for, or None when it is 0 (the default: off)."""
    if settings.metrics_port == 0:
        return None
    return OperationsEndpoint(metrics, readiness, settings.metrics_host, settings.metrics_port)
