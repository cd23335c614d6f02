"""The analytics capture: every published target's engagement, read periodically during its first
days (`CRIER_ANALYTICS_CAPTURE_DAYS`, one reading per `CRIER_ANALYTICS_CAPTURE_EVERY_S`).

The gateway knows what was published; connect holds the tokens and the readings. Each sweep sends
connect the targets published within the window, a post at a time; connect reads those not yet
captured in the current period and stores one reading per target and period, so sweeps of several
gateway replicas, or of one restarted, never capture a target twice in a period. Sweeps run twice a
period, so a period whose sweep met an outage is still captured."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import timedelta
from itertools import groupby
from typing import Any

from crier.contracts import connect as api
from crier.gateway.handlers.analytics import published_targets
from crier.gateway.handlers.context import Context
from crier.kit.bus import Bus, rpc
from crier.kit.log import get
from crier.kit.outage import Outage
from crier.kit.waiting import first_of

log = get(__name__)
PAGE = 500
# What connect reads in one request.
MAX_TARGETS = 100


async def run(ctx: Context, bus: Bus, stop: asyncio.Event, *, days: float, every_s: float) -> None:
    if days <= 0 or every_s <= 0:
        return
    outage = Outage("gateway.analytics_capture", logger=log)
    while not stop.is_set():
        pause = 0.0
        try:
            await sweep(ctx, bus, days=days, every_s=every_s)
            outage.succeeded()
        except Exception as exc:  # the database or connect is away: try again, later each time
            pause = outage.failed(exc)
        await first_of(stop, timeout=max(pause, every_s / 2 * random.uniform(0.8, 1.2)))


async def sweep(ctx: Context, bus: Bus, *, days: float, every_s: float) -> int:
    """One pass over the targets in the window; how many connect was asked about."""
    since = ctx.now() - timedelta(days=days)
    after = None
    asked = 0
    while True:
        rows = await published_targets(ctx, since, after=after, limit=PAGE)
        for request in _requests(rows, every_s):
            await rpc.call(bus, api.POSTS_ENGAGEMENT, request, api.PostEngagement, timeout=api.PLATFORM_CALL_TIMEOUT_S)
            asked += len(request.targets)
        if len(rows) < PAGE:
            return asked
        after = (rows[-1].published_at, rows[-1].id)


def _requests(rows: list[Any], every_s: float) -> Iterator[api.EngagementRequest]:
    by_post = sorted(rows, key=lambda r: (r.org_id, r.mode, r.post_id))
    for (org_id, mode, post_id), of_post in groupby(by_post, key=lambda r: (r.org_id, r.mode, r.post_id)):
        targets = list(of_post)
        for start in range(0, len(targets), MAX_TARGETS):
            yield _request(org_id, mode, post_id, targets[start : start + MAX_TARGETS], every_s)


def _request(org_id: str, mode: str, post_id: str, targets: list[Any], every_s: float) -> api.EngagementRequest:
    return api.EngagementRequest(
        org_id=org_id,
        mode=mode,  # type: ignore[arg-type]
        post_id=post_id,
        fresh_for_s=0.0,
        capture_every_s=every_s,
        targets=[
            api.EngagementTarget(
                target_id=r.id,
                account_id=r.account_id,
                platform_post_id=r.platform_post_id,
                published_at=r.published_at,
            )
            for r in targets
        ],
    )
