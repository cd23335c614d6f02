"""What the publisher's use cases work with."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from crier.kit.clock import Clock, utc_now
from crier.kit.uow import UnitOfWork
from crier.platforms.base import PlatformAdapter
from crier.publisher.domain.backoff import RetryPolicy


@dataclass(frozen=True)
class Context:
    uow: UnitOfWork
    # By routing key (`domain.routing.adapter_key`); a platform without one fails honestly.
    adapters: Mapping[str, PlatformAdapter]
    retry: RetryPolicy
    # The uniform draw in [0, 1) behind each backoff's full jitter.
    jitter: Callable[[], float] = field(default=random.random)
    clock: Clock = field(default=utc_now)
