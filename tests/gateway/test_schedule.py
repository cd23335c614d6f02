"""scheduled_at: explicit offset, in the future, at most 30 days ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crier.gateway.domain.schedule import HORIZON, parse_scheduled_at
from crier.kit.errors import Problem

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


def code_of(raw: str) -> str:
    with pytest.raises(Problem) as info:
        parse_scheduled_at(raw, NOW)
    return info.value.code


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-06-10T15:00:00.000Z", datetime(2026, 6, 10, 15, tzinfo=UTC)),
        ("2026-06-10T15:00:00+00:00", datetime(2026, 6, 10, 15, tzinfo=UTC)),
        ("2026-06-10T08:00:00-07:00", datetime(2026, 6, 10, 15, tzinfo=UTC)),
        ("2026-07-01T12:00:00Z", NOW + HORIZON),
    ],
)
def test_accepted(raw: str, expected: datetime) -> None:
    assert parse_scheduled_at(raw, NOW) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("2026-06-10T15:00:00", "missing_offset"),
        ("2026-06-10", "missing_offset"),
        ("next tuesday", "invalid_timestamp"),
        ("", "invalid_timestamp"),
        ("2026-06-01T12:00:00Z", "in_past"),
        ("2025-01-01T00:00:00Z", "in_past"),
        ("2026-07-01T12:00:00.001Z", "too_far_ahead"),
        ("2026-07-02T00:00:00Z", "too_far_ahead"),
        # Before the first instant a datetime holds in UTC, or after the last.
        ("0001-01-01T00:00:00+01:00", "invalid_timestamp"),
        ("9999-12-31T23:59:59-01:00", "invalid_timestamp"),
    ],
)
def test_refused(raw: str, code: str) -> None:
    assert code_of(raw) == code


@given(st.timedeltas(min_value=timedelta(microseconds=1), max_value=HORIZON), offsets)
def test_every_instant_inside_the_window_is_accepted_in_any_offset(ahead: timedelta, tz: timezone) -> None:
    when = NOW + ahead
    assert parse_scheduled_at(when.astimezone(tz).isoformat(), NOW) == when


@given(
    st.timedeltas(min_value=timedelta(days=-400), max_value=timedelta(0))
    | st.timedeltas(min_value=HORIZON + timedelta(microseconds=1), max_value=timedelta(days=400)),
    offsets,
)
def test_every_instant_outside_the_window_is_refused(delta: timedelta, tz: timezone) -> None:
    assert code_of((NOW + delta).astimezone(tz).isoformat()) in ("in_past", "too_far_ahead")


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
def test_a_bare_timestamp_is_never_guessed(naive: datetime) -> None:
    assert code_of(naive.isoformat()) == "missing_offset"
