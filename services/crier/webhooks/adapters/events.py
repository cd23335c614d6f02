"""Public events, the deliveries they fan out to, and the feed over them.

The feed's cursor is the event's `seq`. A reader must never see seq 11 before seq 10 commits,
or it would step past 10 for good; so events of one organization and mode are appended under a
transaction-scoped advisory lock, taken before the insert draws its seqs: seqs then commit in order.
Internal events arrive in batches; each batch is one transaction with set-based statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.kit.bus import inbox
from crier.webhooks.adapters.notify import announce
from crier.webhooks.adapters.tables import any_of, deliveries, events, targets
from crier.webhooks.domain.catalog import KnownTarget, PublicEvent
from crier.webhooks.domain.delivery import new_delivery_id, new_message_id

RETENTION = timedelta(days=30)

# Raw SQL: advisory locks have no Core form.
_LOCK = sa.text("""
    SELECT count(pg_advisory_xact_lock(hashtext(k)))
    FROM (SELECT k FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k) s  -- one order everywhere: no deadlock
""")
# Raw SQL: a bulk insert from unnest'ed arrays, one round trip for the whole batch.
_INSERT_EVENTS = sa.text("""
    INSERT INTO events (id, org_id, mode, type, body, listed, created_at, traceparent)
    SELECT u.id, u.org_id, u.mode, u.type, u.body, true, u.created_at, u.traceparent
    FROM unnest(CAST(:ids AS text[]), CAST(:orgs AS text[]), CAST(:modes AS text[]), CAST(:types AS text[]),
                CAST(:bodies AS bytea[]), CAST(:created AS timestamptz[]), CAST(:traces AS text[])) WITH ORDINALITY
         AS u(id, org_id, mode, type, body, created_at, traceparent, n)
    ORDER BY u.n
    ON CONFLICT (id) DO NOTHING RETURNING id
""")
# Raw SQL: a bulk insert from unnest'ed arrays joined to every subscribed endpoint. Its ids have the
# forms of domain.delivery's new_delivery_id and new_message_id, drawn once per row.
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


async def append(
    conn: AsyncConnection, scoped: Sequence[tuple[str, str, PublicEvent]], traces: Sequence[str | None] = ()
) -> int:
    """Store listed events, given as (org_id, mode, event) in order, and a pending delivery for
    every active subscribed endpoint; `traces` is each event's traceparent, in the same order.
    Returns how many deliveries were created."""
    if not scoped:
        return 0
    await conn.execute(_LOCK, {"keys": sorted({f"webhooks.events:{org}:{mode}" for org, mode, _ in scoped})})
    columns = {
        "ids": [e.id for _, _, e in scoped],
        "orgs": [o for o, _, _ in scoped],
        "modes": [m for _, m, _ in scoped],
        "types": [e.type for _, _, e in scoped],
    }
    bodies = {
        "bodies": [e.body() for _, _, e in scoped],
        "created": [e.created_at for _, _, e in scoped],
        "traces": list(traces) or [None] * len(scoped),
    }
    inserted = (await conn.execute(_INSERT_EVENTS, {**columns, **bodies})).scalars().all()
    if not inserted:
        return 0
    rows = await conn.execute(
        _FAN_OUT, {**columns, "keys": [e.order_key for _, _, e in scoped], "inserted": list(inserted)}
    )
    created = len(rows.all())
    if created:
        await announce(conn)
    return created


async def append_ping(conn: AsyncConnection, org_id: str, mode: str, endpoint_id: str, event: PublicEvent) -> str:
    """An unlisted event with one delivery, to `endpoint_id` only. Returns the delivery id."""
    await conn.execute(
        sa.insert(events).values(
            id=event.id,
            org_id=org_id,
            mode=mode,
            type=event.type,
            body=event.body(),
            listed=False,
            created_at=event.created_at,
        )
    )
    delivery_id = new_delivery_id()
    await conn.execute(
        sa.insert(deliveries).values(
            id=delivery_id,
            endpoint_id=endpoint_id,
            event_id=event.id,
            message_id=new_message_id(),
            status="pending",
            next_attempt_at=sa.func.now(),
            created_at=sa.func.now(),
            updated_at=sa.func.now(),
        )
    )
    await announce(conn)
    return delivery_id


async def feed(
    conn: AsyncConnection, org_id: str, mode: str, after_seq: int, event_type: str | None, limit: int
) -> list[Any]:
    """Up to limit + 1 listed events after seq `after_seq`, oldest first."""
    conditions = [events.c.org_id == org_id, events.c.mode == mode, events.c.listed, events.c.seq > after_seq]
    if event_type is not None:
        conditions.append(events.c.type == event_type)
    stmt = sa.select(events.c.seq, events.c.body).where(*conditions).order_by(events.c.seq).limit(limit + 1)
    return list((await conn.execute(stmt)).all())


async def remember_targets(conn: AsyncConnection, known: list[KnownTarget]) -> None:
    if known:
        await conn.execute(
            pg_insert(targets).on_conflict_do_nothing(index_elements=[targets.c.target_id]),
            [{"target_id": t.target_id, "account_id": t.account_id, "tenant_id": t.tenant_id} for t in known],
        )


async def known_targets(conn: AsyncConnection, target_ids: list[str]) -> dict[str, KnownTarget]:
    if not target_ids:
        return {}
    stmt = sa.select(targets.c.target_id, targets.c.account_id, targets.c.tenant_id).where(
        any_of(targets.c.target_id, target_ids)
    )
    rows = (await conn.execute(stmt)).all()
    return {r.target_id: KnownTarget(r.target_id, r.account_id, r.tenant_id) for r in rows}


async def prune(conn: AsyncConnection) -> int:
    """Forget what is past retention: events (their deliveries go by cascade), the inbox entries of
    internal events JetStream no longer holds, and what targets' creation events told us."""
    deleted = (await conn.execute(sa.delete(events).where(events.c.stored_at < sa.func.now() - RETENTION))).rowcount
    deleted += await inbox.purge(conn, RETENTION + timedelta(days=1))
    old_targets = sa.delete(targets).where(targets.c.stored_at < sa.func.now() - 2 * RETENTION)
    return int(deleted + (await conn.execute(old_targets)).rowcount)
