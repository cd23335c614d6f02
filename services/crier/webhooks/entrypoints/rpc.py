"""The request/reply API the gateway's /webhooks and /events routes call."""

from __future__ import annotations

from functools import partial

from crier.contracts import webhooks as api
from crier.kit.bus import Bus, rpc
from crier.webhooks.handlers.context import Context
from crier.webhooks.handlers.deliveries import list_deliveries, resend_delivery, send_ping
from crier.webhooks.handlers.endpoints import (
    create_endpoint,
    delete_endpoint,
    get_endpoint,
    list_endpoints,
    rotate_secret,
    update_endpoint,
)
from crier.webhooks.handlers.events import list_events

QUEUE = "webhooks"


async def serve(bus: Bus, ctx: Context) -> None:
    await rpc.serve_all(
        bus,
        [
            (api.WEBHOOKS_CREATE, api.EndpointCreate, partial(create_endpoint, ctx)),
            (api.WEBHOOKS_LIST, api.EndpointList, partial(list_endpoints, ctx)),
            (api.WEBHOOKS_GET, api.EndpointRef, partial(get_endpoint, ctx)),
            (api.WEBHOOKS_UPDATE, api.EndpointUpdate, partial(update_endpoint, ctx)),
            (api.WEBHOOKS_DELETE, api.EndpointRef, partial(delete_endpoint, ctx)),
            (api.WEBHOOKS_ROTATE_SECRET, api.EndpointRef, partial(rotate_secret, ctx)),
            (api.WEBHOOKS_TEST, api.EndpointRef, partial(send_ping, ctx)),
            (api.WEBHOOKS_DELIVERIES, api.DeliveryList, partial(list_deliveries, ctx)),
            (api.WEBHOOKS_RESEND, api.DeliveryResend, partial(resend_delivery, ctx)),
            (api.WEBHOOKS_EVENTS, api.EventList, partial(list_events, ctx)),
        ],
        queue=QUEUE,
    )
