"""What every use case of the dispatcher is handed: its dependencies, built once in entrypoints.main."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge, Histogram

from crier.kit.crypto import Keyring
from crier.kit.metrics import Metrics
from crier.kit.metrics_catalog import WEBHOOK_DELIVERIES, WEBHOOK_DISABLED, WEBHOOK_DURATION
from crier.kit.uow import UnitOfWork
from crier.webhooks.adapters.guard import Policy
from crier.webhooks.adapters.sender import Sender
from crier.webhooks.settings import WebhooksSettings


@dataclass(frozen=True)
class Meters:
    """The instruments the dispatcher records on, as `crier.kit.metrics_catalog` names them."""

    deliveries: Counter
    duration: Histogram
    disabled_endpoints: Gauge

    @classmethod
    def on(cls, metrics: Metrics) -> Meters:
        return cls(WEBHOOK_DELIVERIES.on(metrics), WEBHOOK_DURATION.on(metrics), WEBHOOK_DISABLED.on(metrics))


def _unserved() -> Meters:
    return Meters.on(Metrics("webhooks"))


@dataclass(frozen=True)
class Context:
    uow: UnitOfWork
    settings: WebhooksSettings
    keyring: Keyring
    # The SSRF guard's rules, checked when an endpoint's URL is set and again before each attempt.
    policy: Policy
    sender: Sender
    # Tells this process's dispatcher that deliveries were just committed; other replicas hear
    # of them through Postgres' NOTIFY.
    wake: Callable[[], None]
    # The service's own registry, served on its operations port; a registry of its own otherwise
    # (a test's context), so no two contexts share a count.
    meters: Meters = field(default_factory=_unserved)
