"""/api/v1/webhooks and /api/v1/events: the webhook dispatcher's API, forwarded over NATS.

The dispatcher owns endpoints, deliveries and the event feed; this layer authenticates, scopes
every call to the caller's organization and mode, validates the request shape, and turns the
dispatcher's errors into API errors.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from crier.contracts import webhooks as api
from crier.gateway.entrypoints.http.auth import principal_of, requires
from crier.gateway.entrypoints.http.connect_support import ask
from crier.gateway.entrypoints.http.errors import documented
from crier.gateway.entrypoints.http.state import gateway_of
from crier.kit.pages import checked_limit

Url = Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
Description = Annotated[str, msgspec.Meta(max_length=500)]
EventTypes = Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]], msgspec.Meta(min_length=1)]


class WebhookCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: Url
    events: EventTypes
    description: Description = ""


class WebhookUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: Url | None = None
    events: EventTypes | None = None
    description: Description | None = None
    is_active: bool | None = None


async def _ask(request: Request[Any, Any, Any], subject: str, message: Any, reply: type[Any]) -> Any:
    return await ask(gateway_of(request), subject, message, reply, service="webhooks")


class WebhookController(Controller):
    path = "/api/v1/webhooks"
    tags = ["webhooks"]
    opt = requires("webhooks")

    @post(
        "/",
        operation_id="createWebhook",
        status_code=201,
        responses=documented(400, 413, 503),
        summary="Register an endpoint; its signing secret is shown only here",
    )
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[WebhookCreate]
    ) -> Response[api.EndpointCreated]:
        who = principal_of(request)
        created = await _ask(
            request,
            api.WEBHOOKS_CREATE,
            api.EndpointCreate(
                org_id=who.org_id, mode=who.mode, url=data.url, events=data.events, description=data.description
            ),
            api.EndpointCreated,
        )
        return Response(created, status_code=201)

    @get("/", operation_id="listWebhooks", responses=documented(503), summary="List endpoints, newest first")
    async def list_endpoints(
        self, request: Request[Any, Any, Any], limit: FromQuery[int | None] = None, cursor: FromQuery[str | None] = None
    ) -> api.EndpointPage:
        who = principal_of(request)
        return await _ask(
            request,
            api.WEBHOOKS_LIST,
            api.EndpointList(org_id=who.org_id, mode=who.mode, limit=checked_limit(limit), cursor=cursor),
            api.EndpointPage,
        )

    @get("/{webhook_id:str}", operation_id="getWebhook", responses=documented(404, 503), summary="One endpoint")
    async def get_endpoint(self, request: Request[Any, Any, Any], webhook_id: FromPath[str]) -> api.Endpoint:
        who = principal_of(request)
        return await _ask(
            request, api.WEBHOOKS_GET, api.EndpointRef(org_id=who.org_id, mode=who.mode, id=webhook_id), api.Endpoint
        )

    @patch(
        "/{webhook_id:str}",
        operation_id="updateWebhook",
        responses=documented(400, 404, 503),
        summary="Change url, events, description or is_active",
    )
    async def update(
        self, request: Request[Any, Any, Any], webhook_id: FromPath[str], data: JSONBody[WebhookUpdate]
    ) -> api.Endpoint:
        who = principal_of(request)
        return await _ask(
            request,
            api.WEBHOOKS_UPDATE,
            api.EndpointUpdate(
                org_id=who.org_id,
                mode=who.mode,
                id=webhook_id,
                url=data.url,
                events=data.events,
                description=data.description,
                is_active=data.is_active,
            ),
            api.Endpoint,
        )

    @delete(
        "/{webhook_id:str}",
        operation_id="deleteWebhook",
        status_code=200,
        responses=documented(404, 503),
        summary="Delete an endpoint; nothing more is delivered to it",
    )
    async def delete_endpoint(self, request: Request[Any, Any, Any], webhook_id: FromPath[str]) -> api.EndpointDeleted:
        who = principal_of(request)
        return await _ask(
            request,
            api.WEBHOOKS_DELETE,
            api.EndpointRef(org_id=who.org_id, mode=who.mode, id=webhook_id),
            api.EndpointDeleted,
        )

    @post(
        "/{webhook_id:str}/rotate-secret",
        operation_id="rotateWebhookSecret",
        status_code=200,
        responses=documented(404, 503),
        summary="A new signing secret; the old one also signs for 24 hours",
    )
    async def rotate(self, request: Request[Any, Any, Any], webhook_id: FromPath[str]) -> api.SecretRotated:
        who = principal_of(request)
        return await _ask(
            request,
            api.WEBHOOKS_ROTATE_SECRET,
            api.EndpointRef(org_id=who.org_id, mode=who.mode, id=webhook_id),
            api.SecretRotated,
        )

    @post(
        "/{webhook_id:str}/test",
        operation_id="testWebhook",
        status_code=202,
        responses=documented(404, 503),
        summary="Send a ping event to this endpoint",
    )
    async def test(self, request: Request[Any, Any, Any], webhook_id: FromPath[str]) -> Response[api.Delivery]:
        who = principal_of(request)
        delivery = await _ask(
            request, api.WEBHOOKS_TEST, api.EndpointRef(org_id=who.org_id, mode=who.mode, id=webhook_id), api.Delivery
        )
        return Response(delivery, status_code=202)

    @get(
        "/{webhook_id:str}/deliveries",
        operation_id="listWebhookDeliveries",
        responses=documented(404, 503),
        summary="The endpoint's deliveries with every attempt, newest first",
    )
    async def deliveries(
        self,
        request: Request[Any, Any, Any],
        webhook_id: FromPath[str],
        limit: FromQuery[int | None] = None,
        cursor: FromQuery[str | None] = None,
        status: Annotated[api.DeliveryStatus | None, QueryParameter(required=False)] = None,
    ) -> api.DeliveryPage:
        who = principal_of(request)
        return await _ask(
            request,
            api.WEBHOOKS_DELIVERIES,
            api.DeliveryList(
                org_id=who.org_id,
                mode=who.mode,
                endpoint_id=webhook_id,
                limit=checked_limit(limit),
                cursor=cursor,
                status=status,
            ),
            api.DeliveryPage,
        )

    @post(
        "/deliveries/{delivery_id:str}/resend",
        operation_id="resendWebhookDelivery",
        status_code=202,
        responses=documented(404, 503),
        summary="Deliver the same message again (same webhook-id)",
    )
    async def resend(self, request: Request[Any, Any, Any], delivery_id: FromPath[str]) -> Response[api.Delivery]:
        who = principal_of(request)
        delivery = await _ask(
            request,
            api.WEBHOOKS_RESEND,
            api.DeliveryResend(org_id=who.org_id, mode=who.mode, id=delivery_id),
            api.Delivery,
        )
        return Response(delivery, status_code=202)


class EventController(Controller):
    path = "/api/v1/events"
    tags = ["events"]
    opt = requires("view")

    @get(
        "/",
        operation_id="listEvents",
        responses=documented(503),
        summary="Every public event, oldest first after a cursor, kept 30 days",
    )
    async def feed(
        self,
        request: Request[Any, Any, Any],
        after: FromQuery[str | None] = None,
        event_type: Annotated[str | None, QueryParameter(name="type", required=False, max_length=64)] = None,
        limit: FromQuery[int | None] = None,
    ) -> api.EventPage:
        who = principal_of(request)
        return await _ask(
            request,
            api.WEBHOOKS_EVENTS,
            api.EventList(org_id=who.org_id, mode=who.mode, after=after, type=event_type, limit=checked_limit(limit)),
            api.EventPage,
        )
