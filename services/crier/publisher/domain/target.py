"""A target as the publisher sees it: how many attempts have failed and whether it is finished.

Attempts are counted here, from Postgres, rather than from JetStream's delivery count: a publisher
that crashes mid-delivery gets the message again, and that redelivery must continue the same
attempt instead of burning one of the five.

Statuses are the contracts' `TargetStatus`: the publisher moves a target through `publishing`,
`retrying`, `published`, `failed`, `dead` and `canceled`; `pending` and `queued` happen before a
command reaches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from crier.contracts.common import TargetStatus

TERMINAL: frozenset[TargetStatus] = frozenset({"published", "failed", "dead", "canceled"})

# What a failed attempt leaves the target as.
AfterFailure = Literal["retrying", "failed", "dead"]


@dataclass(frozen=True)
class Target:
    target_id: str
    status: TargetStatus
    failed_attempts: int
    # Seconds until the backoff after the last failure ends (0 when it has).
    retry_wait_s: float = 0.0

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def next_attempt(self) -> int:
        return self.failed_attempts + 1


def status_after_failure(attempt: int, *, retryable: bool, max_attempts: int) -> AfterFailure:
    """What a failed attempt means for the target: another try (`retrying`), a permanent failure
    (`failed`), or the dead-letter queue (`dead`) once the last allowed attempt has failed."""
    if not retryable:
        return "failed"
    if attempt >= max_attempts:
        return "dead"
    return "retrying"
