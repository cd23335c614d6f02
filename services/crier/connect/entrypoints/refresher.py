"""The background refresher: renews access tokens shortly before they expire.

Sweeps are spaced with jitter so replicas started together drift apart; each sweep also clears
away OAuth states and pending sessions long past their expiry.
"""

from __future__ import annotations

import asyncio
import random

from crier.connect.handlers.context import Context
from crier.connect.handlers.flows import forget_expired
from crier.connect.handlers.tokens import refresh_due
from crier.kit.log import get

log = get(__name__)


async def run(ctx: Context, stop: asyncio.Event) -> None:
    interval = max(0.05, ctx.settings.refresh_interval_s)
    while not stop.is_set():
        try:
            await refresh_due(ctx)
            await forget_expired(ctx)
        except Exception as exc:  # the database is away: try again next time
            log.warning("connect.refresher_failed", error=repr(exc))
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval * random.uniform(0.8, 1.2))
        except TimeoutError:
            pass
