"""What the gateway asks of PostgreSQL itself rather than of its tables: is it there, and which
unique constraint did a failed write run into."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection


async def answers(conn: AsyncConnection) -> bool:
    return await conn.scalar(sa.select(sa.literal(1))) == 1


def violated_constraint(exc: IntegrityError) -> str | None:
    """The name of the unique constraint `exc` hit, or None when it was another kind of failure."""
    cause = getattr(exc.orig, "__cause__", None) or exc.orig
    if getattr(cause, "sqlstate", None) != "23505":
        return None
    return getattr(cause, "constraint_name", None)
