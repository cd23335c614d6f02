"""What Meta's Graph APIs (Facebook Pages, Instagram, Threads) share: the error answer
`{"error": {"message", "type", "code", "error_subcode", "is_transient", "fbtrace_id"}}`, whose
`code` says more than the HTTP status it comes with, and the usage headers that say how long a
rate limit lasts.

- 190 (and 102): the access token is dead. Connect gets one forced refresh (`TokenRejected`); with
  OAuth, nothing can renew it (`GrantRevoked`).
- 4 (app), 17 (user), 32 (Page), 613 (call rate), 80001-80014 (business use case): rate limits,
  sent with HTTP 400 or 403 as often as 429. Graph sends no Retry-After; the wait is in
  `X-Business-Use-Case-Usage` (`estimated_time_to_regain_access`, minutes, per business object)
  or `X-Ad-Account-Usage` (`reset_time_duration`, seconds). A stand-in's Retry-After wins.
- 1, 2 or `is_transient`: Meta's own outage; retried.
- 10, 200-299: a permission the token lacks. 100: an invalid parameter, in Meta's own words.
- 368: the content was blocked as abusive or against policy; 506: a duplicate of the Page's
  last post. Neither is worth retrying.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from crier.platforms import _oauth_http as oh
from crier.platforms import _publish_http as ph
from crier.platforms.base import ContentRejected, PlatformError, RateLimited, TokenRejected, TransientError
from crier.platforms.oauth import GrantRevoked, OAuthError, OAuthUnavailable

DEAD_TOKEN_CODES = frozenset({102, 190})
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
TRANSIENT_CODES = frozenset({1, 2})
PERMISSION_CODES = frozenset({3, 10, *range(200, 300)})
BLOCKED = 368
DUPLICATE = 506
# Code 100 with these subcodes: the authorization code expired (36007) or was used (36009).
_DEAD_CODE_SUBCODES = frozenset({36007, 36009})


def error_of(body: Any) -> Mapping[str, Any] | None:
    """The `error` object of a Graph answer, if it is one."""
    err = body.get("error") if isinstance(body, Mapping) else None
    return err if isinstance(err, Mapping) else None


def graph_error(status: int, body: Any, context: oh.Context) -> OAuthError:
    """A Graph refusal of an OAuth or identity call, as connect's `OAuthError`s."""
    err = error_of(body)
    if err is None:
        return oh.oauth2_error(status, body, context)
    code, subcode = err.get("code"), err.get("error_subcode")
    message = str(err.get("message") or f"HTTP {status}")
    if code in RATE_LIMIT_CODES:
        return OAuthUnavailable(message, code="rate_limited")
    if code in DEAD_TOKEN_CODES or (code == 100 and subcode in _DEAD_CODE_SUBCODES):
        return GrantRevoked(message)
    if code == 101 or (code == 1 and "client secret" in message.lower()):
        return OAuthError(message, code="invalid_client")
    if code in TRANSIENT_CODES or err.get("is_transient"):
        return OAuthUnavailable(message)
    if code in PERMISSION_CODES:
        return OAuthError(message, code="permission_denied")
    return OAuthError(message, code=f"graph_{code}" if code is not None else f"http_{status}")


def classify(resp: httpx.Response, body: Any) -> PlatformError | None:
    """A Graph refusal of a publishing call by its `code`, whatever its HTTP status; None leaves
    the answer to the status (a 2xx, a gateway's 502/504, an answer that is not Graph's)."""
    err = error_of(body)
    if err is None or resp.status_code < 400 or resp.status_code in (502, 504):
        return None
    code = err.get("code")
    said = ph.message_of(body) or f"HTTP {resp.status_code}"
    if code in DEAD_TOKEN_CODES:
        return TokenRejected(said)
    if code in RATE_LIMIT_CODES:
        return RateLimited(f"{said} (#{code})", retry_after_s=rate_limit_wait(resp.headers))
    if code in TRANSIENT_CODES or err.get("is_transient") is True:
        # A 5xx says the same by its status (with the status in the message); a 4xx needs saying.
        return None if resp.status_code >= 500 else TransientError(said, retry_after_s=oh.retry_after(resp.headers))
    if code in PERMISSION_CODES:
        return PlatformError(said, code="missing_permission")
    if code == DUPLICATE:
        return ContentRejected(said, code="duplicate")
    if code == BLOCKED or code == 100:
        return ContentRejected(said)
    return None


def rate_limit_wait(headers: httpx.Headers) -> float | None:
    """Seconds until a Graph rate limit lifts: Retry-After if a stand-in sends one, else the
    longest `estimated_time_to_regain_access` (minutes) or `reset_time_duration` (seconds) in the
    usage headers; None when nothing says."""
    hinted = oh.retry_after(headers)
    if hinted is not None:
        return hinted
    waits: list[float] = []
    for entries in _usage(headers.get("x-business-use-case-usage")).values():
        for entry in entries if isinstance(entries, list) else []:
            minutes = entry.get("estimated_time_to_regain_access") if isinstance(entry, Mapping) else None
            if isinstance(minutes, int | float):
                waits.append(60.0 * minutes)
    seconds = _usage(headers.get("x-ad-account-usage")).get("reset_time_duration")
    if isinstance(seconds, int | float):
        waits.append(float(seconds))
    return max(waits) if waits else None


def _usage(raw: str | None) -> dict[str, Any]:
    try:
        found = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def instant(value: Any) -> datetime | None:
    """A Graph time (`2026-05-01T12:00:00+0000`), or None when missing or malformed."""
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def same_text(sent: str, found: Any) -> bool:
    """Whether a post's text as the platform keeps it is the text Crier sent (whitespace aside)."""
    return isinstance(found, str) and " ".join(found.split()) == " ".join(sent.split())
