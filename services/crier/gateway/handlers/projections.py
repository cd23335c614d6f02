"""The post projections are disposable: rebuilt from the event store, they come out the same."""

from __future__ import annotations

from crier.gateway.adapters import post_store
from crier.gateway.handlers.context import Context


async def rebuild_projections(ctx: Context) -> int:
    """Throw `posts` and `post_targets` away and fold every post's events again, in one transaction
    (readers see the old tables until it commits). Returns how many posts were rebuilt."""
    async with ctx.uow.begin() as tx:
        return await post_store.rebuild(tx.conn)
