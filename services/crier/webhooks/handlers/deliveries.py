"""The delivery log of an endpoint, resending a delivery, and the test ping."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crier.contracts.webhooks import Attempt, Delivery, DeliveryList, DeliveryPage, DeliveryResend, EndpointRef
from crier.kit.errors import NotFound
from crier.kit.pages import checked_limit
from crier.webhooks.adapters import deliveries, endpoints, events
from crier.webhooks.domain import catalog
from crier.webhooks.domain.delivery import OPEN
from crier.webhooks.handlers.context import Context


async def list_deliveries(ctx: Context, request: DeliveryList) -> DeliveryPage:
    limit = checked_limit(request.limit)
    async with ctx.uow.read() as conn:
        if await endpoints.get(conn, request.org_id, request.mode, request.endpoint_id) is None:
            raise NotFound.of("webhook endpoint", request.endpoint_id)
        page = await deliveries.page(conn, request.endpoint_id, request.cursor, request.status, limit)
        return DeliveryPage(data=await _with_attempts(conn, page.rows), next_cursor=page.next_cursor)


async def resend_delivery(ctx: Context, request: DeliveryResend) -> Delivery:
    """A new delivery of the same message (same `webhook-id`), with a fresh retry schedule. It is
    queued behind any open delivery for the same target, like a new event would be."""
    async with ctx.uow.begin() as tx:
        if await deliveries.get(tx.conn, request.org_id, request.mode, request.id) is None:
            raise NotFound.of("delivery", request.id)
        resent = await deliveries.resend(tx.conn, request.id)
        delivery = await _delivery(tx.conn, request.org_id, request.mode, resent)
    ctx.wake()
    return delivery


async def send_ping(ctx: Context, request: EndpointRef) -> Delivery:
    """Queue a `ping` to this endpoint only."""
    async with ctx.uow.begin() as tx:
        if await endpoints.get(tx.conn, request.org_id, request.mode, request.id) is None:
            raise NotFound.of("webhook endpoint", request.id)
        ping = catalog.ping(request.id, datetime.now(UTC))
        delivery_id = await events.append_ping(tx.conn, request.org_id, request.mode, request.id, ping)
        delivery = await _delivery(tx.conn, request.org_id, request.mode, delivery_id)
    ctx.wake()
    return delivery


async def _delivery(conn: AsyncConnection, org_id: str, mode: str, delivery_id: str) -> Delivery:
    return (await _with_attempts(conn, [await deliveries.get(conn, org_id, mode, delivery_id)]))[0]


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
            next_attempt_at=r.next_attempt_at if r.status in OPEN else None,
            resend_of=r.resend_of,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in rows
    ]
