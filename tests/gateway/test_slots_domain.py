"""Posting slots resolved in an IANA zone: the gap and overlap rule, DST, preference, validation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crier.gateway.domain.slots import (
    Slot,
    checked_slots,
    earliest,
    next_free,
    sunday_first,
    wall_instant,
    zone_named,
)
from crier.kit.errors import Problem

NY = ZoneInfo("America/New_York")
UTC_ZONE = ZoneInfo("UTC")
ZONES = ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata", "UTC"]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_a_slot_in_the_spring_forward_gap_is_shifted_forward_by_the_gap() -> None:
    # 2026-03-08: New York skips 02:00-03:00 EST; 02:30 does not exist there that night.
    assert wall_instant(date(2026, 3, 8), 150, NY) == at("2026-03-08T07:30:00Z")
    assert at("2026-03-08T07:30:00Z").astimezone(NY).strftime("%H:%M %Z") == "03:30 EDT"
    # Its neighbours on either side of the gap are plain.
    assert wall_instant(date(2026, 3, 8), 90, NY) == at("2026-03-08T06:30:00Z")
    assert wall_instant(date(2026, 3, 8), 210, NY) == at("2026-03-08T07:30:00Z")


def test_a_slot_in_the_fall_back_overlap_is_its_first_occurrence() -> None:
    # 2026-11-01: New York repeats 01:00-02:00 (EDT, then EST); 01:30 is the EDT one.
    assert wall_instant(date(2026, 11, 1), 90, NY) == at("2026-11-01T05:30:00Z")
    assert at("2026-11-01T05:30:00Z").astimezone(NY).strftime("%H:%M %Z") == "01:30 EDT"


def test_gap_and_shifted_slot_landing_on_one_instant_are_offered_once() -> None:
    slots = [Slot(150, weekday=0), Slot(210, weekday=0)]
    start, end = at("2026-03-08T00:00:00Z"), at("2026-03-09T00:00:00Z")
    first = next_free(slots, NY, start, end, set())
    assert first is not None and first.at == at("2026-03-08T07:30:00Z")
    # Once that instant is taken, no second slot at it is offered: both are gone that day.
    assert next_free(slots, NY, start, end, {first.at}) is None


def test_a_slot_keeps_its_local_time_across_a_dst_change() -> None:
    slots = [Slot(540)]  # 09:00 every day
    start, end = at("2026-03-06T00:00:00Z"), at("2026-03-11T00:00:00Z")
    taken: set[datetime] = set()
    instants = []
    while (found := next_free(slots, NY, start, end, taken)) is not None:
        instants.append(found.at)
        taken.add(found.at)
    assert [i.astimezone(NY).strftime("%m-%d %H:%M") for i in instants] == [
        "03-06 09:00",
        "03-07 09:00",
        "03-08 09:00",
        "03-09 09:00",
        "03-10 09:00",
    ]
    # The UTC instant moves by the hour New York moved.
    assert [i.hour for i in instants] == [14, 14, 13, 13, 13]


def test_weekdays_count_from_sunday() -> None:
    assert sunday_first(date(2026, 6, 14)) == 0  # a Sunday
    assert sunday_first(date(2026, 6, 15)) == 1  # the Monday of the seed's example
    la = ZoneInfo("America/Los_Angeles")
    found = next_free([Slot(540, weekday=1)], la, at("2026-06-10T00:00:00Z"), at("2026-07-10T00:00:00Z"), set())
    assert found is not None and found.at == at("2026-06-15T16:00:00Z") and found.slot == Slot(540, weekday=1)


def test_an_account_slot_wins_over_an_org_wide_one_at_the_same_instant() -> None:
    slots = [Slot(600), Slot(600, weekday=2), Slot(600, social_account_id="acc")]
    found = next_free(slots, UTC_ZONE, at("2026-06-16T00:00:00Z"), at("2026-06-17T00:00:00Z"), set())
    assert found is not None and found.slot == Slot(600, social_account_id="acc")
    found = next_free(slots[:2], UTC_ZONE, at("2026-06-16T00:00:00Z"), at("2026-06-17T00:00:00Z"), set())
    assert found is not None and found.slot == Slot(600, weekday=2)


def test_taken_instants_and_the_window_are_respected() -> None:
    slots = [Slot(0), Slot(720)]
    start, end = at("2026-06-01T00:00:00Z"), at("2026-06-02T00:00:00Z")
    taken = {at("2026-06-01T00:00:00Z"), at("2026-06-01T12:00:00Z")}
    found = next_free(slots, UTC_ZONE, start, end, taken)
    assert found is not None and found.at == end
    assert next_free(slots, UTC_ZONE, start, end - timedelta(minutes=1), taken) is None
    assert next_free([], UTC_ZONE, start, end, set()) is None


def test_earliest_is_a_whole_minute_after_now_lead_and_from() -> None:
    now = at("2026-06-01T10:00:30Z")
    assert earliest(now, None, 0) == at("2026-06-01T10:01:00Z")
    assert earliest(at("2026-06-01T10:00:00Z"), None, 0) == at("2026-06-01T10:01:00Z")
    assert earliest(now, None, 30) == at("2026-06-01T10:31:00Z")
    assert earliest(now, at("2026-06-02T08:00:00Z"), 30) == at("2026-06-02T08:00:00Z")
    assert earliest(now, at("2026-05-01T08:00:00Z"), 0) == at("2026-06-01T10:01:00Z")


def test_slot_sets_are_validated() -> None:
    assert checked_slots([Slot(540, 3), Slot(60, None, "a"), Slot(0)]) == [Slot(0), Slot(540, 3), Slot(60, None, "a")]
    for bad, field in (
        ([Slot(1440)], "slots[0].minute_of_day"),
        ([Slot(-1)], "slots[0].minute_of_day"),
        ([Slot(0, 7)], "slots[0].weekday"),
        ([Slot(0, 1), Slot(0, 1)], "slots[1]"),
    ):
        with pytest.raises(Problem) as raised:
            checked_slots(bad)
        assert raised.value.field == field


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../../etc/passwd", "/etc/localtime", "EST5EDT/../UTC"])
def test_unknown_zones_are_refused(name: str) -> None:
    with pytest.raises(Problem) as raised:
        zone_named(name)
    assert raised.value.code == "unknown_timezone"


@given(
    zone=st.sampled_from(ZONES),
    day=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    minute=st.integers(0, 1439),
)
def test_every_wall_time_resolves_to_one_instant_near_it(zone: str, day: date, minute: int) -> None:
    tz = ZoneInfo(zone)
    instant = wall_instant(day, minute, tz)
    assert instant.tzinfo is UTC and instant.second == 0 and instant.microsecond == 0
    local = instant.astimezone(tz)
    wanted = datetime(day.year, day.month, day.day, minute // 60, minute % 60)
    # Where the wall time exists, it is that time (the first one, if it happens twice); where it
    # does not, it is moved forward by the gap (at most the gap, never backwards).
    shift = local.replace(tzinfo=None) - wanted
    assert timedelta(0) <= shift <= timedelta(hours=2)
    if shift == timedelta(0):
        earlier = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=tz, fold=1)
        assert instant <= earlier.astimezone(UTC)


@given(
    zone=st.sampled_from(ZONES),
    start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
    minutes=st.lists(st.integers(0, 1439), min_size=1, max_size=6),
    weekday=st.none() | st.integers(0, 6),
)
def test_next_free_is_the_earliest_untaken_slot_instant(
    zone: str, start: datetime, minutes: list[int], weekday: int | None
) -> None:
    tz, end = ZoneInfo(zone), start + timedelta(days=15)
    slots = [Slot(m, weekday) for m in set(minutes)]
    first = next_free(slots, tz, start, end, set())
    assert first is not None and start <= first.at <= end
    second = next_free(slots, tz, start, end, {first.at})
    assert second is not None and second.at > first.at
    # Nothing in between is a slot instant: every slot resolved on every day lies outside it.
    for offset in range(-1, 17):
        day = start.astimezone(tz).date() + timedelta(days=offset)
        for slot in slots:
            if slot.falls_on(day):
                instant = wall_instant(day, slot.minute_of_day, tz)
                assert not (start <= instant < first.at) and not (first.at < instant < second.at)
