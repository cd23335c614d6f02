"""What the API document says about answers that no route declares itself: the rate limit every
authenticated operation is under (its headers on every answer, its 429), the 200 replay of an
idempotent create, and the other seeds' camelCase names, which are accepted and sent as aliases
and so are described on their snake_case field instead of as fields and schemas of their own."""

from __future__ import annotations

import json
import re
from typing import Any

from crier.gateway.entrypoints.http.query_guard import suggestion

REF = "#/components/"
RATE_HEADERS = {
    "RateLimit-Limit": "Requests the key may make in the current window.",
    "RateLimit-Remaining": "Requests left in the current window.",
    "RateLimit-Reset": "Seconds until the current window ends.",
}
RETRY_AFTER = "Seconds to wait before trying again."
CAMEL = re.compile(r"[a-z][A-Z]")
REQUEST_ID = "5b0e7c2a9d4f4e1b8a3c6d2e1f0a9b8c"
# The other seed's name of the end-user filter, the misspelling the 400 exists for.
MISSPELT = "externalUserId"


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
                "content": {"application/json": {"schema": {"$ref": f"{REF}schemas/ErrorBody"}, "examples": LIMITED}},
            }
            _unknown_parameter_example(op)
            for answer in op["responses"].values():
                answer["headers"] = {**answer.get("headers", {}), **limit_headers}


LIMITED = {
    "rate_limited": {
        "value": {
            "error": {
                "code": "rate_limited",
                "message": "this API key made more than 3000 requests this minute; retry in 12 s",
                "details": {"limit": 3000, "retry_after_s": 12},
                "request_id": REQUEST_ID,
            }
        }
    }
}


def _unknown_parameter_example(op: dict[str, Any]) -> None:
    """The 400 every operation answers to a query parameter it does not take, naming the ones it does."""
    known = sorted(p["name"] for p in op.get("parameters", []) if p["in"] == "query")
    content = op["responses"].get("400", {}).get("content", {}).get("application/json")
    if content is None:
        return
    hint = suggestion(MISSPELT, frozenset(known))
    content.setdefault("examples", {})["unknown_query_parameter"] = {
        "value": {
            "error": {
                "code": "unknown_query_parameter",
                "message": f"this endpoint does not take '{MISSPELT}'" + (f" (did you mean '{hint}'?)" if hint else ""),
                "details": {"unknown": [MISSPELT], "known": known, "suggestions": {MISSPELT: hint} if hint else {}},
                "request_id": REQUEST_ID,
            }
        }
    }


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
