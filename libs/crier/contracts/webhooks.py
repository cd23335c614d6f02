"""The webhook dispatcher's request/reply API (`rpc.webhooks.<op>`), used by the gateway's
`/webhooks` and `/events` routes.

Every request names the organization and mode it acts for; the dispatcher scopes every read and
write by them, so an id from another organization or mode answers 404 `not_found`, exactly like an
id that never existed. Failures come back as `RpcError`s: 404 `not_found`, 422 `validation_error`
(details `{"fields": [{"field", "code", "message"}]}`), 422 `url_not_allowed` (the URL's scheme or
resolved address is refused by the SSRF guard; details `{"field": "url", "reason"}`), 422
`invalid_cursor`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from crier.contracts.common import Mode

DeliveryStatus = Literal["pending", "retrying", "delivered", "failed"]

WEBHOOKS_CREATE = "rpc.webhooks.create"
WEBHOOKS_LIST = "rpc.webhooks.list"
WEBHOOKS_GET = "rpc.webhooks.get"
WEBHOOKS_UPDATE = "rpc.webhooks.update"
WEBHOOKS_DELETE = "rpc.webhooks.delete"
WEBHOOKS_ROTATE_SECRET = "rpc.webhooks.rotate_secret"
WEBHOOKS_TEST = "rpc.webhooks.test"
WEBHOOKS_DELIVERIES = "rpc.webhooks.deliveries"
WEBHOOKS_RESEND = "rpc.webhooks.resend"
WEBHOOKS_EVENTS = "rpc.webhooks.events"


class Scoped(msgspec.Struct, kw_only=True, frozen=True):
    org_id: str
    mode: Mode


# Requests


class EndpointCreate(Scoped, kw_only=True, frozen=True):
    url: str
    # Public event types (see EVENT_TYPES) or "*" for every one of them.
    events: list[str]
    description: str = ""


class EndpointList(Scoped, kw_only=True, frozen=True):
    limit: int = 25
    cursor: str | None = None


class EndpointRef(Scoped, kw_only=True, frozen=True):
    """get, delete, rotate_secret and test name one endpoint."""

    id: str


class EndpointUpdate(Scoped, kw_only=True, frozen=True):
    """Only the fields given change. Setting is_active back to true clears disabled_reason."""

    id: str
    url: str | None = None
    events: list[str] | None = None
    description: str | None = None
    is_active: bool | None = None


class DeliveryList(Scoped, kw_only=True, frozen=True):
    """An endpoint's deliveries, newest first."""

    endpoint_id: str
    limit: int = 25
    cursor: str | None = None
    status: DeliveryStatus | None = None


class DeliveryResend(Scoped, kw_only=True, frozen=True):
    id: str


class EventList(Scoped, kw_only=True, frozen=True):
    """The feed, oldest first from `after` (None: from the oldest kept event)."""

    after: str | None = None
    type: str | None = None
    limit: int = 25


# Replies


class Endpoint(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    url: str
    events: list[str]
    description: str
    is_active: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime


class EndpointCreated(Endpoint, kw_only=True, frozen=True):
    """The only reply that carries the signing secret."""

    signing_secret: str


class EndpointPage(msgspec.Struct, kw_only=True, frozen=True):
    data: list[Endpoint]
    next_cursor: str | None


class EndpointDeleted(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    deleted: bool = True


class SecretRotated(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    signing_secret: str
    # Until then deliveries carry a signature with the previous secret too.
    previous_secret_expires_at: datetime


class Attempt(msgspec.Struct, kw_only=True, frozen=True):
    attempted_at: datetime
    http_status: int | None
    latency_ms: int | None
    response_excerpt: str | None
    # None on a 2xx; otherwise e.g. "http_500", "timeout", "connection_error", "blocked_address".
    error: str | None


class Delivery(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    endpoint_id: str
    # The `webhook-id` header: the same for every attempt and every resend of this message.
    message_id: str
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: list[Attempt]
    next_attempt_at: datetime | None
    # The delivery this one resends, when it is a resend.
    resend_of: str | None = None
    created_at: datetime
    updated_at: datetime


class DeliveryPage(msgspec.Struct, kw_only=True, frozen=True):
    data: list[Delivery]
    next_cursor: str | None


class Event(msgspec.Struct, kw_only=True, frozen=True):
    """A public event: the exact JSON body a webhook delivery carries."""

    id: str
    type: str
    created_at: datetime
    data: dict[str, Any]


class EventPage(msgspec.Struct, kw_only=True, frozen=True):
    data: list[Event]
    # Where to continue from: poll again with after=next_cursor. Equals the request's `after` when
    # nothing new has happened; None only while the feed has never had an event.
    next_cursor: str | None
    has_more: bool


# Public event types a subscription may name ("*" subscribes to all of them). `ping` is not among
# them: it is sent only by the test operation, to that one endpoint.
EVENT_TYPES: tuple[str, ...] = (
    "post.scheduled",
    "post.updated",
    "post.published",
    "post.error",
    "post.failed",
    "post.partial",
    "post.canceled",
    "target.dead_lettered",
    "account.connected",
    "account.disconnected",
    "account.token_expired",
    "import.completed",
    "import.failed",
)
