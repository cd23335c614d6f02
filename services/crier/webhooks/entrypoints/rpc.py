"""The request/reply API the gateway's /webhooks and /events routes call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from crier.contracts import webhooks as api
from crier.kit.bus import Bus, rpc
from crier.webhooks.handlers import Context, deliveries, endpoints, events

QUEUE = "webhooks"


async def serve(bus: Bus, ctx: Context) -> None:
    routes: list[tuple[str, type, Callable[[Context, Any], Awaitable[Any]]]] = [
        (api.WEBHOOKS_CREATE, api.EndpointCreate, endpoints.create),
        (api.WEBHOOKS_LIST, api.EndpointList, endpoints.list_page),
        (api.WEBHOOKS_GET, api.EndpointRef, endpoints.get),
        (api.WEBHOOKS_UPDATE, api.EndpointUpdate, endpoints.update),
        (api.WEBHOOKS_DELETE, api.EndpointRef, endpoints.delete),
        (api.WEBHOOKS_ROTATE_SECRET, api.EndpointRef, endpoints.rotate_secret),
        (api.WEBHOOKS_TEST, api.EndpointRef, deliveries.test),
        (api.WEBHOOKS_DELIVERIES, api.DeliveryList, deliveries.list_page),
        (api.WEBHOOKS_RESEND, api.DeliveryResend, deliveries.resend),
        (api.WEBHOOKS_EVENTS, api.EventList, events.feed),
    ]
    for subject, request_type, handler in routes:
        await rpc.serve(bus, subject, request_type, _bound(ctx, handler), queue=QUEUE)


def _bound(ctx: Context, handler: Callable[[Context, Any], Awaitable[Any]]) -> Callable[[Any], Awaitable[Any]]:
    async def call(request: Any) -> Any:
        return await handler(ctx, request)

    return call
