"""A target as the publisher sees it: how many attempts have failed and whether it is finished.

Attempts are counted here, from Postgres, rather than from JetStream's delivery count: a publisher
that crashes mid-delivery gets the message again, and that redelivery must continue the same
attempt instead of burning one of the five.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Status(enum.StrEnum):
    PUBLISHING = "publishing"
    RETRYING = "retrying"
    PUBLISHED = "published"
    FAILED = "failed"
    DEAD = "dead"
    CANCELED = "canceled"


TERMINAL = frozenset({Status.PUBLISHED, Status.FAILED, Status.DEAD, Status.CANCELED})


class Verdict(enum.StrEnum):
    RETRY = "retry"
    FAIL = "fail"
    DEAD_LETTER = "dead_letter"


@dataclass(frozen=True)
class Target:
    target_id: str
    status: Status
    failed_attempts: int
    # Seconds until the backoff after the last failure ends (0 when it has).
    retry_wait_s: float = 0.0

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def next_attempt(self) -> int:
        return self.failed_attempts + 1


def judge_failure(attempt: int, *, retryable: bool, max_attempts: int) -> Verdict:
    """What a failed attempt means for the target: another try, a permanent failure, or the
    dead-letter queue once the last allowed attempt has failed."""
    if not retryable:
        return Verdict.FAIL
    if attempt >= max_attempts:
        return Verdict.DEAD_LETTER
    return Verdict.RETRY
