"""The delivery log: an endpoint's deliveries with their attempts, and resends."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.kit.pages import Page, after_cursor, newest_first, page_of
from crier.webhooks.adapters.notify import announce
from crier.webhooks.adapters.tables import any_of, attempts, deliveries, endpoints, events
from crier.webhooks.domain.delivery import new_delivery_id

_LOG = sa.select(
    deliveries.c.id,
    deliveries.c.endpoint_id,
    deliveries.c.message_id,
    deliveries.c.event_id,
    events.c.type.label("event_type"),
    deliveries.c.status,
    deliveries.c.next_attempt_at,
    deliveries.c.resend_of,
    deliveries.c.created_at,
    deliveries.c.updated_at,
).join_from(deliveries, events, events.c.id == deliveries.c.event_id)


async def page(
    conn: AsyncConnection, endpoint_id: str, cursor: str | None, status: str | None, limit: int
) -> Page[Any]:
    """Newest first, `limit` rows after `cursor`, of one status if given."""
    conditions = [deliveries.c.endpoint_id == endpoint_id, *after_cursor(deliveries, cursor)]
    if status is not None:
        conditions.append(deliveries.c.status == status)
    stmt = _LOG.where(*conditions).order_by(*newest_first(deliveries)).limit(limit + 1)
    return page_of(list((await conn.execute(stmt)).all()), limit)


async def get(conn: AsyncConnection, org_id: str, mode: str, delivery_id: str) -> Any | None:
    stmt = _LOG.join(endpoints, endpoints.c.id == deliveries.c.endpoint_id).where(
        deliveries.c.id == delivery_id, endpoints.c.org_id == org_id, endpoints.c.mode == mode
    )
    return (await conn.execute(stmt)).first()


async def attempts_of(conn: AsyncConnection, delivery_ids: list[str]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {i: [] for i in delivery_ids}
    stmt = sa.select(attempts).where(any_of(attempts.c.delivery_id, delivery_ids)).order_by(attempts.c.id)
    for row in (await conn.execute(stmt)).all():
        out[row.delivery_id].append(row)
    return out


async def resend(conn: AsyncConnection, delivery_id: str) -> str:
    """A new pending delivery of the same message to the same endpoint, in the same order queue."""
    new_id = new_delivery_id()
    original = sa.select(
        sa.literal(new_id),
        deliveries.c.endpoint_id,
        deliveries.c.event_id,
        deliveries.c.message_id,
        deliveries.c.order_key,
        sa.literal("pending"),
        sa.func.now(),
        deliveries.c.id,
        sa.func.now(),
        sa.func.now(),
    ).where(deliveries.c.id == delivery_id)
    columns = [
        "id",
        "endpoint_id",
        "event_id",
        "message_id",
        "order_key",
        "status",
        "next_attempt_at",
        "resend_of",
        "created_at",
        "updated_at",
    ]
    await conn.execute(sa.insert(deliveries).from_select(columns, original))
    await announce(conn)
    return new_id
