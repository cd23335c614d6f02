"""What the API document says about requests that Litestar's generated document leaves out: that
a JSON body must be sent as JSON (415 otherwise), that an optional body may be left out, that a
body's objects take no fields beyond their own, and the bounds the query parameters are held to.
The facts come from the routes themselves (`request_body.json_body_of`), so the document and the
checks at the edge cannot drift apart."""

from __future__ import annotations

import copy
from typing import Any

import msgspec
from litestar import Litestar
from litestar.routes import HTTPRoute

from crier.gateway.entrypoints.http.request_body import json_body_of
from crier.kit.pages import MAX_LIMIT

UNSUPPORTED = {
    "description": "The body is not JSON (unsupported_media_type; details.accepted lists what is)",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}
NUL = {
    "description": "The request holds a NUL character, which no field accepts (validation_error)",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}
# The filters read as instants (`parse_instant`): RFC 3339 date-times, an offset always given.
INSTANT_PARAMETERS = {"created_after", "created_before", "scheduled_after", "scheduled_before"}


def request_bodies(doc: dict[str, Any], app: Litestar) -> list[Any]:
    """415 on every operation with a JSON body, and optional bodies said to be; the body types."""
    body_types: list[Any] = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            op = doc["paths"].get(route.path_format, {}).get(method.lower())
            expected = json_body_of(handler)
            if op is None or expected is None or "requestBody" not in op:
                continue
            body_type, optional = expected
            body_types.append(body_type)
            op["responses"].setdefault("415", copy.deepcopy(UNSUPPORTED))
            if optional:
                _optional(op["requestBody"])
    return body_types


def nul_refusal(doc: dict[str, Any]) -> None:
    """The NUL guard answers every path, including those whose own errors are not the API's."""
    for item in doc["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and "responses" in op:
                op["responses"].setdefault("422", copy.deepcopy(NUL))


def _optional(body: dict[str, Any]) -> None:
    """No body at all, rather than a JSON `null`, is how a client leaves an optional body out."""
    body["required"] = False
    for content in body.get("content", {}).values():
        branches = content.get("schema", {}).get("oneOf", [])
        kept = [b for b in branches if b != {"type": "null"}]
        if len(kept) == 1 and len(branches) == 2:
            content["schema"] = kept[0]


def body_bounds(schemas: dict[str, Any], body_types: list[Any]) -> None:
    """What msgspec, which checks the bodies, knows of them and Litestar's document drops: a Struct
    that forbids unknown fields refuses them (422), and the bounds of a list's items (`list[Id]`:
    no empty id) hold."""
    _, components = msgspec.json.schema_components(body_types)
    for name, component in components.items():
        if name not in schemas:
            continue
        if component.get("additionalProperties") is False:
            schemas[name]["additionalProperties"] = False
        for field, prop in (component.get("properties") or {}).items():
            ours = (schemas[name].get("properties") or {}).get(field)
            for theirs_items, our_items in zip(_items(prop), _items(ours or {}), strict=False):
                for key in ITEM_BOUNDS & theirs_items.keys() - our_items.keys():
                    our_items[key] = theirs_items[key]


ITEM_BOUNDS = {"minLength", "maxLength", "pattern", "minimum", "maximum"}


def _items(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The item schemas of the arrays `schema` may be (itself, or a branch of a union)."""
    found = [schema["items"]] if isinstance(schema.get("items"), dict) else []
    for branch in schema.get("oneOf", []) + schema.get("anyOf", []):
        found += _items(branch)
    return [item for item in found if "$ref" not in item]


def query_bounds(doc: dict[str, Any]) -> None:
    for item in doc["paths"].values():
        for op in item.values():
            for param in op.get("parameters", []) if isinstance(op, dict) else []:
                if param.get("in") != "query":
                    continue
                schema = _non_null(param.get("schema", {}))
                if param["name"] == "limit":
                    schema.update(minimum=1, maximum=MAX_LIMIT)
                elif param["name"] in INSTANT_PARAMETERS:
                    schema["format"] = "date-time"


def _non_null(schema: dict[str, Any]) -> dict[str, Any]:
    branch: dict[str, Any]
    for branch in schema.get("oneOf", []):
        if branch.get("type") not in (None, "null"):
            return branch
    return schema
