"""`rpc.connect.accounts.metrics` and `rpc.connect.posts.engagement`, answered by any replica in
connect's queue like the subjects in `entrypoints.rpc`."""

from __future__ import annotations

from functools import partial

from crier.connect.entrypoints.rpc import QUEUE
from crier.connect.handlers import engagement, metrics
from crier.connect.handlers.context import Context
from crier.contracts import connect as api
from crier.kit.bus import Bus, rpc


async def serve(bus: Bus, ctx: Context) -> None:
    await rpc.serve(bus, api.ACCOUNTS_METRICS, api.MetricsRequest, partial(metrics.account_metrics, ctx), queue=QUEUE)
    await rpc.serve(
        bus, api.POSTS_ENGAGEMENT, api.EngagementRequest, partial(engagement.post_engagement_of, ctx), queue=QUEUE
    )
