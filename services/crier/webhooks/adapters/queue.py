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
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.webhooks.adapters.notify import announce
from crier.webhooks.adapters.tables import any_of, deliveries, endpoints, events
from crier.webhooks.domain.delivery import OPEN, Claim, Settlement

_OPEN = "status IN ('pending', 'retrying')"
_UNLOCKED = "(d.locked_until IS NULL OR d.locked_until <= now())"

# Raw SQL: a top-n per endpoint through LATERAL, shaped for the partial indexes of migration 0001.
# Endpoints with something due get the first `free` claimable rows each, in due order. Rows queued
# behind a retrying delivery of the same key carry its retry time (see _push_back), so the due
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
# Raw SQL: a bulk insert from unnest'ed arrays, one round trip for every finished attempt.
_RECORD_ATTEMPTS = sa.text("""
    INSERT INTO attempts (delivery_id, attempted_at, http_status, latency_ms, response_excerpt, error)
    SELECT u.id, u.attempted_at, u.http_status, u.latency_ms, u.excerpt, u.error
    FROM unnest(CAST(:ids AS text[]), CAST(:attempted_at AS timestamptz[]), CAST(:http_status AS int[]),
                CAST(:latency_ms AS int[]), CAST(:excerpt AS text[]), CAST(:error AS text[]))
         AS u(id, attempted_at, http_status, latency_ms, excerpt, error)
    -- a delivery whose endpoint was deleted meanwhile is gone, and so is its log
    WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.id = u.id)
""")
# Raw SQL: a bulk update from unnest'ed arrays, one round trip for every finished attempt.
_SETTLE = sa.text("""
    UPDATE deliveries d SET status = u.status, attempt_count = d.attempt_count + 1, locked_until = NULL,
        next_attempt_at = CASE WHEN u.delay_s IS NULL THEN NULL ELSE now() + make_interval(secs => u.delay_s) END,
        updated_at = now()
    FROM unnest(CAST(:ids AS text[]), CAST(:leases AS timestamptz[]), CAST(:statuses AS text[]),
                CAST(:delays AS float8[])) AS u(id, lease, status, delay_s)
    WHERE d.id = u.id AND d.locked_until = u.lease
""")


@dataclass(frozen=True)
class Failing:
    endpoint_id: str
    since: datetime
    now: datetime


def _open(table: Any) -> Any:
    # Literals, not parameters: a generic plan matches them against the partial indexes' predicate.
    return table.c.status.in_([sa.literal_column(f"'{s}'") for s in OPEN])


def _unlocked(table: Any) -> Any:
    return sa.or_(table.c.locked_until.is_(None), table.c.locked_until <= sa.func.now())


async def claim(conn: AsyncConnection, *, limit: int, per_endpoint: int, lease_s: float) -> tuple[list[Claim], bool]:
    """The claims, and whether another replica got to some of the candidates first (then there
    may be more due than this round saw)."""
    ids = (await conn.execute(_CANDIDATES, {"per_endpoint": per_endpoint, "n": limit})).scalars().all()
    if not ids:
        return [], False
    # Another replica may be leasing the same candidates: skip the rows it holds, never wait.
    candidate = deliveries.alias("candidate")
    free = (
        sa.select(candidate.c.id)
        .where(any_of(candidate.c.id, ids), _open(candidate), _unlocked(candidate))
        .with_for_update(skip_locked=True)
    )
    previous = sa.case((endpoints.c.previous_secret_expires_at > sa.func.now(), endpoints.c.previous_secret))
    lease = (
        sa.update(deliveries)
        .where(
            deliveries.c.id.in_(free.scalar_subquery()),
            endpoints.c.id == deliveries.c.endpoint_id,
            events.c.id == deliveries.c.event_id,
        )
        .values(locked_until=sa.func.now() + timedelta(seconds=lease_s))
        .returning(
            deliveries.c.id,
            deliveries.c.endpoint_id,
            deliveries.c.message_id,
            deliveries.c.attempt_count,
            deliveries.c.locked_until,
            events.c.body,
            events.c.traceparent,
            endpoints.c.url,
            endpoints.c.secret,
            previous.label("previous_secret"),
        )
    )
    rows = (await conn.execute(lease)).all()
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
                r.traceparent,
            )
            for r in rows
        ),
        key=lambda c: order[c.id],
    )
    return claims, len(claims) < len(ids)


