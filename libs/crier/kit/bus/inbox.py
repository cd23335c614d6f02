"""Idempotent consumers: an event id is recorded in the same transaction as its effect, so a
redelivered event finds its id taken and changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.kit.direct_sql import DirectStatement, fetch

# Claims the ids in `:ids` for `:consumer`, returning those not claimed before. Also the part of a
# statement that claims them with the read its use case starts with, in one round trip.
CLAIM = (
    "INSERT INTO inbox (consumer, event_id) SELECT :consumer, unnest(CAST(:ids AS text[]))"
    " ON CONFLICT DO NOTHING RETURNING event_id"
)
# Every message a service handles claims its id: on the driver directly (`kit.direct_sql`).
_CLAIM = DirectStatement(CLAIM)
_PURGE = sa.text("DELETE FROM inbox WHERE processed_at < now() - CAST(:keep AS interval)")


async def claim(conn: AsyncConnection, consumer: str, event_ids: Sequence[str]) -> set[str]:
    """The ids among `event_ids` this consumer has not handled before; the claims commit with the
    caller's transaction, and roll back with it."""
    if not event_ids:
        return set()
    rows = await fetch(conn, _CLAIM, {"consumer": consumer, "ids": list(event_ids)})
    return {row[0] for row in rows}


async def purge(conn: AsyncConnection, keep: timedelta) -> int:
    """Forget entries older than `keep`: past the stream's retention no copy of the event can come
    back, so its entry is dead weight."""
    result = await conn.execute(_PURGE, {"keep": keep})
    return int(result.rowcount)
