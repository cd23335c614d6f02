"""The shared rate-limit counters: one row per key in PostgreSQL, which every gateway replica
already talks to.

Counting is one statement: an upsert on the key's row that starts a new window when the stored one
has ended and otherwise adds the number of requests counted (one, or several counted together:
`handlers.request_counts`). Concurrent requests of a key, on any replica, serialize on that
row's lock, and ON CONFLICT DO UPDATE re-reads the row as the previous updater committed it, so
each request gets a distinct count and none is lost: no read-then-write race. (NATS KV would need
a compare-and-set retry loop under contention for the same guarantee.) The table is unlogged (see
migration 0007), so the commit does not wait on a disk flush; the statement runs on its own, in
autocommit, so the row's lock is held for the statement alone and not across round trips.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.gateway.domain.rate_limit import WINDOW_S
from crier.kit.direct_sql import DirectStatement, fetch

# Every authenticated request runs it: on the driver directly (see `kit.direct_sql`).
_COUNT = DirectStatement(
    """
    WITH hit AS (
        INSERT INTO rate_limit_counters AS c (key_id, window_start, count)
        VALUES (:key_id, clock_timestamp(), CAST(:n AS integer))
        ON CONFLICT (key_id) DO UPDATE SET
            window_start = CASE WHEN c.window_start + make_interval(secs => :window_s) <= clock_timestamp()
                                THEN clock_timestamp() ELSE c.window_start END,
            count = CASE WHEN c.window_start + make_interval(secs => :window_s) <= clock_timestamp()
                         THEN EXCLUDED.count ELSE c.count + EXCLUDED.count END
        RETURNING count, window_start
    )
    SELECT hit.count,
           extract(epoch FROM hit.window_start + make_interval(secs => :window_s) - clock_timestamp()) AS seconds_left,
           o.per_minute
    FROM hit LEFT JOIN rate_limit_overrides o ON o.key_id = :key_id
    """
)


@dataclass(frozen=True)
class Counted:
    count: int
    seconds_left: float
    # The key's own limit, when an operator set one.
    per_minute: int | None


async def count_requests(conn: AsyncConnection, key_id: str, n: int = 1) -> Counted:
    """Counts `n` requests of the key; the count the last of them made."""
    (row,) = await fetch(conn, _COUNT, {"key_id": key_id, "window_s": WINDOW_S, "n": n})
    count, seconds_left, per_minute = row
    return Counted(count=count, seconds_left=float(seconds_left), per_minute=per_minute)


async def set_override(conn: AsyncConnection, key_id: str, per_minute: int | None, now: datetime) -> bool:
    """The key's own limit (None: the default again). False when there is no such key."""
    exists = await conn.scalar(sa.text("SELECT 1 FROM api_keys WHERE id = :id"), {"id": key_id})
    if not exists:
        return False
    if per_minute is None:
        await conn.execute(sa.text("DELETE FROM rate_limit_overrides WHERE key_id = :id"), {"id": key_id})
    else:
        await conn.execute(
            sa.text(
                "INSERT INTO rate_limit_overrides (key_id, per_minute, updated_at) VALUES (:id, :n, :now) "
                "ON CONFLICT (key_id) DO UPDATE SET per_minute = EXCLUDED.per_minute, updated_at = EXCLUDED.updated_at"
            ),
            {"id": key_id, "n": per_minute, "now": now},
        )
    return True
