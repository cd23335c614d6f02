"""Keeping an Idempotency-Key's lease while its request runs.

A claim holds its key for one lease (`CRIER_IDEMPOTENCY_LEASE_S`); the request renews it every
third of a lease, so a live request keeps its key however long it takes (a slow media fetch, a
database under load), and a request that died lets it go within one lease. Most requests end long
before the first renewal is due: for them keeping the lease costs a timer and no database work.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from crier.gateway.adapters import idempotency
from crier.gateway.adapters.idempotency import Hold
from crier.kit.log import get
from crier.kit.uow import UnitOfWork

log = get("gateway.idempotency")


@asynccontextmanager
async def kept(uow: UnitOfWork, hold: Hold, lease: timedelta) -> AsyncIterator[None]:
    """Renews `hold` until the block ends; finishing or releasing the key is the block's to do."""
    renewer = asyncio.create_task(_renew(uow, hold, lease), name=f"idempotency-lease-{hold.holder}")
    try:
        yield
    finally:
        renewer.cancel()
        # Waits out a renewal under way, so its connection goes back to the pool rolled back.
        await asyncio.gather(renewer, return_exceptions=True)


async def _renew(uow: UnitOfWork, hold: Hold, lease: timedelta) -> None:
    every = lease.total_seconds() / 3
    failing = False
    while True:
        await asyncio.sleep(every)
        try:
            async with uow.begin() as tx:
                still_ours = await idempotency.renew(tx.conn, hold, lease)
        except Exception as exc:  # a missed renewal is tried again a third of a lease later
            # Once per request, not per attempt: the database being away is logged where it is noticed.
            if not failing:
                log.warning("idempotency.lease_renewal_failed", error=type(exc).__name__)
            failing = True
            continue
        if not still_ours:
            # Finished or released as this renewal ran, or taken over after a stall (then the
            # request's finish fails and rolls its post back): nothing left to keep.
            return
        failing = False
