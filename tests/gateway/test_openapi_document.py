"""The API document a client generates its SDK from, as the running gateway serves it: every
value set is an enum, everything is described, every operation has an example."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from crier.contracts.common import PLATFORMS, POST_STATUSES, TARGET_STATUSES
from crier.contracts.webhooks import EVENT_TYPES
from crier.gateway.domain.api_key import SCOPES
from tests.gateway.conftest import Gateway

METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def doc(gateway: Gateway) -> dict[str, Any]:
    r = httpx.get(f"{gateway.api_url}/api/v1/openapi.json")
    assert r.status_code == 200
    return r.json()


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def enum_of(prop: dict[str, Any]) -> list[str] | None:
    """The value set of a property, wherever it sits (itself, its items, an optional's branch)."""
    if "enum" in prop:
        return list(prop["enum"])
    if "items" in prop:
        return enum_of(prop["items"])
    for branch in prop.get("oneOf", []) + prop.get("anyOf", []):
        if (found := enum_of(branch)) is not None:
            return found
    return None


def field(doc: dict[str, Any], ref: str) -> dict[str, Any]:
    schema, name = ref.split(".")
    return doc["components"]["schemas"][schema]["properties"][name]


@pytest.mark.parametrize(
    ("ref", "values"),
    [
        ("Post.status", POST_STATUSES),
        ("Target.status", TARGET_STATUSES),
        ("Target.platform", PLATFORMS),
        ("SocialAccount.platform", PLATFORMS),
        ("ConnectSessionCreate.platform", PLATFORMS),
        ("SandboxAccountCreate.platform", PLATFORMS),
        ("SocialNetworkUpsert.platform", PLATFORMS),
        ("PostCreate.platforms", PLATFORMS),
        ("ApiKeyCreate.scopes", SCOPES),
        ("ApiKey.scopes", SCOPES),
        ("WebhookCreate.events", (*EVENT_TYPES, "*")),
        ("WebhookUpdate.events", (*EVENT_TYPES, "*")),
        ("Endpoint.events", (*EVENT_TYPES, "*")),
        ("Event.type", (*EVENT_TYPES, "ping")),
        ("Delivery.event_type", (*EVENT_TYPES, "ping")),
        ("Delivery.status", ("pending", "retrying", "delivered", "failed")),
        ("SocialAccount.status", ("active", "disabled", "token_expired")),
    ],
)
def test_value_sets_are_enums(doc: dict[str, Any], ref: str, values: tuple[str, ...]) -> None:
    assert enum_of(field(doc, ref)) == list(values)


def test_filters_with_a_value_set_are_enums(doc: dict[str, Any]) -> None:
    def param(path: str, name: str) -> dict[str, Any]:
        return next(p for p in doc["paths"][path]["get"]["parameters"] if p["name"] == name)

    assert enum_of(param("/api/v1/posts", "status")["schema"]) == list(POST_STATUSES)
    assert enum_of(param("/api/v1/posts", "platform")["schema"]) == list(PLATFORMS)
    assert enum_of(param("/api/v1/events", "type")["schema"]) == list(EVENT_TYPES)


def test_everything_is_described(doc: dict[str, Any]) -> None:
    missing = []
    for name, schema in doc["components"]["schemas"].items():
        if not schema.get("description"):
            missing.append(name)
        missing += [f"{name}.{f}" for f, p in (schema.get("properties") or {}).items() if not p.get("description")]
    for method, path, op in operations(doc):
        missing += [f"{method} {path} {w}" for w in ("summary", "description") if not op.get(w)]
        missing += [f"{method} {path} {p['name']}" for p in op.get("parameters", []) if not p.get("description")]
    assert missing == []
