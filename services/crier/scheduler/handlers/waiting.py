"""What still waits in the timetable, measured when the service's metrics are scraped."""

from __future__ import annotations

from crier.scheduler.adapters import timetable
from crier.scheduler.handlers.context import Context


async def measure_pending_timers(ctx: Context) -> None:
    """Scheduled posts not yet due. Every replica reads the same shared timetable, so a dashboard
    takes the max over them, not the sum."""
    async with ctx.uow.read() as conn:
        ctx.meters.pending_timers.set(await timetable.pending_posts(conn))
