"""What happens after each attempt to deliver a webhook: success, retry later, or give up.

Retry schedule (delay after the Nth failed attempt, each ±20 % jitter so endpoints that failed
together are not hit again in lockstep, then scaled by `webhooks_retry_scale`):

    attempt 1  immediately
    attempt 2  5 s      after attempt 1
    attempt 3  5 min    after attempt 2
    attempt 4  30 min
    attempt 5  2 h
    attempt 6  5 h
    attempt 7  10 h
    attempt 8  10 h     (about 27.6 h after the first); if it fails too the delivery is `failed`.

Retried: timeouts, connection errors, failed DNS lookups, 5xx, 408, 409, 425, 429. A `Retry-After` longer than the
scheduled delay wins (capped at a day). Any other non-2xx (e.g. 400, 404, 410) fails the delivery
at once, and so does an endpoint whose address the SSRF guard refuses at delivery time
(`blocked_address`): a DNS answer pointing into a private network is not something a retry fixes.
Redirects are not followed; a 3xx is a permanent failure.

An endpoint that has failed continuously for five days (no success since its first failure since
the last success) is disabled.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal

RETRY_SCHEDULE_S: tuple[float, ...] = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
MAX_ATTEMPTS = len(RETRY_SCHEDULE_S) + 1
JITTER = 0.2
MAX_RETRY_AFTER_S = 24 * 3600
DISABLE_AFTER = timedelta(days=5)
RETRYABLE_STATUSES = frozenset({408, 409, 425, 429})
RETRYABLE_ERRORS = frozenset({"timeout", "connection_error", "dns_error"})

Status = Literal["delivered", "retrying", "failed"]
# A delivery in one of these still has an attempt ahead of it.
OPEN = ("pending", "retrying")


@dataclass(frozen=True)
class Outcome:
    """What one attempt came back with."""

    http_status: int | None
    error: str | None
    latency_ms: int | None = None
    response_excerpt: str | None = None
    retry_after_s: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None and self.http_status is not None and 200 <= self.http_status < 300

    @property
    def retryable(self) -> bool:
        if self.http_status is None:
            return self.error in RETRYABLE_ERRORS
        return self.http_status >= 500 or self.http_status in RETRYABLE_STATUSES


def new_delivery_id() -> str:
    return f"dlv_{uuid.uuid4().hex}"


def new_message_id() -> str:
    """The `webhook-id` of a message: every attempt and every resend of it carries the same one."""
    return f"msg_{uuid.uuid4().hex}"


def error_for_status(http_status: int) -> str | None:
    return None if 200 <= http_status < 300 else f"http_{http_status}"


@dataclass(frozen=True)
class Next:
    status: Status
    delay_s: float | None = None


@dataclass(frozen=True)
class Claim:
    """A delivery leased to one process for one attempt: what to send where, signed how."""

    id: str
    endpoint_id: str
    message_id: str
    attempts_made: int
    # Settling moves the delivery only while this lease is still the one it holds.
    lease: datetime
    body: bytes
    url: str
    # Encrypted: the endpoint's secret, then a rotated-out one that still signs.
    secret_ciphertexts: tuple[str, ...]
    # The trace of the event delivered (W3C traceparent), which the attempt continues.
    traceparent: str | None = None


@dataclass(frozen=True)
class Settlement:
    """One finished attempt and where it leaves its delivery."""

    claim: Claim
    attempted_at: datetime
    outcome: Outcome
    step: Next


def after_attempt(attempts_made: int, outcome: Outcome, *, scale: float, jitter_draw: float) -> Next:
    """`attempts_made` counts the attempt just finished; `jitter_draw` is uniform in [0, 1)."""
    if outcome.succeeded:
        return Next("delivered")
    if not outcome.retryable or attempts_made >= MAX_ATTEMPTS:
        return Next("failed")
    delay = RETRY_SCHEDULE_S[attempts_made - 1] * (1 + JITTER * (2 * jitter_draw - 1))
    if outcome.retry_after_s is not None:
        delay = max(delay, min(outcome.retry_after_s, MAX_RETRY_AFTER_S))
    return Next("retrying", delay * scale)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a `Retry-After` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def should_disable(failing_since: datetime, now: datetime, *, scale: float) -> bool:
    return now - failing_since >= DISABLE_AFTER * scale
