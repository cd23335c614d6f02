"""Google's OAuth 2.0 for web server apps, shared by YouTube and Google Business Profile.

`access_type=offline` asks for a refresh token and `prompt=consent` makes Google issue one even
when the user granted the app before (otherwise only the first consent gets one). PKCE S256 is
supported and sent. Access tokens live an hour; refreshing never returns a new refresh token.
Revoking either token revokes the whole grant. API errors are `{"error": {"code", "message",
"status", "details"}}` (older APIs add `"errors": [{"reason"}]`); quota and rate-limit reasons are
transient, also in a 403.

Publishing (`publishing_error`): a 400 says which fields it refused only in its `details` (a
BadRequest's `fieldViolations`, Business Profile's ValidationError `errorDetails`), so those go into
the message Crier records.
"""

from __future__ import annotations

from typing import Any

import httpx

from crier.platforms import _oauth_http as oh
from crier.platforms._code_flow import CodeFlowProvider
from crier.platforms.base import ContentRejected, PlatformError, RateLimited
from crier.platforms.oauth import AccessTokenInvalid, AppCredentials, OAuthError, OAuthUnavailable, PlatformEndpoints

_TRANSIENT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "backendError"}
# `errors[].reason` of older APIs, `details[].reason` (google.rpc.ErrorInfo) of newer ones.
_RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "RATE_LIMIT_EXCEEDED"}


def google_endpoints(**apis: str) -> PlatformEndpoints:
    return PlatformEndpoints(
        auth_base="https://accounts.google.com",
        api_base="https://www.googleapis.com",
        others=(("token", "https://oauth2.googleapis.com"), *apis.items()),
    )


class GoogleProvider(CodeFlowProvider):
    uses_pkce = True
    authorize_path = "/o/oauth2/v2/auth"
    token_path = "/token"
    revoke_path = "/revoke"
    token_host = "token"
    authorize_extra = (("access_type", "offline"), ("prompt", "consent"), ("include_granted_scopes", "true"))

    def classify(self, status: int, body: Any, context: oh.Context) -> OAuthError:
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(err, dict):
            reasons = {e.get("reason") for e in err.get("errors") or [] if isinstance(e, dict)}
            message = str(err.get("message") or err.get("status") or f"HTTP {status}")
            if reasons & _TRANSIENT_REASONS or err.get("status") == "RESOURCE_EXHAUSTED":
                return OAuthUnavailable(message, code="rate_limited")
            if status == 401 or err.get("status") == "UNAUTHENTICATED":
                return AccessTokenInvalid(message)
            if status == 403:
                return OAuthError(
                    message,
                    code="insufficient_scope"
                    if "insufficient" in message.lower()
                    else (next(iter(reasons), None) or "forbidden"),
                )
            return OAuthError(message, code=str(err.get("status") or f"http_{status}").lower())
        if context == "token" and err == "invalid_token":
            # The revoke endpoint's answer for a token that is already dead: nothing left to revoke.
            return OAuthError(str(body.get("error_description") or err), code="invalid_token")
        return oh.oauth2_error(status, body, context)

    async def revoke(self, http: httpx.AsyncClient, app: AppCredentials, token: str) -> None:
        """Revoking either token ends the grant; a token that is already dead counts as revoked."""
        try:
            await oh.send(
                http,
                self.platform,
                "POST",
                self.url("token", self.revoke_path or ""),
                context="token",
                classify=self.classify,
                data={"token": token},
            )
        except OAuthError as exc:
            if exc.code != "invalid_token":
                raise


def publishing_error(resp: httpx.Response, body: Any) -> PlatformError | None:
    """What a Google API's refusal means where its status alone says too little (see above); None
    leaves it to the shared classification."""
    err = body.get("error") if isinstance(body, dict) else None
    if resp.status_code < 400 or not isinstance(err, dict):
        return None
    details = [d for d in err.get("details") or [] if isinstance(d, dict)]
    reasons = {e.get("reason") for e in [*(err.get("errors") or []), *details] if isinstance(e, dict)}
    said = str(err.get("message") or err.get("status") or f"HTTP {resp.status_code}")
    if resp.status_code in (403, 429) and (reasons & _RATE_REASONS or err.get("status") == "RESOURCE_EXHAUSTED"):
        return RateLimited(f"google rate limit: {said}", retry_after_s=oh.retry_after(resp.headers))
    if resp.status_code == 400:
        fields = [
            f"{v.get('field')}: {v.get('description') or v.get('message')}"
            for d in details
            for v in [*(d.get("fieldViolations") or []), *(d.get("errorDetails") or [])]
            if isinstance(v, dict) and (v.get("description") or v.get("message")) not in (None, said)
        ]
        return ContentRejected(f"{said} ({'; '.join(fields)})" if fields else said)
    return None
