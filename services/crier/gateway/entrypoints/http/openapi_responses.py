"""What the API document says about answers that no route declares itself: the rate limit every
authenticated operation is under (its headers on every answer, its 429), the 200 replay of an
idempotent create, and the other seeds' camelCase names, which are accepted and sent as aliases
and so are described on their snake_case field instead of as fields and schemas of their own."""

from __future__ import annotations

import json
import re
from typing import Any

REF = "#/components/"
RATE_HEADERS = {
    "RateLimit-Limit": "Requests the key may make in the current window.",
    "RateLimit-Remaining": "Requests left in the current window.",
    "RateLimit-Reset": "Seconds until the current window ends.",
}
RETRY_AFTER = "Seconds to wait before trying again."
CAMEL = re.compile(r"[a-z][A-Z]")


def rate_limits(doc: dict[str, Any], public: set[tuple[str, str]]) -> None:
    """Every operation but the public ones (no key, so no key's limit) answers with the limit's
    headers, and with 429 `rate_limited` past it."""
    headers = doc["components"].setdefault("headers", {})
    for name, text in {**RATE_HEADERS, "Retry-After": RETRY_AFTER}.items():
        headers[name] = {"description": text, "schema": {"type": "integer", "minimum": 0}}
    limit_headers = {name: {"$ref": f"{REF}headers/{name}"} for name in RATE_HEADERS}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            if (path, method) in public:
                op["security"] = []
                continue
            op["responses"]["429"] = {
                "description": "Past the key's rate limit (rate_limited): try again after `Retry-After` seconds.",
                "headers": {"Retry-After": {"$ref": f"{REF}headers/Retry-After"}},
                "content": {"application/json": {"schema": {"$ref": f"{REF}schemas/ErrorBody"}}},
            }
            for answer in op["responses"].values():
                answer["headers"] = {**answer.get("headers", {}), **limit_headers}


def idempotent_replay(doc: dict[str, Any]) -> None:
    """`POST /posts` with an `Idempotency-Key` already used with the same body answers 200 with the
    post first made, in the same shape as the 201."""
    create = doc["paths"]["/api/v1/posts"]["post"]
    made = create["responses"]["201"]
    made["description"] = "The post was made."
    create["responses"]["200"] = {
        **made,
        "description": "A replay: this `Idempotency-Key` was already used with the same body within 24 hours; "
        "the answer is the post that request made (its current state), and nothing new is made.",
    }


def camel_aliases(doc: dict[str, Any]) -> None:
    """Drop a camelCase property whose snake_case twin sits beside it (its description names the
    alias), then the schemas only those properties used."""
    schemas = doc["components"]["schemas"]
    dropped_refs: set[str] = set()
    for schema in schemas.values():
        props = schema.get("properties") or {}
        for name in [n for n in props if CAMEL.search(n)]:
            twin = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)
            if twin not in props:
                continue
            dropped_refs |= set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(props.pop(name))))
            if name in schema.get("required", []):
                schema["required"].remove(name)
            if f"`{name}`" not in props[twin].get("description", ""):
                props[twin]["description"] = f"{props[twin].get('description', '')} (alias `{name}`)".strip()
    text = json.dumps(doc)
    for name in dropped_refs:
        if f'"#/components/schemas/{name}"' not in text:
            del schemas[name]
