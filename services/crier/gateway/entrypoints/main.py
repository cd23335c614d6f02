"""`crier serve gateway`: the HTTP API and the event consumers in one process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Iterator
from typing import Any

import uvicorn

from crier.gateway.entrypoints import consumers, housekeeping
from crier.gateway.entrypoints.http.app import asgi
from crier.gateway.entrypoints.http.state import Gateway
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
        gateway = Gateway(settings=settings, engine=runtime.engine, bus=runtime.bus, wake=runtime.relay.wake)
        server = _Server(
            uvicorn.Config(
                asgi(gateway),
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

        consume = consumers.run(runtime.bus, runtime.engine, runtime.stop, runtime.relay.wake)
        return [server.serve(), stop_server(), consume, housekeeping.run(runtime.engine, runtime.stop)]

    return asyncio.run(run_service("gateway", SCHEMA, settings, body))
