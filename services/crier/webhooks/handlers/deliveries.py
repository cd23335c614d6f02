"""The delivery log of an endpoint, and resending a delivery."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crier.contracts.webhooks import Attempt, Delivery, DeliveryList, DeliveryPage, DeliveryResend, EndpointRef
from crier.webhooks.adapters import deliveries, endpoints
from crier.webhooks.handlers import Context
from crier.webhooks.handlers.endpoints import send_test
from crier.webhooks.handlers.errors import check_limit, cursor_position, not_found


async def list_page(ctx: Context, request: DeliveryList) -> DeliveryPage:
    check_limit(request.limit)
    before = cursor_position(request.cursor)
    async with ctx.engine.connect() as conn:
        if await endpoints.get(conn, request.org_id, request.mode, request.endpoint_id) is None:
            raise not_found("webhook endpoint")
        rows = await deliveries.page(conn, request.endpoint_id, before, request.status, request.limit)
        more = len(rows) > request.limit
        rows = rows[: request.limit]
        data = await _with_attempts(conn, rows)
    return DeliveryPage(data=data, next_cursor=str(rows[-1].seq) if more else None)


async def get(ctx: Context, org_id: str, mode: str, delivery_id: str) -> Delivery:
    async with ctx.engine.connect() as conn:
        row = await deliveries.get(conn, org_id, mode, delivery_id)
        if row is None:
            raise not_found("delivery")
        return (await _with_attempts(conn, [row]))[0]


async def resend(ctx: Context, request: DeliveryResend) -> Delivery:
    """A new delivery of the same message (same `webhook-id`), with a fresh retry schedule. It is
    queued behind any open delivery for the same target, like a new event would be."""
    async with ctx.engine.begin() as conn:
        if await deliveries.get(conn, request.org_id, request.mode, request.id) is None:
            raise not_found("delivery")
        new_id = await deliveries.resend(conn, request.id)
    ctx.wake()
    return await get(ctx, request.org_id, request.mode, new_id)


async def test(ctx: Context, request: EndpointRef) -> Delivery:
    return await get(ctx, request.org_id, request.mode, await send_test(ctx, request))


async def _with_attempts(conn: AsyncConnection, rows: list[Any]) -> list[Delivery]:
    attempts = await deliveries.attempts_of(conn, [r.id for r in rows])
    return [
        Delivery(
            id=r.id,
            endpoint_id=r.endpoint_id,
            message_id=r.message_id,
            event_id=r.event_id,
            event_type=r.event_type,
            status=r.status,
            attempts=[
                Attempt(
                    attempted_at=a.attempted_at,
                    http_status=a.http_status,
                    latency_ms=a.latency_ms,
                    response_excerpt=a.response_excerpt,
                    error=a.error,
                )
                for a in attempts[r.id]
            ],
            next_attempt_at=r.next_attempt_at if r.status in ("pending", "retrying") else None,
            resend_of=r.resend_of,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in rows
    ]
