"""The deliveries table as a work queue: claim due rows under a lease, record each attempt.

A delivery is due when its time has come, its endpoint is active, no earlier delivery with the
same (endpoint, order_key) is still open (that keeps one target's events in order), and its
endpoint has fewer than `per_endpoint` deliveries in flight (so a slow endpoint cannot take the
whole pool). Claiming sets `locked_until`; if the process dies, the lease runs out and any
replica claims the row again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

_OPEN = "status IN ('pending', 'retrying')"
_NOT_BLOCKED = f"""NOT EXISTS (
    SELECT 1 FROM deliveries p
    WHERE p.endpoint_id = d.endpoint_id AND p.order_key = d.order_key AND p.{_OPEN} AND p.seq < d.seq)"""
_BUSY = f"""busy AS (
    SELECT endpoint_id, count(*) AS n FROM deliveries WHERE {_OPEN} AND locked_until > now() GROUP BY endpoint_id)"""

_CANDIDATES = sa.text(f"""
    WITH {_BUSY},
    due AS (
        SELECT d.id, d.endpoint_id, d.next_attempt_at, d.seq,
               row_number() OVER (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_at, d.seq) AS rn
        FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id AND e.is_active
        WHERE d.{_OPEN} AND d.next_attempt_at <= now()
          AND (d.locked_until IS NULL OR d.locked_until <= now()) AND {_NOT_BLOCKED}
    )
    SELECT due.id FROM due LEFT JOIN busy USING (endpoint_id)
    WHERE due.rn <= :per_endpoint - coalesce(busy.n, 0)
    ORDER BY due.next_attempt_at, due.seq
    LIMIT :n
""")
_LEASE = sa.text(f"""
    UPDATE deliveries d SET locked_until = now() + make_interval(secs => :lease_s)
    FROM endpoints e, events ev
    WHERE d.id IN (
        SELECT id FROM deliveries
        WHERE id = ANY(:ids) AND {_OPEN} AND (locked_until IS NULL OR locked_until <= now())
        FOR UPDATE SKIP LOCKED)
      AND e.id = d.endpoint_id AND ev.id = d.event_id
    RETURNING d.id, d.endpoint_id, d.message_id, d.attempt_count, d.locked_until, ev.body, e.url,
              e.secret, CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret END AS previous_secret
""")
_NEXT_DUE = sa.text(f"""
    WITH {_BUSY}
    SELECT min(CASE WHEN d.locked_until > now() THEN d.locked_until ELSE d.next_attempt_at END) AS due,
           clock_timestamp() AS now
    FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id AND e.is_active
    LEFT JOIN busy USING (endpoint_id)
    WHERE d.{_OPEN} AND {_NOT_BLOCKED}
      AND (d.locked_until > now() OR coalesce(busy.n, 0) < :per_endpoint)
""")
_RECORD_ATTEMPT = sa.text("""
    INSERT INTO attempts (delivery_id, attempted_at, http_status, latency_ms, response_excerpt, error)
    SELECT :id, :attempted_at, :http_status, :latency_ms, :response_excerpt, :error
    WHERE EXISTS (SELECT 1 FROM deliveries WHERE id = :id)  -- its endpoint may have been deleted meanwhile
""")
_SETTLE = sa.text("""
    UPDATE deliveries SET status = :status, attempt_count = attempt_count + 1, locked_until = NULL,
        next_attempt_at = CASE WHEN CAST(:delay_s AS float8) IS NULL THEN NULL
                               ELSE now() + make_interval(secs => :delay_s) END,
        updated_at = now()
    WHERE id = :id AND locked_until = :lease
    RETURNING id
""")
_SUCCEEDED = sa.text("UPDATE endpoints SET failing_since = NULL WHERE id = :id AND failing_since IS NOT NULL")
_FAILED = sa.text("""
    UPDATE endpoints SET failing_since = coalesce(failing_since, now()) WHERE id = :id
    RETURNING failing_since, is_active, now() AS now
""")
_DISABLE = sa.text("""
    UPDATE endpoints SET is_active = false, disabled_reason = :reason, updated_at = now()
    WHERE id = :id AND is_active RETURNING id
""")
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


@dataclass(frozen=True)
class Claim:
    id: str
    endpoint_id: str
    message_id: str
    attempts_made: int
    lease: datetime
    body: bytes
    url: str
    secret_ciphertexts: tuple[str, ...]


async def claim(conn: AsyncConnection, *, limit: int, per_endpoint: int, lease_s: float) -> list[Claim]:
    ids = (await conn.execute(_CANDIDATES, {"per_endpoint": per_endpoint, "n": limit})).scalars().all()
    if not ids:
        return []
    rows = (await conn.execute(_LEASE, {"ids": list(ids), "lease_s": lease_s})).all()
    order = {id_: i for i, id_ in enumerate(ids)}
    return sorted(
        (Claim(r.id, r.endpoint_id, r.message_id, r.attempt_count, r.locked_until, bytes(r.body), r.url,
               tuple(s for s in (r.secret, r.previous_secret) if s)) for r in rows),
        key=lambda c: order[c.id],
    )


async def next_due(conn: AsyncConnection, *, per_endpoint: int) -> tuple[datetime | None, datetime]:
    row = (await conn.execute(_NEXT_DUE, {"per_endpoint": per_endpoint})).one()
    return row.due, row.now


async def record_attempt(conn: AsyncConnection, claim: Claim, *, attempted_at: datetime, http_status: int | None,
                         latency_ms: int | None, response_excerpt: str | None, error: str | None) -> None:
    await conn.execute(_RECORD_ATTEMPT, {
        "id": claim.id, "attempted_at": attempted_at, "http_status": http_status, "latency_ms": latency_ms,
        "response_excerpt": response_excerpt, "error": error,
    })


async def settle(conn: AsyncConnection, claim: Claim, status: str, delay_s: float | None) -> bool:
    """Move the delivery on, unless our lease ran out and another process owns it now."""
    row = (await conn.execute(_SETTLE, {"id": claim.id, "lease": claim.lease, "status": status,
                                        "delay_s": delay_s})).first()
    if row is not None:
        # The next delivery of the same order key may go now, and the endpoint has a free slot:
        # tell every replica, not only this one.
        await conn.execute(_NOTIFY)
    return row is not None


async def endpoint_succeeded(conn: AsyncConnection, endpoint_id: str) -> None:
    await conn.execute(_SUCCEEDED, {"id": endpoint_id})


async def endpoint_failed(conn: AsyncConnection, endpoint_id: str) -> tuple[datetime, datetime, bool] | None:
    """(failing_since, now, is_active) after noting a failure."""
    row = (await conn.execute(_FAILED, {"id": endpoint_id})).first()
    return (row.failing_since, row.now, row.is_active) if row else None


async def disable_endpoint(conn: AsyncConnection, endpoint_id: str, reason: str) -> bool:
    return (await conn.execute(_DISABLE, {"id": endpoint_id, "reason": reason})).first() is not None


async def page(conn: AsyncConnection, endpoint_id: str, before_seq: int | None, status: str | None,
               limit: int) -> list[Any]:
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
