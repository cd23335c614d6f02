"""Query-string rules shared by the list endpoints."""

from __future__ import annotations

from datetime import datetime

from crier.gateway.domain.schedule import parse_instant
from crier.gateway.domain.validation import Problem

DEFAULT_LIMIT, MAX_LIMIT = 25, 100


def checked_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise Problem("limit", "out_of_range", f"must be between 1 and {MAX_LIMIT}")
    return limit


def optional_instant(field: str, raw: str | None) -> datetime | None:
    return None if raw is None else parse_instant(raw, field)
