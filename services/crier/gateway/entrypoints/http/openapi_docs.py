"""The finishing of the API document, over what Litestar generates from the routes and Structs.

The Structs keep plain `str` where the value set belongs to another service (the webhook event
types, the connect service's statuses) or where tightening the type would change what the
validator refuses; the document still has to name those sets, so a generated SDK gets enums. The
descriptions the types do not carry come from `openapi_glossary`, and only fill gaps: whatever a
Struct or a route says of itself wins.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar

# The plugin that builds and caches the document; the render plugins serve its cached dict, so
# finishing that dict once, in place, is what every one of them serves.
from litestar._openapi.plugin import OpenAPIPlugin

from crier.contracts.common import MEDIA_TYPES, PLATFORMS, POST_STATUSES
from crier.contracts.webhooks import EVENT_TYPES
from crier.gateway.domain.api_key import SCOPES
from crier.gateway.domain.media import MEDIA_STATUSES
from crier.gateway.entrypoints.http import openapi_examples as examples
from crier.gateway.entrypoints.http import openapi_glossary as words
from crier.gateway.entrypoints.http import openapi_responses as answers
from crier.gateway.entrypoints.http.openapi_webhooks import add_webhooks

ACCOUNT_STATUSES = ("active", "disabled", "token_expired")
SESSION_STATUSES = ("pending", "pending_selection", "connected", "failed", "expired")
DELIVERY_STATUSES = ("pending", "retrying", "delivered", "failed")
SUBSCRIBABLE = (*EVENT_TYPES, "*")
# `ping` is sent only by the test operation, but its delivery is listed like any other.
DELIVERED_TYPES = (*EVENT_TYPES, "ping")

FIELD_ENUMS: dict[str, tuple[str, ...]] = {
    **{
        f"{name}.platform": PLATFORMS
        for name in (
            "ConnectSession",
            "ConnectSessionCreate",
            "ConnectSessionCreated",
            "Disconnected",
            "Network",
            "SandboxAccountCreate",
            "SocialNetworkUpsert",
        )
    },
    "PostCreate.platforms": PLATFORMS,
    **{f"{name}.scopes": SCOPES for name in ("ApiKey", "ApiKeyCreate", "ApiKeyCreated")},
    **{f"{name}.events": SUBSCRIBABLE for name in ("Endpoint", "EndpointCreated", "WebhookCreate", "WebhookUpdate")},
    "Event.type": DELIVERED_TYPES,
    "Delivery.event_type": DELIVERED_TYPES,
    "SocialAccount.status": ACCOUNT_STATUSES,
    "AccountHealth.status": ACCOUNT_STATUSES,
    "ConnectSession.status": SESSION_STATUSES,
    "ConnectSessionCreated.status": SESSION_STATUSES,
    "PostMedia.type": MEDIA_TYPES,
}
PARAMETER_ENUMS: dict[str, tuple[str, ...]] = {
    "/api/v1/posts status": POST_STATUSES,
    "/api/v1/media type": MEDIA_TYPES,
    "/api/v1/media status": MEDIA_STATUSES,
    "/api/v1/posts platform": PLATFORMS,
    "/api/v1/social-accounts platform": PLATFORMS,
    "/api/v1/social-networks/{platform}/auth-url platform": PLATFORMS,
    "/api/v1/end-users/{external_user_id}/connections/{platform} platform": PLATFORMS,
    "/api/v1/events type": EVENT_TYPES,
    "/api/v1/webhooks/{webhook_id}/deliveries status": DELIVERY_STATUSES,
}
METHODS = ("get", "put", "post", "delete", "patch")


def install(app: Litestar) -> None:
    """Finish the app's document now (a fraction of a second), before anything serves it."""
    finish(app.plugins.get(OpenAPIPlugin).provide_openapi_schema(), _public(app))


def _public(app: Litestar) -> set[tuple[str, str]]:
    """(path, method) of the operations that take no API key."""
    return {
        (route.path_format, method.lower())
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if handler.opt.get("exclude_from_auth")
        for method in handler.http_methods
    }


def finish(doc: dict[str, Any], public: set[tuple[str, str]]) -> dict[str, Any]:
    add_webhooks(doc)
    answers.rate_limits(doc, public)
    answers.idempotent_replay(doc)
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        if not schema.get("description") and name in words.SCHEMAS:
            schema["description"] = words.SCHEMAS[name]
        for field, prop in (schema.get("properties") or {}).items():
            key = f"{name}.{field}"
            if key in FIELD_ENUMS:
                _enumerate(prop, FIELD_ENUMS[key])
            if not prop.get("description"):
                text = words.SCHEMA_FIELDS.get(key) or words.FIELDS.get(field)
                if text:
                    prop["description"] = text
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            if (op := item.get(method)) is not None:
                _operation(path, op)
    # After the descriptions, so an alias is named on its twin's full description.
    answers.camel_aliases(doc)
    return doc


def _operation(path: str, op: dict[str, Any]) -> None:
    _examples(op)
    if not op.get("description"):
        op["description"] = words.OPERATIONS.get(op.get("operationId", ""), op.get("summary", ""))
    for param in op.get("parameters", []):
        key = f"{path} {param['name']}"
        if key in PARAMETER_ENUMS:
            _enumerate(param.setdefault("schema", {}), PARAMETER_ENUMS[key])
        if not param.get("description"):
            param["description"] = words.PARAMETERS_AT.get(key) or words.PARAMETERS.get(param["name"]) or _id_of(param)


def _examples(op: dict[str, Any]) -> None:
    """The request body's example, and the main (first successful) answer's."""
    operation_id = op.get("operationId", "")
    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None and operation_id in examples.REQUESTS:
        body.setdefault("examples", {"example": {"value": examples.REQUESTS[operation_id]}})
    for code in sorted(c for c in op.get("responses", {}) if c.startswith("2")):
        answer = op["responses"][code].get("content", {}).get("application/json")
        if answer is None:
            continue
        name = answer.get("schema", {}).get("$ref", "").rpartition("/")[2]
        value = examples.RESPONSES.get(operation_id, examples.SCHEMAS.get(name))
        if value is not None:
            answer.setdefault("examples", {"example": {"value": value}})
        return


def _id_of(param: dict[str, Any]) -> str:
    """`post_id` → "The post's id." (every path id is named after what it identifies)."""
    name: str = param["name"]
    thing = name.removesuffix("_id").replace("_", " ")
    return f"The {thing}'s id." if name.endswith("_id") else ""


def _enumerate(schema: dict[str, Any], values: tuple[str, ...]) -> None:
    """Put the value set on the string(s) of `schema`, wherever they sit: itself, its items, or the
    non-null branch of an optional."""
    if "items" in schema:
        _enumerate(schema["items"], values)
    for branch in schema.get("oneOf", []) + schema.get("anyOf", []):
        _enumerate(branch, values)
    if schema.get("type") == "string":
        schema["enum"] = list(values)
