"""The account metrics collector: sweeps for due accounts and captures them, and drops snapshots
past their retention. Sweeps are spaced with jitter, as the refresher's are, and while the database
is away they are spaced ever further apart and the outage is logged when it begins and ends.
Several replicas can run it: the claim in `adapters.metrics` gives each account to one of them."""

from __future__ import annotations

import asyncio
import random

from crier.connect.handlers.context import Context
from crier.connect.handlers.metrics_capture import capture_due, forget_expired_snapshots
from crier.kit.log import get
from crier.kit.outage import Outage
from crier.kit.waiting import first_of

log = get(__name__)


async def run(ctx: Context, stop: asyncio.Event) -> None:
    if not ctx.settings.account_metrics_collect:
        return
    interval = max(0.05, ctx.settings.account_metrics_sweep_s)
    outage = Outage("connect.metrics_collector", logger=log)
    while not stop.is_set():
        pause = 0.0
        try:
            await capture_due(ctx)
            await forget_expired_snapshots(ctx)
            outage.succeeded()
        except Exception as exc:  # the database is away: try again, later each time
            pause = outage.failed(exc)
        await first_of(stop, timeout=max(pause, interval * random.uniform(0.8, 1.2)))
