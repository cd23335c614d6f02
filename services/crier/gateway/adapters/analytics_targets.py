"""The published targets whose engagement the analytics capture reads: those published within
its window, a page at a time in (published_at, id) order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.gateway.adapters.tables import post_targets, posts

t, p = post_targets, posts


async def published_since(
    conn: AsyncConnection, since: datetime, *, after: tuple[datetime, str] | None, limit: int
) -> list[Any]:
    where = [t.c.status == "published", t.c.published_at >= since, t.c.platform_post_id.is_not(None)]
    if after is not None:
        at, target_id = after
        where.append(
            sa.tuple_(t.c.published_at, t.c.id)
            > sa.tuple_(sa.literal(at, t.c.published_at.type), sa.literal(target_id))
        )
    query = (
        sa.select(t.c.id, t.c.post_id, t.c.account_id, t.c.platform_post_id, t.c.published_at, p.c.org_id, p.c.mode)
        .join(p, p.c.id == t.c.post_id)
        .where(*where)
        .order_by(t.c.published_at, t.c.id)
        .limit(limit)
    )
    return list((await conn.execute(query)).all())
