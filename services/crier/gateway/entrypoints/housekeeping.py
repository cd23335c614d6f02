"""Forgetting what no longer matters: expired idempotency keys and inbox entries past redelivery."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.gateway.adapters.idempotency import KEEP
from crier.kit.bus import streams
from crier.kit.log import get

log = get(__name__)
EVERY_S = 600
# Past the EVENTS stream's retention no copy of an event can come back, so its inbox entry is dead weight.
INBOX_KEEP = timedelta(seconds=streams.EVENTS.max_age_s) + timedelta(days=1)


async def purge_once(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.begin() as conn:
        keys = await conn.execute(
            sa.text("DELETE FROM idempotency_keys WHERE created_at < now() - CAST(:keep AS interval)"), {"keep": KEEP}
        )
        seen = await conn.execute(
            sa.text("DELETE FROM inbox WHERE processed_at < now() - CAST(:keep AS interval)"), {"keep": INBOX_KEEP}
        )
    return keys.rowcount, seen.rowcount


async def run(engine: AsyncEngine, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            keys, seen = await purge_once(engine)
            if keys or seen:
                log.info("housekeeping.purged", idempotency_keys=keys, inbox=seen)
        except Exception as exc:  # the database is away: try again next round
            log.warning("housekeeping.failed", error=repr(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=EVERY_S)
