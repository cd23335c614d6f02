"""`crier serve scheduler`: the post-events consumer and the alarm that fires due targets."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from crier.kit.service import Runtime, run_service
from crier.kit.settings import load
from crier.scheduler.alarm import Alarm
from crier.scheduler.entrypoints import consumers
from crier.scheduler.handlers import Scheduler
from crier.scheduler.settings import SchedulerSettings


def main() -> int:
    settings = load(SchedulerSettings)

    async def body(rt: Runtime) -> list[Awaitable[Any]]:
        alarm = Alarm(rt.engine, settings.scheduler_max_wait_s)
        scheduler = Scheduler(rt.engine, alarm.wake, rt.relay.wake, settings.scheduler_batch_size)
        return [await consumers.post_events(rt.bus, scheduler, rt.stop), alarm.run(scheduler, rt.stop)]

    return asyncio.run(run_service("scheduler", "scheduler", settings, body))
