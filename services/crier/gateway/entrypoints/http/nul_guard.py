"""Refuses NUL characters anywhere in a request, before any handler sees it.

PostgreSQL text cannot hold U+0000, so a NUL in a name, a URL or a metadata key would otherwise
surface as a database error (a 500) in whichever service stores it. One check at the API's edge
covers the path, the query string and every string (and key) of a JSON body. A multipart body
(a media upload: binary, and streamed by its route rather than read here) is left to its route,
which checks its text fields itself.

The same look at a JSON body refuses what the JSON decoder would fail on with something other than
a decoding error (a 500 otherwise): bytes that are not UTF-8 (`UnicodeDecodeError`) and nesting
deeper than any request of ours needs (`RecursionError`), both 400 `invalid_json`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_to_bytes

import msgspec

from crier.gateway.entrypoints.http.request_id import current_request_id


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


def body_has_nul(body: bytes) -> bool:
    if b"\x00" in body:
        return True
    if b"\\u0000" not in body.lower():  # the only way JSON spells NUL; skip the decode otherwise
        return False
    try:
        return _has_nul(msgspec.json.decode(body))
    except msgspec.DecodeError:
        return False  # not JSON: the route's own parsing answers it


# No request body of the API nests deeper than a few levels; a decoder recursing 5,000 deep is an attack.
MAX_JSON_DEPTH = 64


def json_problem(body: bytes) -> str | None:
    """Why a JSON body cannot be decoded safely, or None (malformed JSON is left to the route)."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not valid UTF-8"
    # Nesting is never deeper than the brackets opened, counted in C: the byte-by-byte scan below
    # (~60 ns a byte) is left for a body with more openers than the limit.
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and _depth(body) > MAX_JSON_DEPTH:
        return f"the body nests deeper than {MAX_JSON_DEPTH} levels"
    return None


def _depth(body: bytes) -> int:
    """How deep arrays and objects nest, skipping strings (whose brackets are text)."""
    deepest = depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


class NulGuard:
    def __init__(self, app: Any, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope.get("path", "") or b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
            await _refuse(send)
            return
        if _content_type(scope).startswith(b"multipart/"):
            await self.app(scope, receive, send)
            return
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body") or size > self.max_body_bytes:
                break
        # An oversized body is left for the app to refuse with 413; it is not read twice here.
        body = b"".join(m.get("body", b"") for m in messages)
        if size <= self.max_body_bytes and body_has_nul(body):
            await _refuse(send)
            return
        problem = json_problem(body) if size <= self.max_body_bytes and _is_json(scope) else None
        if problem is not None:
            await _refuse(send, 400, "invalid_json", problem)
            return

        async def replay() -> Any:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def _is_json(scope: Any) -> bool:
    kind = _content_type(scope).split(b";")[0].strip()
    return kind == b"application/json" or kind.endswith(b"+json")


def _content_type(scope: Any) -> bytes:
    for key, value in scope.get("headers", []):
        if key.lower() == b"content-type":
            return bytes(value).lower().lstrip()
    return b""


async def _refuse(
    send: Any,
    status: int = 422,
    code: str = "validation_error",
    message: str = "the request contains a NUL character, which no field accepts",
) -> None:
    body = msgspec.json.encode(
        {"error": {"code": code, "message": message, "details": {}, "request_id": current_request_id()}}
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
