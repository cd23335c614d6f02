"""Counting a key's requests against its limit, and the operator's per-key limits."""

from __future__ import annotations

from crier.gateway.adapters import rate_limits
from crier.gateway.domain.rate_limit import Quota, checked_per_minute, quota
from crier.gateway.handlers.context import Context
from crier.kit.errors import Invalid, NotFound, Problem


async def count_request(ctx: Context, key_id: str, default_per_minute: int) -> Quota:
    counted = await ctx.request_counts.count(key_id, lambda key, n: _count(ctx, key, n))
    return quota(counted.count, counted.per_minute or default_per_minute, counted.seconds_left)


async def _count(ctx: Context, key_id: str, n: int) -> rate_limits.Counted:
    # One statement, committed by itself: no BEGIN and COMMIT round trips, and the key's row is
    # locked only while the statement runs, not while they travel (every request of a busy key
    # waits on that lock).
    async with ctx.uow.read() as conn:
        return await rate_limits.count_requests(conn, key_id, n)


async def set_key_limit(ctx: Context, key_id: str, per_minute: int | None) -> None:
    """`per_minute` None: the key follows the installation's default again."""
    if per_minute is not None:
        try:
            checked_per_minute(per_minute)
        except Problem as problem:
            raise Invalid.of([problem]) from None
    async with ctx.uow.begin() as tx:
        if not await rate_limits.set_override(tx.conn, key_id, per_minute, ctx.now()):
            raise NotFound.of("API key", key_id)
