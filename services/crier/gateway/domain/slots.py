"""Posting slots: recurring wall-clock times of the week (a weekday, or every day, and a minute of
the local day), org-wide or one account's own, and the next free one as a UTC instant.

A slot is wall-clock time in the caller's IANA zone, so it stays at 09:00 local across a DST
change while its UTC instant moves by the change. Two local times need a rule, and each gets one
instant (PEP 495's `fold=0`, which is what `zoneinfo` gives a naive time):
- a time inside a spring-forward gap (02:30 on the night New York skips 02:00-03:00) does not
  exist: it is read with the offset in force before the change, i.e. shifted forward by the gap
  (02:30 EST = 07:30 UTC = 03:30 EDT);
- a time inside a fall-back overlap (01:30 on the night New York repeats 01:00-02:00) happens
  twice: it is its first occurrence (01:30 EDT = 05:30 UTC).
Two slots that land on one instant (02:30 and 03:30 on a spring-forward night) are one instant.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crier.kit.errors import Problem

MINUTES_PER_DAY = 24 * 60
# The most slots an organization keeps per mode: a slot every 10 minutes of the week is 1,008.
MAX_SLOTS = 1_008
# As far ahead as a post may be scheduled (`schedule.HORIZON`): no slot beyond is offered.
WINDOW = timedelta(days=30)


@dataclass(frozen=True, order=True)
class Slot:
    """`weekday` 0 = Sunday … 6 = Saturday, None for every day; `minute_of_day` since local midnight."""

    minute_of_day: int
    weekday: int | None = None
    social_account_id: str | None = None

    def falls_on(self, day: date) -> bool:
        return self.weekday is None or self.weekday == sunday_first(day)


@dataclass(frozen=True)
class Placement:
    """A slot resolved to the instant a post goes out."""

    at: datetime
    slot: Slot


def sunday_first(day: date) -> int:
    """The seeds count weekdays from Sunday; Python from Monday."""
    return (day.weekday() + 1) % 7


def zone_named(name: str | None, field: str = "timezone") -> ZoneInfo:
    """The IANA zone `name` names; UTC when it is None."""
    if name is None:
        return ZoneInfo("UTC")
    try:
        # A path-like key would make zoneinfo read an arbitrary file; IANA names never start so.
        if not name or name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Problem(field, "unknown_timezone", "must be an IANA time zone name, e.g. America/New_York") from None


def checked_slots(slots: Sequence[Slot], field: str = "slots") -> list[Slot]:
    """The slot set as given, or a Problem naming the first bad slot by its index."""
    if len(slots) > MAX_SLOTS:
        raise Problem(field, "too_many", f"at most {MAX_SLOTS} slots")
    seen: dict[Slot, int] = {}
    for i, slot in enumerate(slots):
        if slot.weekday is not None and not 0 <= slot.weekday <= 6:
            raise Problem(f"{field}[{i}].weekday", "out_of_range", "must be 0 (Sunday) to 6 (Saturday), or null")
        if not 0 <= slot.minute_of_day < MINUTES_PER_DAY:
            raise Problem(f"{field}[{i}].minute_of_day", "out_of_range", "must be 0 to 1439 (minutes since midnight)")
        if slot in seen:
            raise Problem(f"{field}[{i}]", "duplicate", f"repeats slots[{seen[slot]}]")
        seen[slot] = i
    return sorted(slots, key=_listing_order)


def _listing_order(slot: Slot) -> tuple[str, int, int]:
    return (slot.social_account_id or "", -1 if slot.weekday is None else slot.weekday, slot.minute_of_day)


def wall_instant(day: date, minute_of_day: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local day and minute, by the module's gap and overlap rule."""
    local = datetime.combine(day, time(minute_of_day // 60, minute_of_day % 60), tzinfo=zone)
    return local.replace(fold=0).astimezone(UTC)


def candidates(slots: Iterable[Slot], zone: ZoneInfo, start: datetime, end: datetime) -> list[Placement]:
    """Every slot instant in [start, end], earliest first, each once; where slots share an
    instant, the one of an account wins over an org-wide one, then a weekday's over an everyday
    one. (Sorted as a whole: a gap can push one day's late slot past the next day's first.)"""
    chosen = sorted(slots, key=_preference)
    # A day's local times can land a few hours either side of its UTC date: pad by a day.
    day, last = start.astimezone(zone).date() - timedelta(days=1), end.astimezone(zone).date() + timedelta(days=1)
    found: dict[datetime, Slot] = {}
    while day <= last:
        for slot in chosen:
            if slot.falls_on(day):
                at = wall_instant(day, slot.minute_of_day, zone)
                if start <= at <= end:
                    found.setdefault(at, slot)
        day += timedelta(days=1)
    return [Placement(at, found[at]) for at in sorted(found)]


def _preference(slot: Slot) -> tuple[bool, bool]:
    return (slot.social_account_id is None, slot.weekday is None)


def next_free(
    slots: Iterable[Slot], zone: ZoneInfo, start: datetime, end: datetime, taken: set[datetime]
) -> Placement | None:
    """The earliest slot instant in [start, end] not in `taken`, or None."""
    return next((p for p in candidates(slots, zone, start, end) if p.at not in taken), None)


def earliest(now: datetime, not_before: datetime | None, lead_minutes: int) -> datetime:
    """The first instant a slot may take: after now plus the lead, and not before `not_before`.
    Slots fall on whole minutes, so a start inside a minute moves to the next whole minute."""
    start = now + timedelta(minutes=lead_minutes)
    if not_before is not None and not_before > start:
        start = not_before
    whole = start.replace(second=0, microsecond=0)
    return whole if whole >= start and whole > now else whole + timedelta(minutes=1)
