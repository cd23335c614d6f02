"""What the scheduler's use cases work with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from crier.kit.clock import Clock, utc_now
from crier.kit.uow import UnitOfWork


@dataclass(frozen=True)
class Context:
    uow: UnitOfWork
    # Tells the alarm that rows due at this moment (None: now) were just committed, so it can wake
    # before the moment it is set for.
    wake_alarm: Callable[[datetime | None], None]
    # Targets fired per transaction; a larger backlog is fired in consecutive batches.
    batch_size: int = 1000
    clock: Clock = field(default=utc_now)