async def next_due(conn: AsyncConnection) -> tuple[datetime | None, datetime]:
    """Asked in the claim's transaction (the same now()), after it took all it could: whatever is
    due but was not claimed is blocked, at its endpoint's cap, or being claimed by another replica,
    and a settlement's NOTIFY will say when that changes. So the next moment is the earliest future
    attempt or lease expiry; each is one index probe."""
    is_open = _open(deliveries)
    lease_ends = sa.select(sa.func.min(deliveries.c.locked_until)).where(
        is_open, deliveries.c.locked_until > sa.func.now()
    )
    attempt_due = sa.select(sa.func.min(deliveries.c.next_attempt_at)).where(
        is_open, deliveries.c.next_attempt_at > sa.func.now()
    )
    stmt = sa.select(
        sa.func.least(lease_ends.scalar_subquery(), attempt_due.scalar_subquery()).label("due"),
        sa.func.clock_timestamp().label("now"),
    )
    row = (await conn.execute(stmt)).one()
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
            "statuses": [s.step.status for s in done],
            "delays": [s.step.delay_s for s in done],
        },
    )
    retrying = [s.claim.id for s in done if s.step.status == "retrying"]
    if retrying:
        await _push_back(conn, retrying)
    last: dict[str, bool] = {}
    for s in sorted(done, key=lambda s: s.attempted_at):
        last[s.claim.endpoint_id] = s.outcome.succeeded
    succeeded = sorted({s.claim.endpoint_id for s in done if s.outcome.succeeded})
    failing = sorted(e for e, ok in last.items() if not ok)
    if succeeded:
        await conn.execute(
            sa.update(endpoints)
            .where(any_of(endpoints.c.id, succeeded), endpoints.c.failing_since.is_not(None))
            .values(failing_since=None)
        )
    rows: list[Any] = []
    if failing:
        streak = (
            sa.update(endpoints)
            .where(any_of(endpoints.c.id, failing))
            .values(failing_since=sa.func.coalesce(endpoints.c.failing_since, sa.func.now()))
            .returning(endpoints.c.id, endpoints.c.failing_since, endpoints.c.is_active, sa.func.now().label("now"))
        )
        rows = list((await conn.execute(streak)).all())
    # A settled delivery may unblock the next one of its order key and frees a slot at its
    # endpoint: tell every replica, not only this one.
    await announce(conn)
    return [Failing(r.id, r.failing_since, r.now) for r in rows if r.is_active]


async def _push_back(conn: AsyncConnection, retrying: list[str]) -> None:
    """What is queued behind a delivery that will be retried waits for that retry."""
    held = deliveries.alias("held")
    stmt = (
        sa.update(deliveries)
        .where(
            any_of(held.c.id, retrying),
            held.c.status == "retrying",
            deliveries.c.endpoint_id == held.c.endpoint_id,
            deliveries.c.order_key == held.c.order_key,
            _open(deliveries),
            deliveries.c.seq > held.c.seq,
            deliveries.c.next_attempt_at < held.c.next_attempt_at,
        )
        .values(next_attempt_at=held.c.next_attempt_at)
    )
    await conn.execute(stmt)


async def disable_endpoint(conn: AsyncConnection, endpoint_id: str, reason: str) -> bool:
    stmt = (
        sa.update(endpoints)
        .where(endpoints.c.id == endpoint_id, endpoints.c.is_active)
        .values(is_active=False, disabled_reason=reason, updated_at=sa.func.now())
        .returning(endpoints.c.id)
    )
    return (await conn.execute(stmt)).first() is not None
