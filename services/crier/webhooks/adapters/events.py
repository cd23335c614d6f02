"""Public events, the deliveries they fan out to, and the feed over them.

The feed's cursor is the event's `seq`. A reader must never see seq 11 before seq 10 commits,
or it would step past 10 for good; so events of one organization and mode are appended under a
transaction-scoped advisory lock, taken before the insert draws its seqs: seqs then commit in order.
Internal events arrive in batches; each batch is one transaction with set-based statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.webhooks.domain.catalog import KnownTarget, PublicEvent

CHANNEL = "webhooks_due"
RETENTION_DAYS = 30

_LOCK = sa.text("""
    SELECT count(pg_advisory_xact_lock(hashtext(k)))
    FROM (SELECT k FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k) s  -- one order everywhere: no deadlock
""")
_CLAIM = sa.text("""
    INSERT INTO inbox (consumer, event_id) SELECT :consumer, unnest(CAST(:ids AS text[]))
    ON CONFLICT DO NOTHING RETURNING event_id
""")
_INSERT_EVENTS = sa.text("""
    INSERT INTO events (id, org_id, mode, type, body, listed, created_at)
    SELECT u.id, u.org_id, u.mode, u.type, u.body, true, u.created_at
    FROM unnest(CAST(:ids AS text[]), CAST(:orgs AS text[]), CAST(:modes AS text[]), CAST(:types AS text[]),
                CAST(:bodies AS bytea[]), CAST(:created AS timestamptz[])) WITH ORDINALITY
         AS u(id, org_id, mode, type, body, created_at, n)
    ORDER BY u.n
    ON CONFLICT (id) DO NOTHING RETURNING id
""")
# Seqs are drawn in the ORDER BY's order: the deliveries of one order key queue up in event order.
_FAN_OUT = sa.text("""
    INSERT INTO deliveries (id, endpoint_id, event_id, message_id, order_key, status, next_attempt_at,
                            created_at, updated_at)
    SELECT 'dlv_' || replace(gen_random_uuid()::text, '-', ''), e.id, u.id,
           'msg_' || replace(gen_random_uuid()::text, '-', ''), u.order_key, 'pending',
           -- behind a delivery of the same key that waits for a retry, wait as long
           greatest(now(), (SELECT max(p.next_attempt_at) FROM deliveries p
                            WHERE p.endpoint_id = e.id AND p.order_key = u.order_key
                              AND p.status IN ('pending', 'retrying'))),
           now(), now()
    FROM unnest(CAST(:ids AS text[]), CAST(:orgs AS text[]), CAST(:modes AS text[]), CAST(:types AS text[]),
                CAST(:keys AS text[])) WITH ORDINALITY AS u(id, org_id, mode, type, order_key, n)
    JOIN endpoints e ON e.org_id = u.org_id AND e.mode = u.mode AND e.is_active AND e.events && ARRAY[u.type, '*']
    WHERE u.id = ANY(CAST(:inserted AS text[]))
    ORDER BY u.n, e.seq
    RETURNING id
""")
_INSERT_PING = sa.text("""
    INSERT INTO events (id, org_id, mode, type, body, listed, created_at)
    VALUES (:id, :org_id, :mode, :type, :body, false, :created_at)
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
_TARGETS = sa.text("""
    SELECT target_id, account_id, tenant_id FROM targets WHERE target_id = ANY(CAST(:ids AS text[]))
""")
_PRUNE = (
    sa.text(f"DELETE FROM events WHERE stored_at < now() - interval '{RETENTION_DAYS} days'"),
    # JetStream keeps events 30 days, so an older inbox entry can never be needed again.
    sa.text(f"DELETE FROM inbox WHERE processed_at < now() - interval '{RETENTION_DAYS + 1} days'"),
    sa.text(f"DELETE FROM targets WHERE stored_at < now() - interval '{2 * RETENTION_DAYS} days'"),
)


async def claim_new(conn: AsyncConnection, consumer: str, event_ids: list[str]) -> set[str]:
    """kit's inbox, claimed for a whole batch: the ids this consumer has not handled before."""
    rows = await conn.execute(_CLAIM, {"consumer": consumer, "ids": event_ids})
    return set(rows.scalars().all())


async def append(conn: AsyncConnection, scoped: Sequence[tuple[str, str, PublicEvent]]) -> int:
    """Store listed events, given as (org_id, mode, event) in order, and a pending delivery for
    every active subscribed endpoint. Returns how many deliveries were created."""
    if not scoped:
        return 0
    await conn.execute(_LOCK, {"keys": sorted({f"webhooks.events:{org}:{mode}" for org, mode, _ in scoped})})
    columns = {
        "ids": [e.id for _, _, e in scoped],
        "orgs": [o for o, _, _ in scoped],
        "modes": [m for _, m, _ in scoped],
        "types": [e.type for _, _, e in scoped],
    }
    inserted = (
        (
            await conn.execute(
                _INSERT_EVENTS,
                {
                    **columns,
                    "bodies": [e.body() for _, _, e in scoped],
                    "created": [e.created_at for _, _, e in scoped],
                },
            )
        )
        .scalars()
        .all()
    )
    if not inserted:
        return 0
    rows = await conn.execute(
        _FAN_OUT, {**columns, "keys": [e.order_key for _, _, e in scoped], "inserted": list(inserted)}
    )
    created = len(rows.all())
    if created:
        await conn.execute(_NOTIFY)
    return created


async def append_ping(conn: AsyncConnection, org_id: str, mode: str, endpoint_id: str, event: PublicEvent) -> str:
    """An unlisted event with one delivery, to `endpoint_id` only. Returns the delivery id."""
    await conn.execute(
        _INSERT_PING,
        {
            "id": event.id,
            "org_id": org_id,
            "mode": mode,
            "type": event.type,
            "body": event.body(),
            "created_at": event.created_at,
        },
    )
    delivery_id = (await conn.execute(_TO_ONE, {"endpoint_id": endpoint_id, "event_id": event.id})).scalar_one()
    await conn.execute(_NOTIFY)
    return delivery_id


async def feed(conn: AsyncConnection, org_id: str, mode: str, after: int, type: str | None, limit: int) -> list[Any]:
    """Up to limit + 1 events after seq `after`, oldest first."""
    params = {"org_id": org_id, "mode": mode, "after": after, "type": type, "n": limit + 1}
    return list((await conn.execute(_FEED, params)).all())


async def remember_targets(conn: AsyncConnection, targets: list[KnownTarget]) -> None:
    if targets:
        await conn.execute(
            _REMEMBER_TARGET,
            [{"target_id": t.target_id, "account_id": t.account_id, "tenant_id": t.tenant_id} for t in targets],
        )


async def known_targets(conn: AsyncConnection, target_ids: list[str]) -> dict[str, KnownTarget]:
    if not target_ids:
        return {}
    rows = (await conn.execute(_TARGETS, {"ids": target_ids})).all()
    return {r.target_id: KnownTarget(r.target_id, r.account_id, r.tenant_id) for r in rows}


async def prune(conn: AsyncConnection) -> int:
    deleted = 0
    for stmt in _PRUNE:
        deleted += (await conn.execute(stmt)).rowcount
    return deleted
