"""One process's Prometheus metrics: a registry the service creates its instruments on.

Each service process owns one `Metrics` (its own `CollectorRegistry`, not prometheus_client's
global one, so several services started in one test process do not collide). The registry carries
the standard process and Python runtime collectors and a `target_info` series naming the process
the OpenTelemetry way (`service_name="crier-publisher-x"`), so a dashboard can tell one
platform's publishers from another's even where the scrape adds no labels of its own.

The operations endpoint (`crier.kit.metrics_endpoint`) serves it on `CRIER_METRICS_PORT`;
`crier.kit.metrics_catalog` names every instrument the services record (the contract dashboards
and alerts are written against).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

from crier.kit import log
from crier.kit.version import VERSION

logger = log.get(__name__)

# Labels whose values grow with the data: one series per post would exhaust Prometheus. Ids belong
# on spans and log lines, never on a metric.
UNBOUNDED_LABELS = frozenset({"post_id", "target_id", "account_id", "org_id", "request_id", "event_id", "path"})
# A refresh that hangs (a stalled NATS request) must not hang the scrape with it.
REFRESH_TIMEOUT_S = 2.0

Instrument = Counter | Gauge | Histogram
Refresh = Callable[[], Awaitable[None]]


def sparing(refresh: Refresh, share: float = 0.1) -> Refresh:
    """`refresh`, run on a scrape only if its past runs took at most `share` of the time since the
    first: a gauge that costs a second of database time to read (a count over a million rows) is
    read every ten seconds or more, one that costs a millisecond on every scrape. Between runs the
    gauge keeps its last value. A run a scrape timed out on goes on (shielded) and no second one
    starts beside it."""
    running: asyncio.Future[None] | None = None
    next_at = 0.0

    def _done(started: float, finished: asyncio.Future[None]) -> None:
        nonlocal running, next_at
        running = None
        if not finished.cancelled() and finished.exception() is not None:
            logger.warning("metrics.refresh_failed", error=repr(finished.exception()))
        next_at = time.monotonic() + (time.monotonic() - started) / share

    async def run() -> None:
        nonlocal running
        if running is None:
            if time.monotonic() < next_at:
                return
            running = asyncio.ensure_future(refresh())
            running.add_done_callback(functools.partial(_done, time.monotonic()))
        await asyncio.shield(running)

    return run


@dataclass(frozen=True)
class MetricsSettings:
    """Read with `kit.settings.load(MetricsSettings)`. Port 0 turns the operations endpoint off;
    the host is 0.0.0.0 in a container, so the kubelet's probes and Prometheus reach it."""

    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"


def service_name(service: str, platform: str | None = None) -> str:
    """`crier-<service>`, and `crier-publisher-<platform>` for a one-platform publisher."""
    if platform and platform != "all":
        return f"crier-{service}-{platform}"
    return f"crier-{service}"


def scrape_target(host: str, port: int, service: str, platform: str | None = None) -> dict[str, Any]:
    """One entry of a Prometheus `file_sd` file (`crier up`'s prometheus-targets.json), labelled as
    the compose profile's scrape configuration and the Kubernetes PodMonitor label theirs."""
    labels = {"service": service}
    if platform and platform != "all":
        labels["platform"] = platform
    return {"targets": [f"{host}:{port}"], "labels": labels}


class Metrics:
    def __init__(self, service: str, platform: str | None = None) -> None:
        # `_created` twins of every counter and histogram double the series for nothing we chart.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.service_name = service_name(service, platform)
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        Info("target", "The process that answers this scrape", registry=self.registry).info(
            {"service_name": self.service_name, "service_namespace": "crier", "service_version": VERSION}
        )
        self._instruments: dict[str, tuple[type, tuple[str, ...], Instrument]] = {}
        self._refreshes: list[Refresh] = []

    def counter(self, name: str, doc: str, labels: Sequence[str] = ()) -> Counter:
        if not name.endswith("_total"):
            raise ValueError(f"a counter's name ends in _total: {name!r}")
        return self._make(Counter, name, doc, labels)  # type: ignore[return-value]

    def gauge(self, name: str, doc: str, labels: Sequence[str] = ()) -> Gauge:
        if name.endswith("_total"):
            raise ValueError(f"_total is for counters: {name!r}")
        return self._make(Gauge, name, doc, labels)  # type: ignore[return-value]

    def histogram(
        self, name: str, doc: str, labels: Sequence[str] = (), buckets: Sequence[float] = Histogram.DEFAULT_BUCKETS
    ) -> Histogram:
        if not name.endswith(("_seconds", "_bytes")):
            raise ValueError(f"a histogram's name says its unit (_seconds, _bytes): {name!r}")
        return self._make(Histogram, name, doc, labels, buckets=tuple(buckets))  # type: ignore[return-value]

    def on_scrape(self, refresh: Refresh) -> None:
        """Run `refresh` before each scrape: gauges read from elsewhere (a consumer's pending count,
        the outbox backlog) are set when someone looks, not polled in the background."""
        self._refreshes.append(refresh)

    async def exposition(self) -> bytes:
        """The Prometheus text format, after every refresh has had its chance."""
        if self._refreshes:
            results = await asyncio.gather(
                *(asyncio.wait_for(r(), REFRESH_TIMEOUT_S) for r in self._refreshes), return_exceptions=True
            )
            for result in results:
                if isinstance(result, BaseException):
                    # The other series are still worth serving; a stale gauge is better than no scrape.
                    logger.warning("metrics.refresh_failed", error=repr(result))
        return generate_latest(self.registry)

    def _make(self, kind: type, name: str, doc: str, labels: Sequence[str], **options: object) -> Instrument:
        if not name.startswith("crier_"):
            raise ValueError(f"Crier's metrics are named crier_…: {name!r}")
        unbounded = UNBOUNDED_LABELS & set(labels)
        if unbounded:
            raise ValueError(f"{name}: labels with unbounded values {sorted(unbounded)}")
        known = self._instruments.get(name)
        if known is not None:
            # Two modules asking for one instrument share it; asking with another shape is a bug.
            if known[:2] != (kind, tuple(labels)):
                raise ValueError(f"{name} already exists as a {known[0].__name__} with labels {known[1]}")
            return known[2]
        instrument: Instrument = kind(name, doc, labelnames=tuple(labels), registry=self.registry, **options)
        self._instruments[name] = (kind, tuple(labels), instrument)
        return instrument
