"""Webhook endpoints with their delivery log: which are failing and for how long, which were
disabled, and resending a delivery. The webhooks service owns all of it; the console asks it over
RPC as the API's /webhooks routes do, scoped to the operator's organization and mode."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, get_args

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from crier.contracts import webhooks as api
from crier.contracts.common import one_of
from crier.gateway.entrypoints.http.connect_support import ask
from crier.gateway.entrypoints.http.console.pages import PREFIX, render
from crier.gateway.entrypoints.http.console.session import current
from crier.gateway.entrypoints.http.errors import ApiError
from crier.gateway.entrypoints.http.state import gateway_of

# Deliveries read to measure an endpoint's failure streak on the list.
STREAK_WINDOW = 50
DELIVERY_STATUSES: tuple[api.DeliveryStatus, ...] = get_args(api.DeliveryStatus)


async def _ask(request: Request[Any, Any, Any], subject: str, message: Any, reply: type[Any]) -> Any:
    return await ask(gateway_of(request), subject, message, reply, service="webhooks")


def failure_streak(deliveries: Sequence[api.Delivery]) -> int:
    """Failed or retrying deliveries since the last one that arrived (newest first); a delivery not
    tried yet neither breaks nor extends it."""
    streak = 0
    for delivery in deliveries:
        if delivery.status == "delivered":
            break
        if delivery.status in ("failed", "retrying"):
            streak += 1
    return streak


@get("/webhooks", name="console_webhooks")
async def list_endpoints(request: Request[Any, Any, Any], cursor: FromQuery[str | None] = None) -> Response[str]:
    who = current(request).principal
    try:
        page = await _ask(
            request,
            api.WEBHOOKS_LIST,
            api.EndpointList(org_id=who.org_id, mode=who.mode, cursor=cursor),
            api.EndpointPage,
        )
        rows = []
        for endpoint in page.data:
            recent = await _ask(
                request,
                api.WEBHOOKS_DELIVERIES,
                api.DeliveryList(org_id=who.org_id, mode=who.mode, endpoint_id=endpoint.id, limit=STREAK_WINDOW),
                api.DeliveryPage,
            )
            rows.append((endpoint, failure_streak(recent.data), recent.data[0] if recent.data else None))
    except ApiError as away:
        return render(request, "webhooks.html", away.status, rows=[], unavailable=away.message, next_cursor=None)
    return render(request, "webhooks.html", rows=rows, unavailable=None, next_cursor=page.next_cursor)


@get("/webhooks/{endpoint_id:str}", name="console_webhook")
async def show_endpoint(
    request: Request[Any, Any, Any],
    endpoint_id: FromPath[str],
    status: FromQuery[str | None] = None,
    cursor: FromQuery[str | None] = None,
) -> Response[str]:
    who = current(request).principal
    ref = api.EndpointRef(org_id=who.org_id, mode=who.mode, id=endpoint_id)
    endpoint = await _ask(request, api.WEBHOOKS_GET, ref, api.Endpoint)
    wanted = one_of(status or "", DELIVERY_STATUSES)
    deliveries = await _ask(
        request,
        api.WEBHOOKS_DELIVERIES,
        api.DeliveryList(org_id=who.org_id, mode=who.mode, endpoint_id=endpoint_id, cursor=cursor, status=wanted),
        api.DeliveryPage,
    )
    return render(
        request,
        "webhook.html",
        endpoint=endpoint,
        deliveries=deliveries.data,
        next_cursor=deliveries.next_cursor,
        status=wanted or "",
        statuses=DELIVERY_STATUSES,
        streak=failure_streak(deliveries.data) if wanted is None and cursor is None else None,
        resent=request.query_params.get("resent"),
    )


@post("/webhooks/deliveries/{delivery_id:str}/resend", name="console_webhook_resend")
async def resend(request: Request[Any, Any, Any], delivery_id: FromPath[str]) -> Response[Any]:
    operator = current(request)
    who = operator.principal
    if not who.can("webhooks"):
        return render(request, "error.html", 403, title="Not allowed", message="This key lacks the 'webhooks' scope.")
    delivery = await _ask(
        request, api.WEBHOOKS_RESEND, api.DeliveryResend(org_id=who.org_id, mode=who.mode, id=delivery_id), api.Delivery
    )
    return Redirect(f"{PREFIX}/webhooks/{delivery.endpoint_id}?resent={delivery.id}", status_code=303)


@post("/webhooks/{endpoint_id:str}/enable", name="console_webhook_enable")
async def enable(request: Request[Any, Any, Any], endpoint_id: FromPath[str]) -> Response[Any]:
    """A disabled endpoint takes deliveries again (what it missed meanwhile is in its log to resend)."""
    who = current(request).principal
    if not who.can("webhooks"):
        return render(request, "error.html", 403, title="Not allowed", message="This key lacks the 'webhooks' scope.")
    change = api.EndpointUpdate(org_id=who.org_id, mode=who.mode, id=endpoint_id, is_active=True)
    await _ask(request, api.WEBHOOKS_UPDATE, change, api.Endpoint)
    return Redirect(f"{PREFIX}/webhooks/{endpoint_id}", status_code=303)
