"""The deliveries table as a work queue: claim due rows under a lease, settle attempts in batches.

A delivery is claimable when its time has come, its endpoint is active, no earlier delivery with
the same (endpoint, order_key) is still open (that keeps one target's events in order), and its
endpoint has fewer than `per_endpoint` deliveries in flight (so a slow endpoint cannot take the
whole pool). Claiming sets `locked_until`; if the process dies, the lease runs out and any
replica claims the row again. Settling only moves a row whose lease is still ours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.webhooks.domain.delivery import Outcome

_OPEN = "status IN ('pending', 'retrying')"
_UNLOCKED = "(d.locked_until IS NULL OR d.locked_until <= now())"

# Endpoints with something due get the first `free` claimable rows each, in due order. Rows queued
# behind a retrying delivery of the same key carry its retry time (see _PUSH_BACK), so the due
# range holds little that is blocked and a backlog costs one pass over the due rows.
_CANDIDATES = sa.text(f"""
    WITH busy AS (
        SELECT endpoint_id, count(*) AS n FROM deliveries WHERE {_OPEN} AND locked_until > now() GROUP BY endpoint_id
    ), slots AS (
        SELECT r.endpoint_id, :per_endpoint - coalesce(b.n, 0) AS free
        FROM (SELECT DISTINCT d.endpoint_id FROM deliveries d
              WHERE d.{_OPEN} AND d.next_attempt_at <= now() AND {_UNLOCKED}) r
        JOIN endpoints e ON e.id = r.endpoint_id AND e.is_active
        LEFT JOIN busy b ON b.endpoint_id = r.endpoint_id
        WHERE :per_endpoint - coalesce(b.n, 0) > 0
    )
    SELECT c.id FROM slots s CROSS JOIN LATERAL (
        SELECT d.id, d.next_attempt_at, d.seq FROM deliveries d
        WHERE d.endpoint_id = s.endpoint_id AND d.{_OPEN} AND d.next_attempt_at <= now() AND {_UNLOCKED}
          AND NOT EXISTS (
              SELECT 1 FROM deliveries p
              WHERE p.endpoint_id = d.endpoint_id AND p.order_key = d.order_key AND p.{_OPEN} AND p.seq < d.seq)
        ORDER BY d.next_attempt_at, d.seq LIMIT s.free
    ) c
    ORDER BY c.next_attempt_at, c.seq
    LIMIT :n
""")
_LEASE = sa.text(f"""
    UPDATE deliveries d SET locked_until = now() + make_interval(secs => :lease_s)
    FROM endpoints e, events ev
    WHERE d.id IN (
        SELECT id FROM deliveries d
        WHERE id = ANY(:ids) AND {_OPEN} AND {_UNLOCKED}
        FOR UPDATE SKIP LOCKED)
      AND e.id = d.endpoint_id AND ev.id = d.event_id
    RETURNING d.id, d.endpoint_id, d.message_id, d.attempt_count, d.locked_until, ev.body, e.url,
              e.secret, CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret END AS previous_secret
""")
# Asked in the claim's transaction (the same now()), after it took all it could: whatever is due
# but was not claimed is blocked, at its endpoint's cap, or being claimed by another replica, and
# a settlement's NOTIFY will say when that changes. So the next moment is the earliest future
# attempt or lease expiry; each is one index probe.
_NEXT_DUE = sa.text(f"""
    SELECT least(
        (SELECT min(locked_until) FROM deliveries WHERE {_OPEN} AND locked_until > now()),
        (SELECT min(next_attempt_at) FROM deliveries WHERE {_OPEN} AND next_attempt_at > now())
    ) AS due, clock_timestamp() AS now
""")
_RECORD_ATTEMPTS = sa.text("""
    INSERT INTO attempts (delivery_id, attempted_at, http_status, latency_ms, response_excerpt, error)
    SELECT u.id, u.attempted_at, u.http_status, u.latency_ms, u.excerpt, u.error
    FROM unnest(CAST(:ids AS text[]), CAST(:attempted_at AS timestamptz[]), CAST(:http_status AS int[]),
                CAST(:latency_ms AS int[]), CAST(:excerpt AS text[]), CAST(:error AS text[]))
         AS u(id, attempted_at, http_status, latency_ms, excerpt, error)
    -- a delivery whose endpoint was deleted meanwhile is gone, and so is its log
    WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.id = u.id)
""")
_SETTLE = sa.text("""
    UPDATE deliveries d SET status = u.status, attempt_count = d.attempt_count + 1, locked_until = NULL,
        next_attempt_at = CASE WHEN u.delay_s IS NULL THEN NULL ELSE now() + make_interval(secs => u.delay_s) END,
        updated_at = now()
    FROM unnest(CAST(:ids AS text[]), CAST(:leases AS timestamptz[]), CAST(:statuses AS text[]),
                CAST(:delays AS float8[])) AS u(id, lease, status, delay_s)
    WHERE d.id = u.id AND d.locked_until = u.lease
