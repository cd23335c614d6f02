"""The sandbox platform's "network": simulated posts kept in the publisher's `sandbox_posts` table."""

from __future__ import annotations

import sqlalchemy as sa

from crier.platforms.base import PublishContext
from crier.platforms.sandbox import SandboxPost
from crier.publisher.adapters.tables import sandbox_posts

_INSERT = sa.insert(sandbox_posts)


class PostgresSandboxLedger:
    async def record(self, ctx: PublishContext, post: SandboxPost) -> None:
        if ctx.conn is None:
            raise RuntimeError("the sandbox records posts in the publisher's progress transaction")
        await ctx.conn.execute(
            _INSERT,
            {
                "id": post.id,
                "target_id": post.target_id,
                "container_index": post.container_index,
                "parent_id": post.parent_id,
                "content": post.content,
                "media": list(post.media),
            },
        )
