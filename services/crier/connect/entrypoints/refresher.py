"""The background refresher: renews access tokens shortly before they expire.

Sweeps are spaced with jitter so replicas started together drift apart; each sweep also clears
away OAuth states and pending sessions long past their expiry. While the database is away the
sweeps are spaced ever further apart (up to 30 s) and the outage is logged twice: when it begins,
when it ends.
"""

from __future__ import annotations

import asyncio
import random

from crier.connect.handlers.context import Context
from crier.connect.handlers.flows import forget_expired
from crier.connect.handlers.tokens import refresh_due
from crier.kit.log import get
from crier.kit.outage import Outage
from crier.kit.waiting import first_of

log = get(__name__)


async def run(ctx: Context, stop: asyncio.Event) -> None:
    interval = max(0.05, ctx.settings.refresh_interval_s)
    outage = Outage("connect.refresher", logger=log)
    while not stop.is_set():
        pause = 0.0
        try:
            await refresh_due(ctx)
            await forget_expired(ctx)
            outage.succeeded()
        except Exception as exc:  # the database is away: try again, later each time
            pause = outage.failed(exc)
        await first_of(stop, timeout=max(pause, interval * random.uniform(0.8, 1.2)))
