"""`crier serve gateway`: the HTTP API and the event consumers in one process. The composition
root: the one place that builds the use cases' Context."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Iterator
from typing import Any

import uvicorn

from crier.gateway.entrypoints import consumers, housekeeping
from crier.gateway.entrypoints.http.app import asgi
from crier.gateway.entrypoints.http.state import Gateway
from crier.gateway.handlers.context import Context
from crier.gateway.settings import SCHEMA, GatewaySettings
from crier.kit.service import Runtime, run_service
from crier.kit.settings import load


class _Server(uvicorn.Server):
    """run_service owns SIGTERM/SIGINT; uvicorn stops when the runtime says so."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def install_signal_handlers(self) -> None:
        pass


def main() -> int:
    settings = load(GatewaySettings)

    async def body(runtime: Runtime) -> list[Awaitable[Any]]:
        ctx = Context(uow=runtime.uow)
        server = _Server(
            uvicorn.Config(
                asgi(Gateway(settings=settings, bus=runtime.bus, ctx=ctx)),
                host=settings.gateway_host,
                port=settings.gateway_port,
                log_config=None,
                access_log=False,
                lifespan="on",
                server_header=False,
                timeout_graceful_shutdown=8,
            )
        )

        async def stop_server() -> None:
            await runtime.stop.wait()
            server.should_exit = True

        return [
            server.serve(),
            stop_server(),
            consumers.run(runtime.bus, ctx, runtime.stop, max_failures=settings.consumer_max_failures),
            housekeeping.run(ctx, runtime.stop),
        ]

    return asyncio.run(run_service("gateway", SCHEMA, settings, body))
