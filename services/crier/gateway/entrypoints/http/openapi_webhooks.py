"""The OpenAPI 3.1 `webhooks` section: what Crier POSTs to an endpoint, one entry per public event
type, each with its typed payload. The shapes are those of the webhooks service's event catalog
(`crier.webhooks.domain.catalog`, which the gateway may not import: it is another service); a test
checks every payload the catalog makes against them."""

from __future__ import annotations

from typing import Any

from crier.contracts.common import PLATFORMS, POST_STATUSES

REF = "#/components/schemas/"


def _s(kind: str, description: str, **more: Any) -> dict[str, Any]:
    return {"type": kind, "description": description, **more}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    description = schema.pop("description")
    return {"oneOf": [schema, {"type": "null"}], "description": description}


def _object(description: str, props: dict[str, dict[str, Any]], *, open_: bool = False) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": props,
        "required": [] if open_ else list(props),
        "additionalProperties": open_,
    }


TIME = {"format": "date-time"}
PLATFORM = _s("string", "The social platform.", enum=list(PLATFORMS))
POST = {"post_id": _s("string", "The post's id.")}
TARGET = {
    **POST,
    "target_id": _s("string", "The target's id (one account's delivery of the post)."),
    "account_id": _nullable(_s("string", "The social account's id; null for a post older than the catalog.")),
    "tenant_id": _nullable(_s("string", "The end user the account belongs to.")),
    "platform": PLATFORM,
}
FAILURE = {
    **TARGET,
    "error_code": _s("string", "Machine-readable reason."),
    "error_message": _s("string", "Human-readable reason."),
    "attempt": _s("integer", "Which attempt this was, from 1."),
}
ROLL_UP = {
    **POST,
    "status": _s("string", "The post's status now.", enum=list(POST_STATUSES)),
    "previous_status": _s("string", "The post's status before.", enum=list(POST_STATUSES)),
    "external_ref": _nullable(_s("string", "Your reference for the post.")),
}
ACCOUNT = {
    "account_id": _s("string", "The social account's id."),
    "platform": PLATFORM,
    "tenant_id": _nullable(_s("string", "The end user the account belongs to.")),
}
TARGETS = _s(
    "array",
    "The post's targets.",
    items=_object(
        "One target of the post.",
        {k: TARGET[k] for k in ("target_id", "account_id", "platform", "tenant_id")},
    ),
)

