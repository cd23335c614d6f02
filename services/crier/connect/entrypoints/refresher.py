"""The background refresher: renews access tokens shortly before they expire.

Each sweep leases the due accounts (FOR UPDATE SKIP LOCKED, so replicas take disjoint sets), then
refreshes them a few at a time. Sweeps are spaced with jitter so replicas started together drift
apart, and each sweep also clears away OAuth states and pending sessions long past their expiry.
"""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

from crier.connect.adapters import accounts, flows
from crier.connect.handlers.context import Context
from crier.connect.handlers.tokens import Refresh, refresh
from crier.kit.log import get

log = get(__name__)
BATCH = 100
LEASE_S = 300.0
KEEP_EXPIRED_FLOWS = timedelta(days=1)


async def sweep(ctx: Context) -> dict[Refresh, int]:
    async with ctx.engine.begin() as conn:
        ids = await accounts.claim_due(
            conn, ctx.now(), window_s=ctx.settings.refresh_before_s, lease_s=LEASE_S, limit=BATCH
        )
    gate = asyncio.Semaphore(max(1, ctx.settings.refresh_concurrency))

    async def one(account_id: str) -> Refresh:
        async with gate:
            try:
                return await refresh(ctx, account_id, only_if_due=True)
            except Exception as exc:  # one account's surprise must not stop the others
                log.exception("connect.refresh_crashed", account_id=account_id, error=type(exc).__name__)
                return Refresh.FAILED

    outcomes = await asyncio.gather(*(one(i) for i in ids))
    counts = {o: outcomes.count(o) for o in set(outcomes)}
    if ids:
        log.info("connect.refresh_sweep", **{o.value: n for o, n in counts.items()})
    return counts


async def purge(ctx: Context) -> None:
    async with ctx.engine.begin() as conn:
        before = ctx.now() - KEEP_EXPIRED_FLOWS
        await flows.purge_states(conn, before)
        await flows.purge_pending(conn, before)


async def run(ctx: Context, stop: asyncio.Event) -> None:
    interval = max(0.05, ctx.settings.refresh_interval_s)
    while not stop.is_set():
        try:
            await sweep(ctx)
            await purge(ctx)
        except Exception as exc:  # the database is away: try again next time
            log.warning("connect.refresher_failed", error=repr(exc))
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval * random.uniform(0.8, 1.2))
        except TimeoutError:
            pass
