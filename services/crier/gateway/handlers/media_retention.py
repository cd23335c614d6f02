"""Forgetting media no post needs any more: the retention after the last post that used it went
out, or the shorter one for an upload no post ever used; and failing rows whose request died while
they were `processing`. Rows go first, then their bytes: bytes that outlive their row (an outage of
the store) are logged, never served."""

from __future__ import annotations

from dataclasses import dataclass

from crier.gateway.adapters import media_rows
from crier.gateway.handlers.context import Context
from crier.gateway.handlers.media import forget_bytes

BATCH = 500


@dataclass(frozen=True)
class MediaPurged:
    deleted: int
    interrupted: int


async def purge_media(ctx: Context) -> MediaPurged:
    policy, now = ctx.media_policy, ctx.now()
    async with ctx.uow.begin() as tx:
        interrupted = await media_rows.fail_stale(tx.conn, created_before=now - policy.processing_timeout, at=now)
    deleted = 0
    while True:
        async with ctx.uow.begin() as tx:
            expired = await media_rows.expired(
                tx.conn, done_before=now - policy.retention, made_before=now - policy.unused_retention, limit=BATCH
            )
            for item in expired:
                await media_rows.delete(tx.conn, item.id)
        for item in expired:
            await forget_bytes(ctx, item.store_key)
        deleted += len(expired)
        if len(expired) < BATCH:
            return MediaPurged(deleted=deleted, interrupted=interrupted)