# Public type → (schema name, what it means, its data's properties, whether data may hold more).
PAYLOADS: dict[str, tuple[str, str, dict[str, dict[str, Any]], bool]] = {
    "post.scheduled": (
        "PostScheduled",
        "A post is scheduled: created for later, or a draft published for later.",
        {**POST, "scheduled_at": _s("string", "When the post goes out.", **TIME), "targets": TARGETS},
        False,
    ),
    "post.updated": (
        "PostUpdated",
        "A draft or a scheduled post was edited; `targets` are as the post now stands.",
        {
            **POST,
            "status": ROLL_UP["status"],
            "scheduled_at": _nullable(_s("string", "When the post goes out; null for a draft.", **TIME)),
            "is_draft": _s("boolean", "Whether the post is still a draft."),
            "external_ref": ROLL_UP["external_ref"],
            "targets": TARGETS,
            "removed_target_ids": _s("array", "Targets the edit removed (now canceled).", items={"type": "string"}),
        },
        False,
    ),
    "post.published": (
        "PostPublished",
        "One account's delivery of a post was accepted by the platform.",
        {
            **TARGET,
            "platform_post_id": _s("string", "The post's id on the platform."),
            "platform_post_url": _nullable(_s("string", "The post's URL on the platform.")),
            "attempt": FAILURE["attempt"],
            "notes": _s(
                "array", "What Crier changed to fit the platform (e.g. an image re-encoded).", items={"type": "string"}
            ),
        },
        False,
    ),
    "post.error": (
        "PostError",
        "An attempt to publish to one account failed; `will_retry` says whether another follows.",
        {
            **FAILURE,
            "will_retry": _s("boolean", "Whether Crier tries again."),
            "retry_in_seconds": _nullable(_s("number", "When the next attempt is due, in seconds.")),
            "target_status": _s("string", "The target's status now.", enum=["retrying", "failed", "dead"]),
        },
        False,
    ),
    "target.dead_lettered": (
        "TargetDeadLettered",
        "One account's delivery gave up after its retries; it can be retried by hand.",
        FAILURE,
        False,
    ),
    "post.failed": ("PostFailed", "Every target of the post failed.", ROLL_UP, False),
    "post.partial": ("PostPartial", "Some targets of the post were published and others failed.", ROLL_UP, False),
    "post.canceled": ("PostCanceledEvent", "The post was canceled.", ROLL_UP, False),
    "account.connected": (
        "AccountConnected",
        "A social account was connected (or reconnected).",
        {
            **ACCOUNT,
            "username": _s("string", "The account's handle."),
            "display_name": _nullable(_s("string", "The account's name.")),
            "network_unique_id": _s("string", "The account's own id on the platform."),
            "status": _s("string", "The account's state.", enum=["active", "disabled", "token_expired"]),
            "account_type": _s("string", "Kind of account on the platform."),
            "sandbox": _s("boolean", "Whether it is a simulated (test mode) account."),
        },
        False,
    ),
    "account.disconnected": ("AccountDisconnected", "A social account was disconnected.", ACCOUNT, False),
    "account.token_expired": (
        "AccountTokenExpired",
        "A social account's access can no longer be refreshed: the user must reconnect it.",
        ACCOUNT,
        False,
    ),
    "import.completed": (
        "ImportCompleted",
        "An import of an account's existing posts finished.",
        {"account_id": ACCOUNT["account_id"], "import_id": _s("string", "The import's id.")},
        True,
    ),
    "import.failed": (
        "ImportFailed",
        "An import of an account's existing posts failed.",
        {"account_id": ACCOUNT["account_id"], "import_id": _s("string", "The import's id.")},
        True,
    ),
    "ping": (
        "Ping",
        "Sent by `POST /webhooks/{id}/test` to that endpoint only.",
        {
            "endpoint_id": _s("string", "The endpoint tested."),
            "message": _s("string", "A fixed sentence."),
        },
        False,
    ),
}

HEADERS = [
    ("webhook-id", "The message id: the same on every retry of a delivery; use it to drop duplicates."),
    ("webhook-timestamp", "When the message was signed, in Unix seconds; refuse one too far from now."),
    (
        "webhook-signature",
        "Space-separated `v1,<base64>` signatures: HMAC-SHA256, keyed by the base64 part of the "
        "endpoint's `whsec_` secret, of `{webhook-id}.{webhook-timestamp}.{body}` (Standard Webhooks). "
        "Two appear while a rotated secret's previous one still signs.",
    ),
]


def add_webhooks(doc: dict[str, Any]) -> None:
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    webhooks = doc.setdefault("webhooks", {})
    for event_type, (name, meaning, data, open_) in PAYLOADS.items():
        schemas[f"{name}Data"] = _object(f"The data of `{event_type}`.", data, open_=open_)
        schemas[f"{name}Webhook"] = _object(
            f"The body of a `{event_type}` delivery (and its item in `GET /events`).",
            {
                "id": _s("string", "The event's id (`evt_…`), stable across redeliveries."),
                "type": _s("string", "The event type.", enum=[event_type]),
                "created_at": _s("string", "When the fact happened.", **TIME),
                "data": {"$ref": f"{REF}{name}Data"},
            },
        )
        webhooks[event_type] = {
            "post": {
                "operationId": f"on{name}",
                "summary": event_type,
                "description": meaning,
                "parameters": [
                    {"name": h, "in": "header", "required": True, "description": d, "schema": {"type": "string"}}
                    for h, d in HEADERS
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": f"{REF}{name}Webhook"}}},
                },
                "responses": {
                    "2XX": {
                        "description": "Received. Any other answer, or none within the timeout "
                        "(`CRIER_WEBHOOKS_TIMEOUT_S`, 10 seconds by default), is retried."
                    }
                },
            }
        }
