"""The alarm: one asyncio timer set to the timetable's next due moment.

It sleeps until the earliest waiting row is due, fires, and looks again. A new row that is due
sooner wakes it early; nothing else does, so an idle scheduler costs one query per `max_wait_s`
(the safety net for rows written by another replica).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from crier.kit.log import get
from crier.scheduler.adapters import timetable
from crier.scheduler.domain.timetable import sleep_seconds
from crier.scheduler.handlers import Scheduler

log = get(__name__)
_LOCKED_ELSEWHERE_S = 0.05


class Alarm:
    def __init__(self, engine: AsyncEngine, max_wait_s: float) -> None:
        self._engine = engine
        self._max_wait_s = max_wait_s
        self._wakeup = asyncio.Event()
        # The moment the alarm is set for; None while it is looking at the timetable, when any
        # wake-up must count because the look may have missed a row committed during it.
        self._set_for: datetime | None = None

    def wake(self, due_at: datetime | None) -> None:
        """A row due at `due_at` (None: now) was just committed."""
        if due_at is None or self._set_for is None or due_at < self._set_for:
            self._wakeup.set()

    async def run(self, scheduler: Scheduler, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._set_for = None
            self._wakeup.clear()
            try:
                fired = await scheduler.fire_due()
                async with self._engine.connect() as conn:
                    next_due, now = await timetable.next_due(conn)
                delay = sleep_seconds(next_due, now, self._max_wait_s)
            except Exception as exc:  # database away: keep the alarm alive and look again soon
                log.warning("scheduler.alarm_failed", error=repr(exc))
                next_due, delay, fired = None, 1.0, 0
            if delay <= 0:
                if fired:
                    continue
                # Due but not ours to fire: another replica holds those rows (SKIP LOCKED) and
                # will commit them in a moment. Do not spin on them meanwhile.
                delay = _LOCKED_ELSEWHERE_S
            self._set_for = next_due
            await _first_of(self._wakeup, stop, timeout=delay)


async def _first_of(a: asyncio.Event, b: asyncio.Event, timeout: float) -> None:
    waits = [asyncio.ensure_future(a.wait()), asyncio.ensure_future(b.wait())]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
