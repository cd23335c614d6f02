"""The delivery log: an endpoint's deliveries with their attempts, and resends."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

_NOTIFY = sa.text("SELECT pg_notify('webhooks_due', '')")

_COLUMNS = """d.id, d.seq, d.endpoint_id, d.message_id, d.event_id, ev.type AS event_type, d.status,
              d.next_attempt_at, d.resend_of, d.created_at, d.updated_at"""
_PAGE = sa.text(f"""
    SELECT {_COLUMNS} FROM deliveries d JOIN events ev ON ev.id = d.event_id
    WHERE d.endpoint_id = :endpoint_id AND (CAST(:before AS bigint) IS NULL OR d.seq < :before)
      AND (CAST(:status AS text) IS NULL OR d.status = :status)
    ORDER BY d.seq DESC LIMIT :n
""")
_GET = sa.text(f"""
    SELECT {_COLUMNS}, d.order_key FROM deliveries d
    JOIN events ev ON ev.id = d.event_id JOIN endpoints e ON e.id = d.endpoint_id
    WHERE d.id = :id AND e.org_id = :org_id AND e.mode = :mode
""")
_ATTEMPTS = sa.text("""
    SELECT delivery_id, attempted_at, http_status, latency_ms, response_excerpt, error
    FROM attempts WHERE delivery_id = ANY(:ids) ORDER BY id
""")
_RESEND = sa.text("""
    INSERT INTO deliveries (id, endpoint_id, event_id, message_id, order_key, status, next_attempt_at,
                            resend_of, created_at, updated_at)
    SELECT 'dlv_' || replace(gen_random_uuid()::text, '-', ''), endpoint_id, event_id, message_id, order_key,
           'pending', now(), id, now(), now()
    FROM deliveries WHERE id = :id
    RETURNING id
""")


async def page(
    conn: AsyncConnection, endpoint_id: str, before_seq: int | None, status: str | None, limit: int
) -> list[Any]:
    params = {"endpoint_id": endpoint_id, "before": before_seq, "status": status, "n": limit + 1}
    return list((await conn.execute(_PAGE, params)).all())


async def get(conn: AsyncConnection, org_id: str, mode: str, id: str) -> Any | None:
    return (await conn.execute(_GET, {"id": id, "org_id": org_id, "mode": mode})).first()


async def attempts_of(conn: AsyncConnection, ids: list[str]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {i: [] for i in ids}
    for row in (await conn.execute(_ATTEMPTS, {"ids": ids})).all():
        out[row.delivery_id].append(row)
    return out


async def resend(conn: AsyncConnection, id: str) -> str:
    new_id = (await conn.execute(_RESEND, {"id": id})).scalar_one()
    await conn.execute(_NOTIFY)
    return new_id
