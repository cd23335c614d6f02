"""The operations endpoint over real HTTP on loopback: instruments recorded by the service appear
in the scrape with their labels and values, the process is named, and readiness is the service's
own answer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from crier.kit.metrics import Metrics, MetricsSettings, scrape_target, service_name, sparing
from crier.kit.metrics_catalog import CATALOG, DEAD_LETTERS, DELIVERIES, DELIVERY_DURATION, SCHEDULER_PENDING
from crier.kit.metrics_endpoint import OperationsEndpoint, operations_endpoint
from crier.kit.settings import load


class Dependencies:
    """What the service under test says about its database and NATS."""

    def __init__(self) -> None:
        self.state = {"database": True, "nats": True}
        self.broken = False

    async def __call__(self) -> Mapping[str, bool]:
        if self.broken:
            raise ConnectionError("database unreachable")
        return dict(self.state)


@pytest.fixture(scope="module")
async def endpoint() -> AsyncIterator[tuple[OperationsEndpoint, Dependencies, httpx.AsyncClient]]:
    deps = Dependencies()
    endpoint = OperationsEndpoint(Metrics("publisher", "x"), deps)
    stop = asyncio.Event()
    serving = asyncio.ensure_future(endpoint.serve(stop))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{endpoint.port}") as client:
        yield endpoint, deps, client
    stop.set()
    await serving


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_instruments_appear_in_the_scrape_with_their_labels_and_values(endpoint) -> None:
    server, _, client = endpoint
    metrics = server.metrics
    DELIVERIES.on(metrics).labels(platform="x", outcome="published").inc()
    DELIVERIES.on(metrics).labels(platform="x", outcome="published").inc()
    DELIVERIES.on(metrics).labels(platform="x", outcome="failed").inc()
    DEAD_LETTERS.on(metrics).labels(platform="x", error_code="media_rejected").inc()
    DELIVERY_DURATION.on(metrics).labels(platform="x", outcome="published").observe(0.3)
    SCHEDULER_PENDING.on(metrics).set(7)

    answer = await client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    samples = _samples(answer.text)
    published = frozenset({("platform", "x"), ("outcome", "published")})
    assert samples[("crier_deliveries_total", published)] == 2
    assert samples[("crier_deliveries_total", frozenset({("platform", "x"), ("outcome", "failed")}))] == 1
    assert samples[("crier_dead_letters_total", frozenset({("platform", "x"), ("error_code", "media_rejected")}))] == 1
    assert samples[("crier_delivery_duration_seconds_count", published)] == 1
    assert samples[("crier_delivery_duration_seconds_bucket", published | {("le", "0.5")})] == 1
    assert samples[("crier_delivery_duration_seconds_bucket", published | {("le", "0.25")})] == 0
    assert samples[("crier_scheduler_pending_timers", frozenset())] == 7
    # No `_created` twins: they double the series for nothing a dashboard shows.
    assert "crier_deliveries_created" not in answer.text


async def test_the_scrape_names_the_process_and_carries_the_runtime_metrics(endpoint) -> None:
    _, _, client = endpoint
    text = (await client.get("/metrics")).text
    info = next(s for f in text_string_to_metric_families(text) if f.name == "target_info" for s in f.samples)
    assert info.labels["service_name"] == "crier-publisher-x" and info.labels["service_namespace"] == "crier"
    names = {f.name for f in text_string_to_metric_families(text)}
    assert {
        "process_resident_memory_bytes",
        "process_cpu_seconds",
        "python_info",
        "python_gc_objects_collected",
    } <= names


async def test_a_refresh_runs_before_each_scrape_and_one_that_fails_spoils_nothing(endpoint) -> None:
    server, _, client = endpoint
    backlog = server.metrics.gauge("crier_test_refreshed", "set at scrape time")
    calls: list[int] = []

    async def refresh() -> None:
        calls.append(1)
        backlog.set(len(calls))

    async def broken() -> None:
        raise RuntimeError("stream gone")

    server.metrics.on_scrape(refresh)
    server.metrics.on_scrape(broken)
    await client.get("/metrics")
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert _samples(answer.text)[("crier_test_refreshed", frozenset())] == 2


async def test_health_answers_while_readiness_is_the_services_own(endpoint) -> None:
    _, deps, client = endpoint
    assert (await client.get("/healthz")).status_code == 200
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "service": "crier-publisher-x", "checks": {"database": True, "nats": True}}

    deps.state["nats"] = False
    unready = await client.get("/readyz")
    assert unready.status_code == 503 and unready.json()["checks"] == {"database": True, "nats": False}
    deps.broken = True
    assert (await client.get("/readyz")).status_code == 503
    # Liveness does not follow readiness: a pod whose database is down is not restarted for it.
    assert (await client.get("/healthz")).status_code == 200
    deps.state["nats"], deps.broken = True, False
    assert (await client.get("/readyz")).status_code == 200
    assert (await client.get("/nothing")).status_code == 404
    assert (await client.post("/metrics")).status_code == 405


def test_instruments_follow_the_naming_rules() -> None:
    metrics = Metrics("gateway")
    with pytest.raises(ValueError, match="_total"):
        metrics.counter("crier_deliveries", "no suffix")
    with pytest.raises(ValueError, match="unit"):
        metrics.histogram("crier_delivery_time", "no unit")
    with pytest.raises(ValueError, match="crier_"):
        metrics.gauge("deliveries_pending", "no prefix")
    with pytest.raises(ValueError, match="unbounded"):
        metrics.counter("crier_posts_total", "per post", ("post_id",))
    assert DELIVERIES.on(metrics) is DELIVERIES.on(metrics)
    with pytest.raises(ValueError, match="already exists"):
        metrics.counter(DELIVERIES.name, "another shape", ("platform",))
    # Every instrument of the contract can be created, with no name clash.
    for spec in CATALOG:
        spec.on(metrics)


def test_the_port_setting_turns_the_endpoint_on_and_names_follow_the_platform() -> None:
    settings = load(MetricsSettings, {})
    assert settings.metrics_port == 0
    assert operations_endpoint(settings, Metrics("gateway"), Dependencies()) is None
    on = load(MetricsSettings, {"CRIER_METRICS_PORT": "0"}, metrics_port=1)
    assert on.metrics_port == 1
    assert service_name("publisher", "linkedin") == "crier-publisher-linkedin"
    assert service_name("publisher", "all") == service_name("publisher") == "crier-publisher"
    assert service_name("webhooks") == "crier-webhooks"


def test_a_scrape_target_carries_the_labels_the_dashboard_groups_by() -> None:
    assert scrape_target("127.0.0.1", 9470, "publisher", "x") == {
        "targets": ["127.0.0.1:9470"],
        "labels": {"service": "publisher", "platform": "x"},
    }
    assert scrape_target("127.0.0.1", 9464, "gateway")["labels"] == {"service": "gateway"}
    assert scrape_target("127.0.0.1", 9471, "publisher", "all")["labels"] == {"service": "publisher"}


async def test_a_costly_refresh_is_run_sparingly_and_never_twice_at_once() -> None:
    runs: list[float] = []

    async def count() -> None:
        runs.append(time.monotonic())
        await asyncio.sleep(0.05)  # the refresh's own work: a slow count

    refresh = sparing(count, share=0.1)
    first = asyncio.ensure_future(refresh())
    await asyncio.sleep(0)  # the first run is under way
    second = asyncio.ensure_future(refresh())  # a scrape while it runs waits on the same run
    await asyncio.gather(first, second)
    assert len(runs) == 1

    await refresh()  # right after a run of 50 ms or more: skipped for ten times as long
    assert len(runs) == 1
    deadline = time.monotonic() + 5
    while len(runs) == 1:
        assert time.monotonic() < deadline, "the refresh never ran again"
        await refresh()
        await asyncio.sleep(0.02)
    assert runs[1] - runs[0] >= 0.05 / 0.1, "run again only after ten times its own duration"
