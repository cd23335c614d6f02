"""Refuses NUL characters anywhere in a request, before any handler sees it.

PostgreSQL text cannot hold U+0000, so a NUL in a name, a URL or a metadata key would otherwise
surface as a database error (a 500) in whichever service stores it. One check at the API's edge
covers the path, the query string and every string (and key) of a JSON body. A multipart body
(a media upload: binary, and streamed by its route rather than read here) is left to its route,
which checks its text fields itself.
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
        if size <= self.max_body_bytes and body_has_nul(b"".join(m.get("body", b"") for m in messages)):
            await _refuse(send)
            return

        async def replay() -> Any:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def _content_type(scope: Any) -> bytes:
    for key, value in scope.get("headers", []):
        if key.lower() == b"content-type":
            return bytes(value).lower().lstrip()
    return b""


async def _refuse(send: Any) -> None:
    body = msgspec.json.encode(
        {
            "error": {
                "code": "validation_error",
                "message": "the request contains a NUL character, which no field accepts",
                "details": {},
                "request_id": current_request_id(),
            }
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
