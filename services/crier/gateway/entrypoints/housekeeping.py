"""The housekeeping loop: every ten minutes, forget what no longer matters.

A round that fails (the database away) is tried again after a growing pause rather than ten
minutes later, and the outage is logged when it begins and when it ends."""

from __future__ import annotations

import asyncio

from crier.gateway.handlers.context import Context
from crier.gateway.handlers.housekeeping import purge
from crier.kit.log import get
from crier.kit.outage import Outage
from crier.kit.waiting import first_of

log = get(__name__)
EVERY_S = 600


async def run(ctx: Context, stop: asyncio.Event) -> None:
    outage = Outage("housekeeping", logger=log)
    while not stop.is_set():
        try:
            purged = await purge(ctx)
            if purged.idempotency_keys or purged.inbox or purged.media or purged.media_interrupted:
                log.info(
                    "housekeeping.purged",
                    idempotency_keys=purged.idempotency_keys,
                    inbox=purged.inbox,
                    media=purged.media,
                    media_interrupted=purged.media_interrupted,
                )
        except Exception as exc:  # the database is away: try again soon
            await first_of(stop, timeout=outage.failed(exc))
            continue
        outage.succeeded()
        await first_of(stop, timeout=EVERY_S)
