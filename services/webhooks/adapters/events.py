"""Public events, the deliveries they fan out to, and the feed over them.

The feed's cursor is the event's `seq`. A reader must never see seq 11 before seq 10 commits,
or it would step past 10 for good; so events of one organization and mode are appended under a
transaction-scoped advisory lock, taken before the insert draws its seq: seqs then commit in order.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from webhooks.domain.catalog import KnownTarget, PublicEvent

CHANNEL = "webhooks_due"
RETENTION_DAYS = 30

_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))")
_INSERT_EVENT = sa.text("""
    INSERT INTO events (id, org_id, mode, type, body, listed, created_at)
    VALUES (:id, :org_id, :mode, :type, :body, :listed, :created_at)
    ON CONFLICT (id) DO NOTHING RETURNING seq
""")
_FAN_OUT = sa.text("""
    INSERT INTO deliveries (id, endpoint_id, event_id, message_id, order_key, status, next_attempt_at,
                            created_at, updated_at)
    SELECT 'dlv_' || replace(gen_random_uuid()::text, '-', ''), e.id, :event_id,
           'msg_' || replace(gen_random_uuid()::text, '-', ''), :order_key, 'pending', now(), now(), now()
    FROM endpoints e
    WHERE e.org_id = :org_id AND e.mode = :mode AND e.is_active AND e.events && ARRAY[CAST(:type AS text), '*']
    ORDER BY e.seq
    RETURNING id
""")
_TO_ONE = sa.text("""
    INSERT INTO deliveries (id, endpoint_id, event_id, message_id, order_key, status, next_attempt_at,
                            created_at, updated_at)
    VALUES ('dlv_' || replace(gen_random_uuid()::text, '-', ''), :endpoint_id, :event_id,
            'msg_' || replace(gen_random_uuid()::text, '-', ''), NULL, 'pending', now(), now(), now())
    RETURNING id
""")
_NOTIFY = sa.text(f"SELECT pg_notify('{CHANNEL}', '')")
_FEED = sa.text("""
    SELECT seq, body FROM events
    WHERE org_id = :org_id AND mode = :mode AND listed AND seq > :after
      AND (CAST(:type AS text) IS NULL OR type = :type)
    ORDER BY seq LIMIT :n
""")
_REMEMBER_TARGET = sa.text("""
    INSERT INTO targets (target_id, account_id, tenant_id) VALUES (:target_id, :account_id, :tenant_id)
    ON CONFLICT (target_id) DO NOTHING
""")
_TARGET = sa.text("SELECT target_id, account_id, tenant_id FROM targets WHERE target_id = :t")
_PRUNE = (
    sa.text(f"DELETE FROM events WHERE stored_at < now() - interval '{RETENTION_DAYS} days'"),
    # JetStream keeps events 30 days, so an older inbox entry can never be needed again.
    sa.text(f"DELETE FROM inbox WHERE processed_at < now() - interval '{RETENTION_DAYS + 1} days'"),
    sa.text(f"DELETE FROM targets WHERE stored_at < now() - interval '{2 * RETENTION_DAYS} days'"),
)


async def append(conn: AsyncConnection, org_id: str, mode: str, events: list[PublicEvent]) -> int:
    """Store listed events and a pending delivery for every active subscribed endpoint.
    Returns how many deliveries were created."""
    if not events:
        return 0
    await conn.execute(_LOCK, {"k": f"webhooks.events:{org_id}:{mode}"})
    created = 0
    for event in events:
        if await _insert(conn, org_id, mode, event, listed=True):
            rows = await conn.execute(_FAN_OUT, {"event_id": event.id, "order_key": event.order_key,
                                                 "org_id": org_id, "mode": mode, "type": event.type})
            created += len(rows.all())
    if created:
        await conn.execute(_NOTIFY)
    return created


async def append_ping(conn: AsyncConnection, org_id: str, mode: str, endpoint_id: str, event: PublicEvent) -> str:
    """An unlisted event with one delivery, to `endpoint_id` only. Returns the delivery id."""
    await _insert(conn, org_id, mode, event, listed=False)
    delivery_id = (await conn.execute(_TO_ONE, {"endpoint_id": endpoint_id, "event_id": event.id})).scalar_one()
    await conn.execute(_NOTIFY)
    return delivery_id


async def _insert(conn: AsyncConnection, org_id: str, mode: str, event: PublicEvent, *, listed: bool) -> bool:
    row = (await conn.execute(_INSERT_EVENT, {
        "id": event.id, "org_id": org_id, "mode": mode, "type": event.type, "body": event.body(),
        "listed": listed, "created_at": event.created_at,
    })).first()
    return row is not None


async def feed(conn: AsyncConnection, org_id: str, mode: str, after: int, type: str | None, limit: int) -> list[Any]:
    """Up to limit + 1 events after seq `after`, oldest first."""
    params = {"org_id": org_id, "mode": mode, "after": after, "type": type, "n": limit + 1}
    return list((await conn.execute(_FEED, params)).all())


async def remember_targets(conn: AsyncConnection, targets: list[KnownTarget]) -> None:
    if targets:
        await conn.execute(_REMEMBER_TARGET, [
            {"target_id": t.target_id, "account_id": t.account_id, "tenant_id": t.tenant_id} for t in targets
        ])


async def known_target(conn: AsyncConnection, target_id: str) -> KnownTarget | None:
    row = (await conn.execute(_TARGET, {"t": target_id})).first()
    return KnownTarget(row.target_id, row.account_id, row.tenant_id) if row else None


async def prune(conn: AsyncConnection) -> int:
    deleted = 0
    for stmt in _PRUNE:
        deleted += (await conn.execute(stmt)).rowcount
    return deleted
