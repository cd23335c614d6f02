"""What every gateway use case is given: the unit of work it writes and reads through, and the clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crier.kit.clock import Clock, utc_now
from crier.kit.uow import UnitOfWork


@dataclass(frozen=True)
class Context:
    uow: UnitOfWork
    clock: Clock = field(default=utc_now)

    def now(self) -> datetime:
        return self.clock()
