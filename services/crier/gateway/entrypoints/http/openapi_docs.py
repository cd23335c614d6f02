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

from crier.contracts.common import MEDIA_TYPES, MODES, PLATFORMS, POST_STATUSES, TARGET_STATUSES
from crier.contracts.webhooks import EVENT_TYPES
from crier.gateway.domain.api_key import SCOPES
from crier.gateway.domain.media import MEDIA_STATUSES
from crier.gateway.entrypoints.http import openapi_examples as examples
from crier.gateway.entrypoints.http import openapi_glossary as words
from crier.gateway.entrypoints.http import openapi_requests as requests
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
# Each value set once, by name, so a generated client has one `Platform` enum rather than one per
# field that takes a platform.
NAMED_ENUMS: dict[str, tuple[tuple[str, ...], str]] = {
    "Platform": (PLATFORMS, "A social platform Crier publishes to."),
    "PostStatus": (POST_STATUSES, "A post's status: the roll-up of its targets'."),
    "TargetStatus": (TARGET_STATUSES, "Where one account's delivery of a post stands."),
    "Scope": (SCOPES, "What an API key may do."),
    "EventType": (EVENT_TYPES, "A public event type."),
    "SubscribedEventType": (SUBSCRIBABLE, "An event type an endpoint subscribes to, or `*` for all of them."),
    "DeliveredEventType": (DELIVERED_TYPES, "The type of an event delivered (`ping` only by the test operation)."),
    "AccountStatus": (ACCOUNT_STATUSES, "A social account's state."),
    "ConnectSessionStatus": (SESSION_STATUSES, "Where a connect session stands."),
    "DeliveryStatus": (DELIVERY_STATUSES, "Where a webhook delivery stands."),
    "MediaType": (MEDIA_TYPES, "What a media object's bytes are."),
    "MediaStatus": (MEDIA_STATUSES, "Where a media object's processing stands."),
    "Mode": (MODES, "`live` for real platforms, `test` for the sandbox."),
}


def install(app: Litestar) -> None:
    """Finish the app's document now (a fraction of a second), before anything serves it."""
    doc = app.plugins.get(OpenAPIPlugin).provide_openapi_schema()
    body_types = requests.request_bodies(doc, app)
    requests.query_bounds(doc)
    requests.nul_refusal(doc)
    finish(doc, _public(app))
    # After the value sets are named, so an item that became a named enum stays a bare reference.
    requests.body_bounds(doc["components"]["schemas"], body_types)


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
            _split_nullable_enum(prop)
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
    _name_enums(doc)
    return doc


def _operation(path: str, op: dict[str, Any]) -> None:
    _examples(op)
    if not op.get("description"):
        op["description"] = words.OPERATIONS.get(op.get("operationId", ""), op.get("summary", ""))
    for param in op.get("parameters", []):
        key = f"{path} {param['name']}"
        _split_nullable_enum(param.get("schema", {}))
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


def _split_nullable_enum(schema: dict[str, Any]) -> None:
    """Litestar writes an optional Literal as `{"type": ["null", "string"], "enum": [..., null]}`,
    which client generators turn into a tangle of numbered types; the same optional as the other
    optionals are written (`oneOf` a string enum and null) gives one named enum."""
    kinds = schema.get("type")
    if not isinstance(kinds, list) or "null" not in kinds or "enum" not in schema:
        return
    values = [v for v in schema.pop("enum") if v is not None]
    (kind,) = [k for k in schema.pop("type") if k != "null"]
    schema["oneOf"] = [{"type": kind, "enum": values}, {"type": "null"}]


def _name_enums(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    by_values = {values: name for name, (values, _) in NAMED_ENUMS.items()}
    for name, (values, text) in NAMED_ENUMS.items():
        schemas[name] = {"type": "string", "enum": list(values), "description": text}

    def visit(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item)
        elif isinstance(node, dict):
            for value in node.values():
                visit(value)
            named = by_values.get(tuple(node.get("enum", ()))) if node.get("type") == "string" else None
            if named is not None and node is not schemas.get(named):
                for key in ("type", "enum"):
                    node.pop(key)
                node["$ref"] = f"#/components/schemas/{named}"

    visit(doc["paths"])
    visit(doc.get("webhooks", {}))
    visit({k: v for k, v in schemas.items() if k not in NAMED_ENUMS})
