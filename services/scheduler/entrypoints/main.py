"""`crier serve scheduler`: the post-events consumer and the alarm that fires due targets."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from kit.service import Runtime, run_service
from kit.settings import load
from scheduler.alarm import Alarm
from scheduler.entrypoints import consumers
from scheduler.handlers import Scheduler
from scheduler.settings import SchedulerSettings


def main() -> int:
    settings = load(SchedulerSettings)

    async def body(rt: Runtime) -> list[Awaitable[Any]]:
        alarm = Alarm(rt.engine, settings.scheduler_max_wait_s)
        scheduler = Scheduler(rt.engine, alarm.wake, rt.relay.wake, settings.scheduler_batch_size)
        return [await consumers.post_events(rt.bus, scheduler, rt.stop), alarm.run(scheduler, rt.stop)]

    return asyncio.run(run_service("scheduler", "scheduler", settings, body))
