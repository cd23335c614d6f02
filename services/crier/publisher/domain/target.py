"""A target as the publisher sees it: its attempts, which of them count, and whether it is finished.

Attempts are counted here, from Postgres, rather than from JetStream's delivery count: a publisher
that crashes mid-delivery gets the message again, and that redelivery must continue the same
attempt instead of burning one of the five.

Every try at the platform is an attempt with its own number, so the events of one target always
move forward (`publishing` of attempt 3 comes after `attempt_failed` of attempt 2). Not every
failed attempt counts towards the limit that dead-letters the target: a rate limit is the platform
saying "later", not "no", and is waited out without counting until the target has been held back
for longer than the rate-limit deadline.

A platform still processing what a container needs (an uploaded video) is not a failure either:
the open attempt stops without concluding, and the next delivery continues it (as after a crash)
without announcing it again. Processing may hold a target back for as long as the processing
deadline, from its first wait; then the attempt fails for good.

A failed or dead target can be redriven: its command comes back with a higher redrive generation,
and the target starts that generation afresh (attempts from 1, no failure counted, no rate limit
running). A command of a generation older than the target's is one a redrive replaced.

Statuses are the contracts' `TargetStatus`: the publisher moves a target through `publishing`,
`retrying`, `published`, `failed`, `dead` and `canceled`; `pending` and `queued` happen before a
command reaches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from crier.contracts.common import TargetStatus
from crier.publisher.domain.backoff import RetryPolicy

TERMINAL: frozenset[TargetStatus] = frozenset({"published", "failed", "dead", "canceled"})

# What a failed attempt leaves the target as.
AfterFailure = Literal["retrying", "failed", "dead"]


@dataclass(frozen=True)
class Target:
    target_id: str
    status: TargetStatus
    # The failed attempts that count towards `RetryPolicy.max_attempts`.
    failed_attempts: int
    # Seconds until the backoff after the last failure ends (0 when it has).
    retry_wait_s: float = 0.0
    # The number of the latest attempt begun (0 before the first).
    last_attempt: int = 0
    # Seconds since the platform first rate-limited this target; None if it never has.
    rate_limited_for_s: float | None = None
    # The generation of delivery the counts above belong to (0 until the target is redriven).
    redrive: int = 0
    # Seconds since a platform's processing first held the target back; None if it never has.
    processing_for_s: float | None = None
    # The open attempt stopped to wait on the platform's processing.
    waiting_on_processing: bool = False
    # Its post was canceled (`canceled_targets`).
    canceled: bool = False

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def attempt_open(self) -> bool:
        """An attempt was begun and never concluded: its delivery died mid-way."""
        return self.last_attempt > 0 and self.status == "publishing"

    @property
    def next_attempt(self) -> int:
        """The attempt a delivery makes now: the open one again, or a new one."""
        return self.last_attempt if self.attempt_open else self.last_attempt + 1

    @property
    def resumes_wait(self) -> bool:
        """The delivery now continues an attempt that stopped to wait on processing: the attempt
        was announced already, and nothing new happened to it."""
        return self.attempt_open and self.waiting_on_processing


def processing_timed_out(target: Target, policy: RetryPolicy) -> bool:
    """Whether the platform, still processing, has held the target back past the deadline (the
    first wait starts the clock and never times out)."""
    return target.processing_for_s is not None and target.processing_for_s > policy.processing_deadline_s


@dataclass(frozen=True)
class Verdict:
    """What one failed attempt means for its target."""

    status: AfterFailure
    # Whether it is one of the `max_attempts` failed attempts.
    counts: bool
    # Seconds until the next attempt; None when there is none.
    retry_in_s: float | None


def after_failure(
    target: Target,
    *,
    retryable: bool,
    rate_limited: bool,
    retry_after_s: float | None,
    policy: RetryPolicy,
    jitter: float,
) -> Verdict:
    """A permanent failure fails the target; a retryable one is retried after a backoff until
    `max_attempts` of them have failed. A rate limit waits exactly as long as the platform asks and
    does not count, unless the platform has held the target back for longer than the deadline."""
    if not retryable:
        return Verdict("failed", counts=True, retry_in_s=None)
    held_back_s = target.rate_limited_for_s or 0.0
    if rate_limited and held_back_s <= policy.rate_limit_deadline_s:
        # Without the platform's own hint, back off by how many times it has said "later".
        wait = retry_after_s
        if wait is None:
            wait = policy.delay(target.next_attempt, retry_after_s=None, jitter=jitter)
        return Verdict("retrying", counts=False, retry_in_s=wait)
    failed = target.failed_attempts + 1
    if failed >= policy.max_attempts:
        return Verdict("dead", counts=True, retry_in_s=None)
    return Verdict("retrying", counts=True, retry_in_s=policy.delay(failed, retry_after_s=retry_after_s, jitter=jitter))
