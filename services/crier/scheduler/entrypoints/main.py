"""`crier serve scheduler`: the post-events consumer and the alarm that fires due targets."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from crier.kit.service import Runtime, run_service
from crier.kit.settings import load
from crier.scheduler.entrypoints import consumers
from crier.scheduler.entrypoints.alarm import Alarm
from crier.scheduler.handlers.context import Context
from crier.scheduler.settings import SchedulerSettings


def main() -> int:
    settings = load(SchedulerSettings)

    async def body(rt: Runtime) -> list[Awaitable[Any]]:
        alarm = Alarm(settings.scheduler_max_wait_s)
        ctx = Context(uow=rt.uow, wake_alarm=alarm.wake, batch_size=settings.scheduler_batch_size)
        return [await consumers.post_events(rt.bus, ctx, settings, rt.stop), alarm.run(ctx, rt.stop)]

    return asyncio.run(run_service("scheduler", "scheduler", settings, body))
