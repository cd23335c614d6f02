"""Per-key API rate limits: a fixed window of a minute per key, opened by the key's first request
after the last window ended, holding a number of requests (the installation's default, or the
key's own limit an operator set)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from crier.kit.errors import Problem

WINDOW_S = 60
# Large enough for any real client, small enough to stay an int4 in the database.
MAX_PER_MINUTE = 1_000_000


@dataclass(frozen=True)
class Quota:
    """Where a key stands after counting one request: what the RateLimit-* headers say."""

    limit: int
    remaining: int
    # Whole seconds until the window ends and the key's count starts again (at least 1).
    reset_s: int
    exceeded: bool


def quota(count: int, limit: int, seconds_left: float) -> Quota:
    """`count`: the requests in the window, this one included."""
    return Quota(
        limit=limit,
        remaining=max(limit - count, 0),
        reset_s=min(max(math.ceil(seconds_left), 1), WINDOW_S),
        exceeded=count > limit,
    )


def checked_per_minute(value: int) -> int:
    if not 1 <= value <= MAX_PER_MINUTE:
        raise Problem("rate_limit", "out_of_range", f"must be between 1 and {MAX_PER_MINUTE} requests per minute")
    return value
