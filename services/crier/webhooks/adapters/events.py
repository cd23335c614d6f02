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
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.kit.bus import inbox
from crier.kit.direct_sql import DirectStatement, fetch
from crier.webhooks.adapters.notify import WAKE, announce
from crier.webhooks.adapters.tables import deliveries, events, targets
from crier.webhooks.domain.catalog import KnownTarget, PublicEvent
from crier.webhooks.domain.delivery import new_delivery_id, new_message_id

RETENTION = timedelta(days=30)

# The intake's statements run for every batch of internal events: on the driver directly
# (`kit.direct_sql`). Raw SQL: advisory locks have no Core form.
_LOCK = DirectStatement("""
    SELECT count(pg_advisory_xact_lock(hashtext(k)))
    FROM (SELECT k FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k) s  -- one order everywhere: no deadlock
""")
# Raw SQL, one round trip for the whole batch: the events inserted from unnest'ed arrays, and a
# pending delivery for each inserted event and every subscribed endpoint. The deliveries' ids have
# the forms of domain.delivery's new_delivery_id and new_message_id, drawn once per row. Seqs are
# drawn in the ORDER BY's order: the deliveries of one order key queue up in event order. The
# dispatchers are woken (`notify.announce`) by the same statement when it created any.
_APPEND = DirectStatement(f"""
    WITH inserted AS (
    INSERT INTO events (id, org_id, mode, type, body, listed, created_at, traceparent)
    SELECT u.id, u.org_id, u.mode, u.type, u.body, true, u.created_at, u.traceparent
    FROM unnest(CAST(:ids AS text[]), CAST(:orgs AS text[]), CAST(:modes AS text[]), CAST(:types AS text[]),
                CAST(:bodies AS bytea[]), CAST(:created AS timestamptz[]), CAST(:traces AS text[])) WITH ORDINALITY
         AS u(id, org_id, mode, type, body, created_at, traceparent, n)
    ORDER BY u.n
    ON CONFLICT (id) DO NOTHING RETURNING id
    ), created AS (
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
    WHERE u.id IN (SELECT id FROM inserted)
    ORDER BY u.n, e.seq
    RETURNING id
    )
    SELECT n, CASE WHEN n > 0 THEN {WAKE} END AS woken FROM (SELECT count(*) AS n FROM created) c
""")
# A batch's first statement: its internal events claimed in the inbox, the targets the fresh post
# events name remembered, and the accounts of the targets the batch's events are about (those just
# remembered included). Claimed ids come as ('claimed', id) rows, targets as ('known', …) rows.
_CLAIM_AND_KNOW = DirectStatement(f"""
    WITH claimed AS ({inbox.CLAIM}), remembered AS (
    INSERT INTO targets (target_id, account_id, tenant_id)
    SELECT r.target_id, r.account_id, r.tenant_id
    FROM unnest(CAST(:r_event_ids AS text[]), CAST(:r_target_ids AS text[]), CAST(:r_accounts AS text[]),
                CAST(:r_tenants AS text[])) AS r(event_id, target_id, account_id, tenant_id)
    WHERE r.event_id IN (SELECT event_id FROM claimed)
    ON CONFLICT (target_id) DO NOTHING RETURNING target_id, account_id, tenant_id
    )
    SELECT 'claimed' AS kind, event_id AS id, NULL AS account_id, NULL AS tenant_id FROM claimed
    UNION ALL
    SELECT 'known', target_id, account_id, tenant_id FROM targets WHERE target_id = ANY(CAST(:wanted AS text[]))
    UNION ALL
    SELECT 'known', target_id, account_id, tenant_id FROM remembered WHERE target_id = ANY(CAST(:wanted AS text[]))
""")


async def append(
    conn: AsyncConnection, scoped: Sequence[tuple[str, str, PublicEvent]], traces: Sequence[str | None] = ()
) -> int:
    """Store listed events, given as (org_id, mode, event) in order, and a pending delivery for
    every active subscribed endpoint; `traces` is each event's traceparent, in the same order.
    Returns how many deliveries were created."""
    if not scoped:
        return 0
    await fetch(conn, _LOCK, {"keys": sorted({f"webhooks.events:{org}:{mode}" for org, mode, _ in scoped})})
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
    (row,) = await fetch(conn, _APPEND, {**columns, **bodies, "keys": [e.order_key for _, _, e in scoped]})
    return int(row["n"])


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


async def claim_and_know(
    conn: AsyncConnection,
    consumer: str,
    event_ids: Sequence[str],
    remember: Sequence[tuple[str, KnownTarget]],
    wanted: Sequence[str],
) -> tuple[set[str], dict[str, KnownTarget]]:
    """The ids among `event_ids` not handled before, claimed in the caller's transaction; the
    targets in `remember` (each with the id of the event naming it) remembered when their event is
    among those; and what is known of the `wanted` targets, those just remembered included."""
    params = {
        "consumer": consumer,
        "ids": list(event_ids),
        "r_event_ids": [e for e, _ in remember],
        "r_target_ids": [t.target_id for _, t in remember],
        "r_accounts": [t.account_id for _, t in remember],
        "r_tenants": [t.tenant_id for _, t in remember],
        "wanted": list(wanted),
    }
    rows = await fetch(conn, _CLAIM_AND_KNOW, params)
    claimed = {r["id"] for r in rows if r["kind"] == "claimed"}
    known = {r["id"]: KnownTarget(r["id"], r["account_id"], r["tenant_id"]) for r in rows if r["kind"] == "known"}
    return claimed, known


async def prune(conn: AsyncConnection) -> int:
    """Forget what is past retention: events (their deliveries go by cascade), the inbox entries of
    internal events JetStream no longer holds, and what targets' creation events told us."""
    deleted = (await conn.execute(sa.delete(events).where(events.c.stored_at < sa.func.now() - RETENTION))).rowcount
    deleted += await inbox.purge(conn, RETENTION + timedelta(days=1))
    old_targets = sa.delete(targets).where(targets.c.stored_at < sa.func.now() - 2 * RETENTION)
    return int(deleted + (await conn.execute(old_targets)).rowcount)
