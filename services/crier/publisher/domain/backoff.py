"""How long to wait before the next attempt after a retryable failure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    # The attempt that fails with this number dead-letters the target.
    max_attempts: int
    # Backoff between failed attempts: full jitter over base·2^(n-1), capped at max_s.
    base_s: float
    max_s: float
    # How long rate limits may hold a target back before they count as failed attempts.
    rate_limit_deadline_s: float = 3 * 3600.0
    # How long a platform's processing (a video, a media container) may hold a target back, from
    # its first wait, before the target fails with `media_processing_timeout`.
    processing_deadline_s: float = 3 * 3600.0
    # The longest wait between two looks at a platform's processing (0: as long as the adapter or
    # the platform asks): publishing sooner after processing ends, at the cost of more status calls.
    processing_poll_max_s: float = 0.0

    def processing_wait(self, asked_s: float | None, floor_s: float) -> float:
        """How long to wait before looking at the platform's processing again."""
        wait = max(floor_s, asked_s or 0.0)
        if self.processing_poll_max_s > 0:
            wait = max(floor_s, min(wait, self.processing_poll_max_s))
        return wait

    def delay(self, failed_attempts: int, *, retry_after_s: float | None, jitter: float) -> float:
        return retry_delay(
            failed_attempts, base_s=self.base_s, cap_s=self.max_s, retry_after_s=retry_after_s, jitter=jitter
        )


def retry_delay(
    failed_attempts: int,
    *,
    base_s: float,
    cap_s: float,
    retry_after_s: float | None,
    jitter: float,
) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base·2^(n-1))], where
    `jitter` is the uniform draw in [0, 1) (passed in so the rule stays deterministic to test).

    Full jitter spreads the retries of many targets that failed together (a platform outage) instead
    of sending them back in synchronized waves. A platform's own Retry-After is a floor: retrying
    earlier would only be refused again.
    """
    n = max(1, failed_attempts)
    ceiling = min(cap_s, base_s * 2.0 ** (n - 1))
    delay = ceiling * min(max(jitter, 0.0), 1.0)
    if retry_after_s is not None:
        delay = max(delay, retry_after_s)
    return delay
