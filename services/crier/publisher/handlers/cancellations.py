"""Recording a post's cancellation, so a command still queued for one of its targets is skipped."""

from __future__ import annotations

from crier.contracts.events import PostCanceled
from crier.publisher.adapters import targets
from crier.publisher.handlers.context import Context


async def record_cancellation(ctx: Context, event: PostCanceled) -> None:
    # Recording a cancellation twice changes nothing, so a redelivered event needs no inbox entry.
    async with ctx.uow.begin() as tx:
        await targets.record_cancellations(tx.conn, event.post_id, event.target_ids)
