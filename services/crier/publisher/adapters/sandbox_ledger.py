"""The sandbox platform's "network": simulated posts kept in the publisher's `sandbox_posts` table."""

from __future__ import annotations

import sqlalchemy as sa

from crier.kit.direct_sql import DirectStatement, fetch
from crier.platforms.base import PublishContext
from crier.platforms.sandbox import SandboxPost
from crier.publisher.adapters.tables import sandbox_posts

# Every sandbox delivery runs it: on the driver directly (`kit.direct_sql`).
_INSERT = DirectStatement(
    sa.insert(sandbox_posts).values(
        {
            c: sa.bindparam(c, type_=sandbox_posts.c[c].type)
            for c in ("id", "target_id", "container_index", "parent_id", "content", "media")
        }
    )
)


class PostgresSandboxLedger:
    async def record(self, ctx: PublishContext, post: SandboxPost) -> None:
        if ctx.conn is None:
            raise RuntimeError("the sandbox records posts in the publisher's progress transaction")
        await fetch(
            ctx.conn,
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
