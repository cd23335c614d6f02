"""What the scheduler's use cases work with, the instruments they record on among them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import Gauge, Histogram

from crier.kit.clock import Clock, utc_now
from crier.kit.metrics import Metrics
from crier.kit.metrics_catalog import SCHEDULER_LATENESS, SCHEDULER_PENDING
from crier.kit.uow import UnitOfWork


@dataclass(frozen=True)
class Meters:
    """As `crier.kit.metrics_catalog` names them."""

    lateness: Histogram
    pending_timers: Gauge

    @classmethod
    def on(cls, metrics: Metrics) -> Meters:
        return cls(SCHEDULER_LATENESS.on(metrics), SCHEDULER_PENDING.on(metrics))


def _unserved() -> Meters:
    return Meters.on(Metrics("scheduler"))


@dataclass(frozen=True)
class Context:
    uow: UnitOfWork
    # Tells the alarm that rows due at this moment (None: now) were just committed, so it can wake
    # before the moment it is set for.
    wake_alarm: Callable[[datetime | None], None]
    # Targets fired per transaction; a larger backlog is fired in consecutive batches.
    batch_size: int = 1000
    clock: Clock = field(default=utc_now)
    # The service's own registry, served on its operations port; a registry of its own otherwise
    # (a test's context), so no two contexts share a count.
    meters: Meters = field(default_factory=_unserved)
