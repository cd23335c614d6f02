"""Every metric Crier records: the contract that dashboards, alerts and the KEDA scaler rely on.

A service takes its instruments from here (`DELIVERIES.on(metrics).labels(platform="x",
outcome="published").inc()`), so a name, a label or a bucket is defined once, and
`deploy/observability/grafana/dashboards/crier.json` is checked against this list. Labels take
bounded values only: a route template rather than a path, an error code rather than a message.
"""

from __future__ import annotations

from typing import NamedTuple

from prometheus_client import Counter, Gauge, Histogram

from crier.kit.metrics import Metrics

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Video uploads to a platform take minutes; a text post a fraction of a second.
DELIVERY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
LATENESS_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
WEBHOOK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class CounterSpec(NamedTuple):
    name: str
    doc: str
    labels: tuple[str, ...] = ()

    def on(self, metrics: Metrics) -> Counter:
        return metrics.counter(self.name, self.doc, self.labels)


class GaugeSpec(NamedTuple):
    name: str
    doc: str
    labels: tuple[str, ...] = ()

    def on(self, metrics: Metrics) -> Gauge:
        return metrics.gauge(self.name, self.doc, self.labels)


class HistogramSpec(NamedTuple):
    name: str
    doc: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...]

    def on(self, metrics: Metrics) -> Histogram:
        return metrics.histogram(self.name, self.doc, self.labels, self.buckets)


Spec = CounterSpec | GaugeSpec | HistogramSpec

# HTTP servers (the gateway): route is the template, `/api/v1/posts/{post_id}`, never the path.
HTTP_REQUESTS = CounterSpec("crier_http_requests_total", "HTTP requests answered", ("route", "method", "status"))
HTTP_DURATION = HistogramSpec(
    "crier_http_request_duration_seconds", "Time to answer an HTTP request", ("route", "method"), HTTP_BUCKETS
)

# Ingest (the gateway): mode is live or test.
POSTS_CREATED = CounterSpec("crier_posts_created_total", "Posts accepted", ("mode",))
TARGETS_CREATED = CounterSpec(
    "crier_targets_created_total", "Targets accepted, one per account of a post", ("platform",)
)

# The bus, per consumer: for a publisher, every lane's consumer on stream PUBLISH
# (`publisher-<platform>-<due|now>-<n>`) and `publisher-<platform>`, the queue of earlier versions.
CONSUMER_PENDING = GaugeSpec(
    "crier_consumer_pending_messages",
    "Messages on the stream not yet delivered to the consumer",
    ("stream", "consumer"),
)
CONSUMER_ACK_PENDING = GaugeSpec(
    "crier_consumer_ack_pending_messages",
    "Messages delivered to the consumer, not yet acknowledged",
    ("stream", "consumer"),
)
OUTBOX_BACKLOG = GaugeSpec("crier_outbox_backlog_messages", "Rows in the service's outbox not yet sent to NATS")
OUTBOX_LAG = GaugeSpec("crier_outbox_relay_lag_seconds", "Age of the oldest row in the service's outbox")
# Every service, once started (`kit.collector`): the collector's `python_gc_*` series show the rest.
GC_FROZEN = GaugeSpec(
    "crier_gc_frozen_objects", "Objects built at start-up and set aside from garbage collection (gc.freeze)"
)

# Deliveries (the publisher). outcome: published, retried, failed, canceled, dead.
DELIVERIES = CounterSpec("crier_deliveries_total", "Deliveries of a target, by how they ended", ("platform", "outcome"))
DELIVERY_DURATION = HistogramSpec(
    "crier_delivery_duration_seconds",
    "Time of one delivery, platform calls included",
    ("platform", "outcome"),
    DELIVERY_BUCKETS,
)
# error_code is the platform error's normalised code, `none` for an attempt that succeeded.
ATTEMPTS = CounterSpec("crier_delivery_attempts_total", "Attempts to publish a target", ("platform", "error_code"))
DEAD_LETTERS = CounterSpec("crier_dead_letters_total", "Targets sent to the DEAD stream", ("platform", "error_code"))

# The scheduler.
SCHEDULER_LATENESS = HistogramSpec(
    "crier_scheduler_lateness_seconds",
    "From a post's due time to its publish commands being sent",
    (),
    LATENESS_BUCKETS,
)
SCHEDULER_PENDING = GaugeSpec("crier_scheduler_pending_timers", "Scheduled posts not yet due")

# Webhooks. outcome: delivered (2xx), failed (will be retried), gave_up (the last attempt failed).
WEBHOOK_DELIVERIES = CounterSpec("crier_webhook_deliveries_total", "Webhook delivery attempts", ("outcome",))
WEBHOOK_DURATION = HistogramSpec(
    "crier_webhook_delivery_duration_seconds", "Time of one webhook attempt", ("outcome",), WEBHOOK_BUCKETS
)
WEBHOOK_DISABLED = GaugeSpec("crier_webhook_endpoints_disabled", "Endpoints disabled after failing too long")

# Connect. outcome: refreshed, failed (will be retried), revoked (the grant is dead).
TOKEN_REFRESHES = CounterSpec("crier_token_refreshes_total", "OAuth token refreshes", ("platform", "outcome"))
# outcome: captured, failed (the platform could not answer; backed off), deferred (its app was just
# rate limited), crashed (a bug or an outage mid-capture; its lease runs out and it is taken again).
ACCOUNT_METRICS_CAPTURES = CounterSpec(
    "crier_account_metrics_captures_total", "Account metrics captures by the collector", ("platform", "outcome")
)
# source: live (read from the platform), cached (a reading younger than asked for, or this period's
# capture), snapshot (the latest reading, the platform failing), unavailable (no reading at all).
POST_ENGAGEMENT_READS = CounterSpec(
    "crier_post_engagement_reads_total", "Post engagement answers, one per target", ("platform", "source")
)

# Media (the gateway).
MEDIA_STORED = CounterSpec("crier_media_stored_bytes_total", "Bytes of media written to the media store")

CATALOG: tuple[Spec, ...] = (
    HTTP_REQUESTS,
    HTTP_DURATION,
    POSTS_CREATED,
    TARGETS_CREATED,
    CONSUMER_PENDING,
    CONSUMER_ACK_PENDING,
    OUTBOX_BACKLOG,
    OUTBOX_LAG,
    GC_FROZEN,
    DELIVERIES,
    DELIVERY_DURATION,
    ATTEMPTS,
    DEAD_LETTERS,
    SCHEDULER_LATENESS,
    SCHEDULER_PENDING,
    WEBHOOK_DELIVERIES,
    WEBHOOK_DURATION,
    WEBHOOK_DISABLED,
    TOKEN_REFRESHES,
    ACCOUNT_METRICS_CAPTURES,
    POST_ENGAGEMENT_READS,
    MEDIA_STORED,
)
