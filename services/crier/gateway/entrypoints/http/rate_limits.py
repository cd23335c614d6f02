"""Per-key API rate limits on every authenticated request, shared by every gateway replica.

Runs after the key is authenticated (it sits behind ApiKeyAuth in the app's middleware), counts the
request in the shared store, and answers with `RateLimit-Limit`, `RateLimit-Remaining` and
`RateLimit-Reset` (seconds until the window ends) on whatever the route answers, errors included.
Past the limit it answers 429 `rate_limited` with `Retry-After` itself, before the route runs.
Requests without a key (probes, the API description, the OAuth callback, pending page selection
by its token alone) are not counted here.

If the store cannot count (the database is away), the request goes through uncounted: the route
needs the same database and answers for the outage itself.
"""

from __future__ import annotations

from typing import Any

import msgspec

from crier.gateway.domain.api_key import Principal
from crier.gateway.domain.rate_limit import Quota
from crier.gateway.entrypoints.http.errors import ErrorBody, ErrorDetail
from crier.gateway.entrypoints.http.request_id import current_request_id
from crier.gateway.entrypoints.http.state import Gateway
from crier.gateway.handlers.rate_limits import count_request
from crier.kit.log import get

log = get("gateway.http")


def _headers(q: Quota) -> list[tuple[bytes, bytes]]:
    return [
        (b"ratelimit-limit", str(q.limit).encode()),
        (b"ratelimit-remaining", str(q.remaining).encode()),
        (b"ratelimit-reset", str(q.reset_s).encode()),
    ]


class RateLimits:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        principal = scope.get("auth")
        gateway: Gateway = scope["app"].state.gateway
        default = gateway.settings.api_rate_limit
        if scope["type"] != "http" or not isinstance(principal, Principal) or default <= 0:
            await self.app(scope, receive, send)
            return
        try:
            q = await count_request(gateway.ctx, principal.key_id, default)
        except Exception as exc:  # any failure to count: see the docstring
            log.warning("rate_limit.uncounted", error=type(exc).__name__)
            await self.app(scope, receive, send)
            return
        if q.exceeded:
            await _too_many(send, q)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *_headers(q)]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _too_many(send: Any, q: Quota) -> None:
    body = msgspec.json.encode(
        ErrorBody(
            error=ErrorDetail(
                code="rate_limited",
                message=f"this API key made more than {q.limit} requests this minute; retry in {q.reset_s} s",
                details={"limit": q.limit, "retry_after_s": q.reset_s},
                request_id=current_request_id(),
            )
        )
    )
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(q.reset_s).encode()),
        *_headers(q),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
