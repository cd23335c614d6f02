"""`crier serve scheduler`: the post-events consumer and the alarm that fires due targets, with
their lateness, the timers still waiting and the consumer's lag in the service's metrics."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from crier.kit.bus import streams
from crier.kit.metrics import sparing
from crier.kit.metrics_bus import watch_consumer
from crier.kit.service import Runtime, run_on_fastest_loop, run_service
from crier.kit.settings import load
from crier.scheduler.entrypoints import consumers
from crier.scheduler.entrypoints.alarm import Alarm
from crier.scheduler.handlers.context import Context, Meters
from crier.scheduler.handlers.waiting import measure_pending_timers
from crier.scheduler.settings import SchedulerSettings


def main() -> int:
    settings = load(SchedulerSettings)

    async def body(rt: Runtime) -> list[Awaitable[Any]]:
        alarm = Alarm(settings.scheduler_max_wait_s)
        ctx = Context(
            uow=rt.uow,
            wake_alarm=alarm.wake,
            batch_size=settings.scheduler_batch_size,
            meters=Meters.on(rt.metrics),
        )
        events = await consumers.post_events(rt.bus, ctx, settings, rt.stop)
        watch_consumer(rt.metrics, rt.bus, streams.EVENTS, consumers.DURABLE)
        rt.metrics.on_scrape(sparing(lambda: measure_pending_timers(ctx)))
        return [events, alarm.run(ctx, rt.stop)]

    return run_on_fastest_loop(run_service("scheduler", "scheduler", settings, body))
