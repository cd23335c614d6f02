"""The alarm: woken only by an earlier moment, alive through a database outage, stopped by a bug."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from crier.scheduler.entrypoints.alarm import Alarm
from crier.scheduler.handlers.context import Context
from tests.support.bus import eventually

NOW = datetime(2026, 6, 10, 15, 0, tzinfo=UTC)


async def test_alarm_wakes_only_for_an_earlier_moment() -> None:
    alarm = Alarm(max_wait_s=5.0)
    alarm.wake(NOW)  # not set for anything yet: any new row counts
    assert alarm._wakeup.is_set()
    alarm._wakeup.clear()
    alarm._set_for = NOW
    alarm.wake(NOW + timedelta(seconds=1))
    assert not alarm._wakeup.is_set()
    alarm.wake(NOW - timedelta(seconds=1))
    assert alarm._wakeup.is_set()
    alarm._wakeup.clear()
    alarm.wake(None)
    assert alarm._wakeup.is_set()
    await asyncio.sleep(0)


class _UnreachableTimetable:
    """A unit of work whose every transaction fails with `error`."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.tries = 0

    def begin(self) -> None:
        self.tries += 1
        raise self.error


async def test_alarm_outlives_a_database_outage_and_looks_again_when_woken() -> None:
    uow = _UnreachableTimetable(ConnectionRefusedError("database away"))
    alarm, stop = Alarm(max_wait_s=5.0), asyncio.Event()
    running = asyncio.create_task(alarm.run(Context(uow=uow, wake_alarm=alarm.wake), stop))  # type: ignore[arg-type]
    await eventually(lambda: _done(uow.tries >= 1), what="a first look")
    alarm.wake(None)
    await eventually(lambda: _done(uow.tries >= 2), what="a second look after the wake-up")
    assert not running.done()
    stop.set()
    await asyncio.wait_for(running, timeout=5)


async def test_alarm_stops_the_service_on_a_bug() -> None:
    uow = _UnreachableTimetable(ValueError("a bug, not an outage"))
    alarm = Alarm(max_wait_s=5.0)
    with pytest.raises(ValueError, match="a bug"):
        await asyncio.wait_for(alarm.run(Context(uow=uow, wake_alarm=alarm.wake), asyncio.Event()), timeout=5)  # type: ignore[arg-type]


async def _done(condition: bool) -> bool:
    return condition
