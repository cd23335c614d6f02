"""What every gateway use case is given: the unit of work it writes and reads through, and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from crier.kit.uow import UnitOfWork


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Context:
    uow: UnitOfWork
    clock: Callable[[], datetime] = field(default=_now)

    def now(self) -> datetime:
        return self.clock()
