"""Organizations, made by the operator."""

from __future__ import annotations

from typing import Any

from crier.gateway.adapters import orgs
from crier.gateway.handlers.context import Context


async def create_org(ctx: Context, name: str) -> dict[str, Any]:
    async with ctx.uow.begin() as tx:
        return await orgs.create_org(tx.conn, name)
