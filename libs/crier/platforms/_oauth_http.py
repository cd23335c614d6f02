"""One way to call a platform's OAuth and identity endpoints and turn its failures into Crier's.

Every platform module sends through `send`: transport failures, timeouts, 5xx and 429 become
`OAuthUnavailable` here, the same for all, so no `httpx` exception leaves the platforms library.
What a 4xx answer means differs per platform (RFC 6749 `{"error": "invalid_grant"}`, Meta's
`{"error": {"code": 190}}`, TikTok's envelope, XRPC names), so each platform passes a `classify`
that turns the body into the right `OAuthError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx

from crier.kit.http_spans import answered, client_span, failed, with_traceparent
from crier.platforms.oauth import AccessTokenInvalid, GrantRevoked, OAuthError, OAuthUnavailable, TokenSet

# "token": the token/revoke endpoints (client + grant); "api": a call made with an access token.
Context = Literal["token", "api"]
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_.]*$")
Classify = Callable[[int, Any, Context], OAuthError]


# Rate-limit reset headers carrying an epoch second, when no Retry-After is sent: X's
# x-rate-limit-reset, Bluesky's ratelimit-reset.
_RESET_EPOCH_HEADERS = ("x-rate-limit-reset", "ratelimit-reset")


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait, from Retry-After (seconds or an HTTP date) or a reset-time header."""
    raw = headers.get("retry-after")
    if raw is not None:
        try:
            return max(0.0, float(raw))
        except ValueError:
            pass
        try:
            return max(0.0, (parsedate_to_datetime(raw) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None
    for name in _RESET_EPOCH_HEADERS:
        reset = headers.get(name)
        if reset is not None and reset.isdigit():
            return max(0.0, int(reset) - datetime.now(UTC).timestamp())
    reset_at = headers.get("x-ratelimit-reset")  # Mastodon: an ISO 8601 time
    if reset_at:
        try:
            at = datetime.fromisoformat(reset_at.replace("Z", "+00:00"))
            return max(0.0, (at - datetime.now(UTC)).total_seconds())
        except ValueError:
            return None
    return None


def _body(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return resp.text


async def traced_request(
    http: httpx.AsyncClient, platform: str, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    """One call to a platform inside a CLIENT span named `<METHOD> <platform>` (the publishing
    calls in `_publish_http` come through here too), with `traceparent` sent along."""
    with client_span(f"{method.upper()} {platform}", method, url, {"crier.platform": platform}) as span:
        kwargs["headers"] = with_traceparent(kwargs.get("headers"))
        try:
            resp = await http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            failed(span, type(exc).__name__)
            raise
        answered(span, resp.status_code)
        return resp


async def send(
    http: httpx.AsyncClient,
    platform: str,
    method: str,
    url: str,
    *,
    context: Context,
    classify: Classify,
    ok: Callable[[int, Any], bool] | None = None,
    **kwargs: Any,
) -> Any:
    """Send one request; return the parsed body of a successful answer, raise a classified error
    otherwise. `ok` overrides "2xx is success" for platforms that report errors in a 200 body."""
    try:
        resp = await traced_request(http, platform, method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise OAuthUnavailable(f"{platform}: no answer from {_where(url)} ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:  # refused, reset, a body that would not decode: all "try later"
        raise OAuthUnavailable(f"{platform}: could not reach {_where(url)} ({exc!r})") from exc
    body = _body(resp)
    if resp.status_code == 429 or resp.status_code >= 500:
        kind = "rate limited" if resp.status_code == 429 else f"answered {resp.status_code}"
        raise OAuthUnavailable(
            f"{platform}: {_where(url)} {kind}",
            code="rate_limited" if resp.status_code == 429 else None,
            retry_after_s=retry_after(resp.headers),
        )
    good = ok(resp.status_code, body) if ok else 200 <= resp.status_code < 300
    if good:
        return body
    error = classify(resp.status_code, body, context)
    error.message = f"{platform}: {error.message}"
    error.args = (error.message,)
    raise error


def _where(url: str) -> str:
    return httpx.URL(url).path or "/"


def oauth2_error(status: int, body: Any, context: Context) -> OAuthError:
    """RFC 6749 §5.2 error answers (`{"error", "error_description"}`), and bare 401s from APIs."""
    error = body.get("error") if isinstance(body, Mapping) else None
    description = (body.get("error_description") or body.get("message")) if isinstance(body, Mapping) else None
    text = str(description or error or body or f"HTTP {status}")[:300]
    if context == "api":
        if status == 401:
            return AccessTokenInvalid(f"access token refused: {text}")
        if status == 403:
            return OAuthError(f"forbidden: {text}", code="insufficient_scope")
        return OAuthError(text, code=error if isinstance(error, str) and _IDENTIFIER.match(error) else f"http_{status}")
    if error == "invalid_grant":
        return GrantRevoked(text)
    if error in ("invalid_client", "unauthorized_client") or status == 401:
        return OAuthError(text, code="invalid_client")
    if isinstance(error, str) and _IDENTIFIER.match(error):
        return OAuthError(text, code=error)
    return OAuthError(text, code=f"http_{status}")


def form(**fields: str | None) -> dict[str, str]:
    """A form body without the fields that are None."""
    return {k: v for k, v in fields.items() if v is not None}


def scopes_of(raw: Any, separator: str, fallback: Iterable[str] = ()) -> tuple[str, ...]:
    if isinstance(raw, list):
        return tuple(str(s) for s in raw)
    if isinstance(raw, str) and raw.strip():
        # Platforms answer with either separator whatever they asked for (LinkedIn: commas).
        return tuple(p for p in re.split(r"[,\s]+", raw) if p)
    return tuple(fallback)


def expiry(seconds: Any, now: datetime | None = None) -> datetime | None:
    if seconds is None or seconds == "":
        return None
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        return None
    if value <= 0:
        return None
    return (now or datetime.now(UTC)) + timedelta(seconds=value)


def token_set(
    body: Mapping[str, Any],
    *,
    scope_separator: str = " ",
    requested: Iterable[str] = (),
    extra: Mapping[str, Any] | None = None,
) -> TokenSet:
    """A TokenSet from an RFC 6749 §5.1 token answer (plus the common refresh_token_expires_in)."""
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise OAuthError(f"token answer without an access_token: {sorted(body)}", code="bad_token_response")
    now = datetime.now(UTC)
    return TokenSet(
        access_token=access,
        refresh_token=body.get("refresh_token") or None,
        expires_at=expiry(body.get("expires_in"), now),
        refresh_expires_at=expiry(body.get("refresh_token_expires_in") or body.get("refresh_expires_in"), now),
        scopes=scopes_of(body.get("scope"), scope_separator, requested),
        token_type=str(body.get("token_type") or "bearer").lower(),
        extra=dict(extra or {}),
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
