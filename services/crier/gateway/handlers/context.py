"""What every gateway use case is given: the unit of work it writes and reads through, the clock,
and the platforms' rules that a new post is checked against."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crier.gateway.domain.target_checks import Platforms
from crier.kit.clock import Clock, utc_now
from crier.kit.uow import UnitOfWork
from crier.platforms import publishing


@dataclass(frozen=True)
class Context:
    uow: UnitOfWork
    clock: Clock = field(default=utc_now)
    platforms: Platforms = field(default=publishing)

    def now(self) -> datetime:
        return self.clock()
