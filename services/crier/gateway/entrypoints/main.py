"""`crier serve gateway`: the HTTP API and the event consumers in one process. The composition
root: the one place that builds the use cases' Context."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

import uvicorn

from crier.gateway.adapters.media_fetch import GuardedFetcher
from crier.gateway.domain.media import MediaPolicy
from crier.gateway.entrypoints import analytics_capture, consumers, housekeeping, import_pages
from crier.gateway.entrypoints.http.app import asgi
from crier.gateway.entrypoints.http.request_metrics import RequestMeters
from crier.gateway.entrypoints.http.state import Gateway
from crier.gateway.handlers.context import Context, Meters
from crier.gateway.handlers.key_cache import KeyCache
from crier.gateway.settings import SCHEMA, GatewaySettings
from crier.kit.bus import streams
from crier.kit.media.store import open_store
from crier.kit.metrics_bus import watch_consumer
from crier.kit.service import Runtime, run_on_fastest_loop, run_service
from crier.kit.settings import load
from crier.kit.shared_listener import adopt
from crier.kit.ssrf import parse_networks
from crier.kit.uvicorn_server import RuntimeServer

# An idle keep-alive connection is kept open longer than the clients and proxies in front keep
# theirs (60 s on the common load balancers). Closed first by the server (uvicorn's default is 5 s),
# it races the client's next request on it, which then fails with a reset (a 502 behind a proxy)
# though the server never saw it: the burst benchmark's client hit that after a pause.
KEEP_ALIVE_S = 75


def server_config(app: Any, host: str, port: int) -> uvicorn.Config:
    """How the API is served; the ingest benchmark serves its bare echo the same way. `auto` takes
    uvloop and httptools when they are installed (the `standard` extra of uvicorn), asyncio and h11
    otherwise."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="auto",
        http="auto",
        log_config=None,
        access_log=False,
        lifespan="on",
        server_header=False,
        timeout_graceful_shutdown=8,
        timeout_keep_alive=KEEP_ALIVE_S,
    )


def main() -> int:
    settings = load(GatewaySettings)

    async def body(runtime: Runtime) -> list[Awaitable[Any]]:
        store = await open_store(settings, runtime.bus)
        fetcher = GuardedFetcher(
            parse_networks(settings.media_fetch_allowed_networks), timeout_s=settings.media_fetch_timeout_s
        )
        ctx = Context(
            uow=runtime.uow,
            media_store=store,
            media_fetcher=fetcher,
            media_policy=MediaPolicy(
                max_bytes=settings.media_max_bytes,
                retention=timedelta(seconds=settings.media_retention_s),
                unused_retention=timedelta(seconds=settings.media_unused_retention_s),
            ),
            idempotency_lease=timedelta(seconds=settings.idempotency_lease_s),
            meters=Meters.on(runtime.metrics),
            verified_keys=KeyCache(settings.api_key_cache_s),
        )
        gateway = Gateway(settings=settings, bus=runtime.bus, ctx=ctx, meters=RequestMeters(runtime.metrics))
        server = RuntimeServer(server_config(asgi(gateway), settings.gateway_host, settings.gateway_port))

        async def stop_server() -> None:
            await runtime.stop.wait()
            server.should_exit = True

        async def serve() -> None:
            shared = settings.gateway_socket_fd
            try:
                await server.serve(sockets=None if shared is None else [adopt(shared)])
            finally:
                # Once the server has finished its requests: uploads under way still use both.
                await fetcher.close()
                await store.close()

        watch_consumer(runtime.metrics, runtime.bus, streams.EVENTS, consumers.DURABLE)
        watch_consumer(runtime.metrics, runtime.bus, streams.EVENTS, import_pages.DURABLE)
        return [
            serve(),
            stop_server(),
            consumers.run(
                runtime.bus,
                ctx,
                runtime.stop,
                max_failures=settings.consumer_max_failures,
                concurrency=settings.report_concurrency,
            ),
            import_pages.run(runtime.bus, ctx, runtime.stop, max_failures=settings.consumer_max_failures),
            housekeeping.run(ctx, runtime.stop),
            analytics_capture.run(
                ctx,
                runtime.bus,
                runtime.stop,
                days=settings.analytics_capture_days,
                every_s=settings.analytics_capture_every_s,
            ),
        ]

    return run_on_fastest_loop(run_service("gateway", SCHEMA, settings, body))
