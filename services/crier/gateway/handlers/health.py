"""Whether the gateway's own database answers, for /readyz."""

from __future__ import annotations

import asyncio

from crier.gateway.adapters import database
from crier.gateway.handlers.context import Context


async def database_ready(ctx: Context, timeout_s: float) -> bool:
    """False on any failure: a probe reports, it does not raise."""
    try:
        async with asyncio.timeout(timeout_s), ctx.uow.read() as conn:
            return await database.answers(conn)
    except Exception:
        return False
