"""When a post may be scheduled: an unambiguous instant, in the future, at most 30 days ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crier.kit.errors import Problem

HORIZON = timedelta(days=30)


def parse_instant(raw: str, field: str = "scheduled_at") -> datetime:
    """The UTC instant `raw` names. A bare timestamp is refused rather than read as UTC: the
    caller's clock and ours may differ by hours, and a post that fires at the wrong hour is worse
    than a 422."""
    try:
        when = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise Problem(field, "invalid_timestamp", "must be an ISO-8601 timestamp") from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise Problem(field, "missing_offset", "must carry an explicit UTC offset, e.g. 2026-06-10T15:00:00Z")
    try:
        return when.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00:00+01:00 is before the first instant a datetime can hold in UTC.
        raise Problem(field, "invalid_timestamp", "is outside the range of instants Crier can hold") from None


def optional_instant(raw: str | None, field: str) -> datetime | None:
    return None if raw is None else parse_instant(raw, field)


def check_window(when: datetime, now: datetime) -> datetime:
    if when <= now:
        raise Problem("scheduled_at", "in_past", "must be in the future; omit it to publish now")
    if when > now + HORIZON:
        raise Problem("scheduled_at", "too_far_ahead", "must be at most 30 days ahead; store a draft instead")
    return when


def parse_scheduled_at(raw: str, now: datetime) -> datetime:
    return check_window(parse_instant(raw), now)
