"""Against a real JetStream and PostgreSQL: a consumer's lag is what the scrape shows, and readiness
follows the service's own database and NATS connection."""

from __future__ import annotations

import asyncio
import secrets

import httpx
from prometheus_client.parser import text_string_to_metric_families

from crier.kit.bus import Bus, consumer, streams
from crier.kit.db import create_engine
from crier.kit.embedded import free_port
from crier.kit.metrics import Metrics
from crier.kit.metrics_bus import watch_consumer
from crier.kit.metrics_endpoint import OperationsEndpoint, Readiness, dependencies
from tests.support.bus import eventually
from tests.support.stack import Infra


async def _serving(metrics: Metrics, readiness: Readiness) -> tuple[OperationsEndpoint, asyncio.Event, asyncio.Future]:
    endpoint = OperationsEndpoint(metrics, readiness)
    stop = asyncio.Event()
    return endpoint, stop, asyncio.ensure_future(endpoint.serve(stop))


def _value(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    raise AssertionError(f"{name}{labels} not in the scrape")


async def dependencies_stub() -> dict[str, bool]:
    return {"stub": True}


async def test_a_publish_consumers_lag_is_scraped_as_pending_and_unacknowledged(bus: Bus) -> None:
    durable = "publisher-x"
    sub = await consumer.bind(bus, stream=streams.PUBLISH, durable=durable, subjects=["cmd.publish.x"])
    for _ in range(3):
        await bus.js.publish(bus.subject("cmd.publish.x"), b"{}", headers={"Nats-Msg-Id": secrets.token_hex(8)})
    metrics = Metrics("publisher", "x")
    watch_consumer(metrics, bus, streams.PUBLISH, durable)
    endpoint, stop, serving = await _serving(metrics, dependencies_stub)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{endpoint.port}") as client:
        text = (await client.get("/metrics")).text
        labels = {"stream": "PUBLISH", "consumer": durable}
        assert _value(text, "crier_consumer_pending_messages", **labels) == 3
        assert _value(text, "crier_consumer_ack_pending_messages", **labels) == 0
        # One taken and not yet acknowledged: no longer pending, awaiting its ack.
        await sub.fetch(1, timeout=5)
        text = (await client.get("/metrics")).text
        assert _value(text, "crier_consumer_pending_messages", **labels) == 2
        assert _value(text, "crier_consumer_ack_pending_messages", **labels) == 1
    stop.set()
    await serving


async def test_readiness_follows_the_database_and_the_nats_connection(infra: Infra) -> None:
    bus = await Bus.connect(infra.nats_url, namespace=f"t{secrets.token_hex(4)}")
    engine = create_engine(infra.server_url, "public", pool_size=1)
    nowhere = create_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", "public", pool_size=1)
    live, stop, serving = await _serving(Metrics("scheduler"), dependencies(engine, bus))
    dead_db, stop_db, serving_db = await _serving(Metrics("webhooks"), dependencies(nowhere, bus))
    try:
        async with httpx.AsyncClient() as client:

            async def ready_once() -> httpx.Response | None:
                answer = await client.get(f"http://127.0.0.1:{live.port}/readyz")
                return answer if answer.status_code == 200 else None

            # The first check opens the engine's connection: on a loaded machine that can outlast
            # one check's time limit (then 503 "timeout"); the service is ready once a check passes.
            ready = await eventually(ready_once, what="the live service's readiness")
            assert ready.json()["checks"] == {"database": True, "nats": True}
            no_db = await client.get(f"http://127.0.0.1:{dead_db.port}/readyz")
            assert no_db.status_code == 503 and no_db.json()["checks"] == {"database": False, "nats": True}
            await bus.close()
            no_nats = await client.get(f"http://127.0.0.1:{live.port}/readyz")
            assert no_nats.status_code == 503 and no_nats.json()["checks"] == {"database": True, "nats": False}
    finally:
        stop.set()
        stop_db.set()
        await asyncio.gather(serving, serving_db)
        await engine.dispose()
        await nowhere.dispose()
        await bus.close()
