"""Idempotent consumers: an event id is recorded in the same transaction as its effect."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

_CLAIM = sa.text("INSERT INTO inbox (consumer, event_id) VALUES (:c, :e) ON CONFLICT DO NOTHING RETURNING event_id")


async def first_time(conn: AsyncConnection, consumer: str, event_id: str) -> bool:
    """True when this consumer has not handled the event before; the claim commits with the effect."""
    return (await conn.execute(_CLAIM, {"c": consumer, "e": event_id})).first() is not None
