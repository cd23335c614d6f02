"""The life of one service process: connect, serve, report ready, stop cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.kit import log, telemetry
from crier.kit.bus import Bus, rpc
from crier.kit.bus.outbox import OutboxRelay, watch_outbox
from crier.kit.collector import settle_after_start
from crier.kit.db import create_engine
from crier.kit.db_spans import trace_statements
from crier.kit.metrics import Metrics, MetricsSettings
from crier.kit.metrics_catalog import GC_FROZEN
from crier.kit.metrics_endpoint import dependencies, operations_endpoint
from crier.kit.settings import CommonSettings, load
from crier.kit.uow import UnitOfWork


class HealthReply(msgspec.Struct, kw_only=True, frozen=True):
    """What every service answers on `rpc.health.<name>`; the gateway's /readyz asks them all."""

    service: str
    ready: bool
    detail: str = ""


def health_subject(service: str) -> str:
    return f"rpc.health.{service}"


@dataclass
class Runtime:
    name: str
    settings: CommonSettings
    bus: Bus
    engine: AsyncEngine
    relay: OutboxRelay
    # Every write of the service goes through it: one transaction with its inbox and outbox.
    uow: UnitOfWork
    stop: asyncio.Event
    # The process's Prometheus registry, served on CRIER_METRICS_PORT with /healthz and /readyz.
    metrics: Metrics
    ready: asyncio.Event = field(default_factory=asyncio.Event)


Body = Callable[[Runtime], Awaitable[list[Awaitable[Any]]]]


async def run_service(
    name: str, schema: str, settings: CommonSettings, body: Body, *, platform: str | None = None
) -> int:
    """`body` sets the service up and returns the long-running coroutines; the runtime runs them
    beside the outbox relay until a signal arrives, then lets them finish their current work.
    Returns the process exit code: 1 when a task crashed, so a supervisor restarts the service.
    `platform` names a one-platform publisher in its metrics and traces (`crier-publisher-<platform>`)."""
    log.configure(name, settings.log_level)
    telemetry.configure(name, settings.otel_exporter, settings.otel_endpoint, platform=platform)
    logger = log.get(__name__)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    bus = await Bus.connect(
        settings.nats_url, namespace=settings.nats_namespace, name=f"crier-{name}", replicas=settings.nats_replicas
    )
    await bus.ensure_streams()
    engine = create_engine(
        settings.database_url,
        schema,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    if settings.otel_db_spans:
        trace_statements(engine, schema)
    relay = OutboxRelay(engine, bus, lock_name=f"outbox:{schema}")
    uow = UnitOfWork(
        engine,
        consumer=name,
        wake=relay.wake,
        kept_connections=kept_share(settings.database_pool_size + settings.database_max_overflow),
    )
    metrics = Metrics(name, platform)
    watch_outbox(metrics, relay)
    runtime = Runtime(
        name=name, settings=settings, bus=bus, engine=engine, relay=relay, uow=uow, stop=stop, metrics=metrics
    )
    own_dependencies = dependencies(engine, bus)

    async def readiness() -> dict[str, bool]:
        # Its own database and NATS, and whether it finished starting: never another service.
        return {"started": runtime.ready.is_set(), **(await own_dependencies())}

    # Bound before the service starts its work: a port already taken fails the start, plainly.
    endpoint = operations_endpoint(load(MetricsSettings), metrics, readiness)

    async def health(_: None) -> HealthReply:
        return HealthReply(service=name, ready=runtime.ready.is_set())

    await rpc.serve(bus, health_subject(name), None, health, queue=f"health-{name}")
    serving = [relay.run(stop), *(await body(runtime))]
    if endpoint is not None:
        serving.append(endpoint.serve(stop))
        logger.info("service.operations_endpoint", port=endpoint.port)
    tasks = [asyncio.ensure_future(c) for c in serving]
    # Everything built so far lives as long as the process: out of the collector's sight.
    frozen = settle_after_start()
    GC_FROZEN.on(metrics).set(frozen)
    runtime.ready.set()
    logger.info("service.ready")
    stopper = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
    crashed = False
    for task in done:
        if task is not stopper and task.exception() is not None:
            crashed = True
            # Once per process, and the supervisor restarts it: the traceback is worth its lines.
            logger.error("service.task_crashed", error=repr(task.exception()), exc_info=task.exception())
    stop.set()
    await asyncio.wait(tasks, timeout=10)
    for task in tasks:
        task.cancel()
    await bus.close()
    await uow.close()
    await engine.dispose()
    logger.info("service.stopped", crashed=crashed)
    return 1 if crashed else 0


def run_on_fastest_loop(main: Coroutine[Any, Any, int]) -> int:
    """uvloop when it is installed; asyncio's own loop otherwise. Every service runs on it: its
    bus, database driver and HTTP servers all spend less time in the loop. (`loop="auto"` in uvicorn
    only applies when uvicorn runs the loop itself.)"""
    try:
        import uvloop  # type: ignore[import-not-found,unused-ignore]

        factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def kept_share(connections: int) -> int:
    """Of the engine's connections, those the units of work keep (`KeptConnections`): all but a
    quarter (two at least), which the outbox relay, the readiness checks and the metrics always have."""
    return max(0, connections - max(2, connections // 4))
