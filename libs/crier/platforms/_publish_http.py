"""One way for publishing adapters to call a platform and turn its failures into the publisher's
`PlatformError`s, the same for every platform:

- no connection was made (refused, DNS, a connect or pool timeout): `TransientError`, retried;
- the request went out and no answer came (read timeout, reset, the server hung up), or a gateway
  in front of the platform gave up waiting (502, 504): `OutcomeUnknown`, so the next delivery looks
  for the post before posting again;
- 401: `TokenRejected` (the publisher asks connect for one forced refresh and tries once more);
- 429: `RateLimited`, with Retry-After or the platform's reset header as `retry_after_s`;
- 408 and other 5xx: `TransientError` (with 503's Retry-After);
- 403: permanent `missing_permission`; 400 and 422: `ContentRejected`; 404: permanent
  `not_found`; any other status: permanent `http_<status>`.

A platform whose answers say more than their status (Meta's rate-limit codes in a 400, an error
inside a 200) passes `classify`, which sees every answer first and may return the error it means.
The platform's own words (`{"error": …}`, `{"detail": …}`, `{"error": {"message": …}}`, …) are the
message of every error raised for an answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from crier.contracts.connect import AccountToken
from crier.kit.guarded_http import Blocked
from crier.platforms._oauth_http import retry_after, traced_request
from crier.platforms.base import (
    ContentRejected,
    OutcomeUnknown,
    PlatformError,
    PublishContext,
    RateLimited,
    TokenRejected,
    TransientError,
)

Classify = Callable[[httpx.Response, Any], PlatformError | None]

# Failures before any byte of the request can have reached the platform.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol, httpx.ProxyError)
# A gateway in front of the platform gave up waiting for it: the platform may have acted.
_GATEWAY_GAVE_UP = (502, 504)


def account_of(ctx: PublishContext) -> AccountToken:
    """The account's credentials, which the publisher fetches for adapters that need them."""
    if ctx.account is None:
        raise PlatformError(f"no credentials for account {ctx.account_id}", code="account_credentials_missing")
    return ctx.account


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def send(
    http: httpx.AsyncClient,
    platform: str,
    method: str,
    url: str,
    *,
    classify: Classify | None = None,
    **kwargs: Any,
) -> Any:
    """Send one request; the parsed body of a 2xx answer, or the classified `PlatformError`."""
    where = httpx.URL(url).path or "/"
    try:
        resp = await traced_request(http, platform, method, url, **kwargs)
    except Blocked as refused:
        # The SSRF guard would not let the call out: the host the account names is not one Crier
        # may reach, and retrying will not change that.
        raise PlatformError(f"{platform}: {refused}", code="blocked_address") from refused
    except _NOT_SENT as exc:
        raise TransientError(f"{platform}: could not reach {where} ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise OutcomeUnknown(
            f"{platform}: no answer from {where} after sending ({type(exc).__name__}); it may have been accepted"
        ) from exc
    body = _body(resp)
    error = classify(resp, body) if classify is not None else None
    if error is None and not 200 <= resp.status_code < 300:
        error = error_for(platform, resp, body)
    if error is not None:
        raise error
    return body


def error_for(platform: str, resp: httpx.Response, body: Any) -> PlatformError:
    """The error a non-2xx answer means by its status alone (see the table above)."""
    status = resp.status_code
    said = message_of(body) or f"HTTP {status}"
    if status == 401:
        return TokenRejected(said)
    if status == 429:
        return RateLimited(f"{platform} rate limit: {said}", retry_after_s=retry_after(resp.headers))
    if status in _GATEWAY_GAVE_UP:
        return OutcomeUnknown(f"{platform} answered {status} ({said}); it may have been accepted")
    if status == 408 or status >= 500:
        return TransientError(f"{platform} answered {status}: {said}", retry_after_s=retry_after(resp.headers))
    if status == 403:
        return PlatformError(said, code="missing_permission")
    if status in (400, 422):
        return ContentRejected(said)
    if status == 404:
        return PlatformError(said, code="not_found")
    return PlatformError(said, code=f"http_{status}")


def message_of(body: Any) -> str | None:
    """The platform's own words in an error answer, in any of the usual shapes."""
    if isinstance(body, str):
        return body.strip()[:500] or None
    if not isinstance(body, Mapping):
        return None
    error = body.get("error")
    if isinstance(error, Mapping):  # Meta, Google: {"error": {"message": …}}
        return message_of(error)
    for key in ("error_description", "detail", "message", "error_message", "title", "error"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            # Mastodon says it all in `error`; RFC 6749 answers describe a terse `error` code.
            return value.strip()[:500]
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        return message_of(errors[0])
    return None


def _body(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return resp.text
