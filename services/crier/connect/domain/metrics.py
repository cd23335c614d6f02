"""When the metrics collector captures an account next: pure arithmetic on the clock.

Captures are spread over the interval (± `jitter` of it, drawn afresh each time) so accounts
connected together — or a whole installation upgraded at once — drift apart instead of asking the
platforms all at the same moment every day. A failed capture is tried again sooner than the next
regular one, later after each failure in a row, and never before the platform's own Retry-After.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# The first retry after a failure; it doubles with each failure in a row, up to the interval.
FIRST_RETRY_S = 300.0


def next_capture(now: datetime, interval_s: float, jitter: float, draw: float) -> datetime:
    """`draw` in [0, 1): where in the jitter window this capture lands."""
    spread = max(0.0, min(jitter, 0.9))
    return now + timedelta(seconds=interval_s * (1 - spread + 2 * spread * draw))


def retry_after_failure(now: datetime, failures: int, interval_s: float, retry_after_s: float | None) -> datetime:
    """`failures`: how many captures in a row failed, this one included (≥ 1)."""
    backoff = min(interval_s, FIRST_RETRY_S * 2 ** max(0, failures - 1))
    return now + timedelta(seconds=max(backoff, retry_after_s or 0.0))
