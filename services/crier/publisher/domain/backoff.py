"""How long to wait before the next attempt after a retryable failure."""

from __future__ import annotations


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
    ceiling = min(cap_s, base_s * 2 ** (n - 1))
    delay = ceiling * min(max(jitter, 0.0), 1.0)
    if retry_after_s is not None:
        delay = max(delay, retry_after_s)
    return delay