""")
# What is queued behind a delivery that will be retried waits for that retry.
_PUSH_BACK = sa.text(f"""
    UPDATE deliveries f SET next_attempt_at = h.next_attempt_at
    FROM deliveries h
    WHERE h.id = ANY(CAST(:ids AS text[])) AND h.status = 'retrying'
      AND f.endpoint_id = h.endpoint_id AND f.order_key = h.order_key AND f.{_OPEN} AND f.seq > h.seq
      AND f.next_attempt_at < h.next_attempt_at
""")
_SUCCEEDED = sa.text("""
    UPDATE endpoints SET failing_since = NULL WHERE id = ANY(CAST(:ids AS text[])) AND failing_since IS NOT NULL
""")
_FAILED = sa.text("""
    UPDATE endpoints SET failing_since = coalesce(failing_since, now()) WHERE id = ANY(CAST(:ids AS text[]))
    RETURNING id, failing_since, is_active, now() AS now
""")
_DISABLE = sa.text("""
    UPDATE endpoints SET is_active = false, disabled_reason = :reason, updated_at = now()
    WHERE id = :id AND is_active RETURNING id
""")
_NOTIFY = sa.text("SELECT pg_notify('webhooks_due', '')")


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


@dataclass(frozen=True)
class Settlement:
    """One finished attempt and where it leaves its delivery."""

    claim: Claim
    attempted_at: datetime
    outcome: Outcome
    status: str
    delay_s: float | None


@dataclass(frozen=True)
class Failing:
    endpoint_id: str
    since: datetime
    now: datetime


async def claim(conn: AsyncConnection, *, limit: int, per_endpoint: int, lease_s: float) -> tuple[list[Claim], bool]:
    """The claims, and whether another replica got to some of the candidates first (then there
    may be more due than this round saw)."""
    ids = (await conn.execute(_CANDIDATES, {"per_endpoint": per_endpoint, "n": limit})).scalars().all()
    if not ids:
        return [], False
    rows = (await conn.execute(_LEASE, {"ids": list(ids), "lease_s": lease_s})).all()
    order = {id_: i for i, id_ in enumerate(ids)}
    claims = sorted(
        (
            Claim(
                r.id,
                r.endpoint_id,
                r.message_id,
                r.attempt_count,
                r.locked_until,
                bytes(r.body),
                r.url,
                tuple(s for s in (r.secret, r.previous_secret) if s),
            )
            for r in rows
        ),
        key=lambda c: order[c.id],
    )
    return claims, len(claims) < len(ids)


async def next_due(conn: AsyncConnection) -> tuple[datetime | None, datetime]:
    row = (await conn.execute(_NEXT_DUE)).one()
    return row.due, row.now


async def settle(conn: AsyncConnection, done: Sequence[Settlement]) -> list[Failing]:
    """Record the attempts, move their deliveries on, and track each endpoint's failure streak.
    Returns the active endpoints that are failing (to check against the disable window)."""
    await conn.execute(
        _RECORD_ATTEMPTS,
        {
            "ids": [s.claim.id for s in done],
            "attempted_at": [s.attempted_at for s in done],
            "http_status": [s.outcome.http_status for s in done],
            "latency_ms": [s.outcome.latency_ms for s in done],
            "excerpt": [s.outcome.response_excerpt for s in done],
            "error": [s.outcome.error for s in done],
        },
    )
    await conn.execute(
        _SETTLE,
        {
            "ids": [s.claim.id for s in done],
            "leases": [s.claim.lease for s in done],
            "statuses": [s.status for s in done],
            "delays": [s.delay_s for s in done],
        },
    )
    retrying = [s.claim.id for s in done if s.status == "retrying"]
    if retrying:
        await conn.execute(_PUSH_BACK, {"ids": retrying})
    last: dict[str, bool] = {}
    for s in sorted(done, key=lambda s: s.attempted_at):
        last[s.claim.endpoint_id] = s.outcome.succeeded
    succeeded = sorted({s.claim.endpoint_id for s in done if s.outcome.succeeded})
    failing = sorted(e for e, ok in last.items() if not ok)
    if succeeded:
        await conn.execute(_SUCCEEDED, {"ids": succeeded})
    rows: list[Any] = (await conn.execute(_FAILED, {"ids": failing})).all() if failing else []
    # A settled delivery may unblock the next one of its order key and frees a slot at its
    # endpoint: tell every replica, not only this one.
    await conn.execute(_NOTIFY)
    return [Failing(r.id, r.failing_since, r.now) for r in rows if r.is_active]


async def disable_endpoint(conn: AsyncConnection, endpoint_id: str, reason: str) -> bool:
    return (await conn.execute(_DISABLE, {"id": endpoint_id, "reason": reason})).first() is not None
