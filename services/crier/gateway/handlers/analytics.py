"""What the analytics capture reads engagement for: the targets published within its window."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crier.gateway.adapters.analytics_targets import published_since
from crier.gateway.handlers.context import Context


async def published_targets(
    ctx: Context, since: datetime, *, after: tuple[datetime, str] | None, limit: int
) -> list[Any]:
    """Published targets (with their post's org and mode), oldest first, after `after`."""
    async with ctx.uow.read() as conn:
        return await published_since(conn, since, after=after, limit=limit)
