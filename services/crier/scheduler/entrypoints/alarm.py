"""The alarm: one asyncio timer set to the timetable's next due moment.

It sleeps until the earliest waiting row is due, fires, and looks again. A new row that is due
sooner wakes it early; nothing else does, so an idle scheduler costs one query per `max_wait_s`
(the safety net for rows written by another replica). While the database is away it looks again
after a growing pause, and logs the outage when it begins and when it ends.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from crier.kit.log import get
from crier.kit.outage import Outage
from crier.kit.transient import is_transient
from crier.kit.waiting import first_of
from crier.scheduler.domain.timetable import sleep_seconds
from crier.scheduler.handlers.context import Context
from crier.scheduler.handlers.firing import fire_due, next_due

log = get(__name__)
_LOCKED_ELSEWHERE_S = 0.05


class Alarm:
    def __init__(self, max_wait_s: float) -> None:
        self._max_wait_s = max_wait_s
        self._wakeup = asyncio.Event()
        # The moment the alarm is set for; None while it is looking at the timetable, when any
        # wake-up must count because the look may have missed a row committed during it.
        self._set_for: datetime | None = None
        self._outage = Outage("scheduler.alarm", logger=log)

    def wake(self, due_at: datetime | None) -> None:
        """A row due at `due_at` (None: now) was just committed."""
        if due_at is None or self._set_for is None or due_at < self._set_for:
            self._wakeup.set()

    async def run(self, ctx: Context, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._set_for = None
            self._wakeup.clear()
            try:
                fired = await fire_due(ctx)
                due, now = await next_due(ctx)
                delay = sleep_seconds(due, now, self._max_wait_s)
            except Exception as exc:
                if not is_transient(exc):
                    raise  # a bug: crash the service visibly rather than fail every second
                # The database is away: keep the alarm alive and look again, later each time. Only
                # a stop cuts the pause short: a new row's wake-up would just meet the outage again.
                await first_of(stop, timeout=self._outage.failed(exc))
                continue
            self._outage.succeeded()
            if delay <= 0:
                if fired:
                    continue
                # Due but not ours to fire: another replica holds those rows (SKIP LOCKED) and
                # will commit them in a moment. Do not spin on them meanwhile.
                delay = _LOCKED_ELSEWHERE_S
            self._set_for = due
            await first_of(self._wakeup, stop, timeout=delay)
