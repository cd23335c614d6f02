"""What the gateway asks of PostgreSQL itself rather than of its tables: is it there, and which
unique constraint did a failed write run into."""

from __future__ import annotations

import asyncpg
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine


async def accepts_new_connections(engine: AsyncEngine, timeout_s: float) -> bool:
    """Whether the server of `engine` lets a new connection in and answers on it. Not through
    the pool: a pooled connection still answers while a server in a smart shutdown refuses every
    new one (which the pools will need as soon as one of theirs closes)."""
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn, timeout=timeout_s)
    try:
        return bool(await conn.fetchval("SELECT 1", timeout=timeout_s) == 1)
    finally:
        await conn.close(timeout=timeout_s)


def violated_constraint(exc: IntegrityError) -> str | None:
    """The name of the unique constraint `exc` hit, or None when it was another kind of failure."""
    cause = getattr(exc.orig, "__cause__", None) or exc.orig
    if getattr(cause, "sqlstate", None) != "23505":
        return None
    return getattr(cause, "constraint_name", None)
