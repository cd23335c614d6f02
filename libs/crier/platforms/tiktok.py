"""TikTok: Login Kit v2 (OAuth 2.0 on www.tiktok.com and open.tiktokapis.com).

- The app is identified by `client_key`, not `client_id`; scopes are comma-separated; PKCE S256 is
  sent (the connect service makes the challenge).
- Access tokens live 24 hours, refresh tokens 365 days. A refresh answers a refresh token that may
  or may not differ from the old one; always store the one returned.
- `revoke` ends the whole authorization.
- Token errors are RFC 6749-shaped plus a `log_id`; API answers always wrap an
  `{"error": {"code", "message", "log_id"}}` whose code is "ok" on success, and TikTok sometimes
  reports errors with HTTP 200, so success is decided from the body.

Publishing (`publisher`, `rules`: the Content Posting API's direct posts of a video or photos) is
in `tiktok_posts`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx

from crier.platforms import _oauth_http as oh
from crier.platforms._code_flow import CodeFlowProvider
from crier.platforms.oauth import (
    AccessTokenInvalid,
    AppCredentials,
    ConnectableAccount,
    OAuthError,
    OAuthUnavailable,
    PlatformEndpoints,
    TokenSet,
)
from crier.platforms.tiktok_posts import TikTokConfig, TikTokRules, publisher, rules

_USER_FIELDS = "open_id,union_id,avatar_url,display_name,username"


def _ok(status: int, body: Any) -> bool:
    if not 200 <= status < 300 or not isinstance(body, dict):
        return False
    err = body.get("error")
    if isinstance(err, dict):
        return err.get("code") in (None, "ok")
    return not err


class TikTokProvider(CodeFlowProvider):
    platform = "tiktok"
    uses_pkce = True
    # video.list: imports read the account's videos (`timelines.tiktok`).
    default_scopes = ("user.info.basic", "user.info.profile", "video.publish", "video.upload", "video.list")
    real_endpoints = PlatformEndpoints(auth_base="https://www.tiktok.com", api_base="https://open.tiktokapis.com")
    authorize_path = "/v2/auth/authorize/"
    token_path = "/v2/oauth/token/"
    revoke_path = "/v2/oauth/revoke/"
    scope_separator = ","
    client_id_param = "client_key"

    def classify(self, status: int, body: Any, context: oh.Context) -> OAuthError:
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(err, dict):
            code = str(err.get("code") or f"http_{status}")
            message = str(err.get("message") or code)
            if code == "rate_limit_exceeded":
                return OAuthUnavailable(message, code="rate_limited")
            if code in ("access_token_invalid", "invalid_token"):
                return AccessTokenInvalid(message)
            return OAuthError(message, code=code)
        return oh.oauth2_error(status, body, context)

    async def token_request_to(
        self, http: httpx.AsyncClient, app: AppCredentials, path: str, fields: dict[str, str]
    ) -> Any:
        auth_fields, _ = self._client_auth(app)
        return await oh.send(
            http,
            self.platform,
            "POST",
            self.url("api", path),
            context="token",
            classify=self.classify,
            ok=_ok,
            data={**fields, **auth_fields},
            headers={"Cache-Control": "no-cache"},
        )

    def tokens(self, body: Any, app: AppCredentials) -> TokenSet:
        return replace(super().tokens(body, app), extra={"open_id": body.get("open_id")})

    async def identity(self, http: httpx.AsyncClient, access_token: str) -> ConnectableAccount:
        body = await oh.send(
            http,
            self.platform,
            "GET",
            self.url("api", "/v2/user/info/"),
            context="api",
            classify=self.classify,
            ok=_ok,
            headers=oh.bearer(access_token),
            params={"fields": _USER_FIELDS},
        )
        user = (body.get("data") or {}).get("user") or {}
        return ConnectableAccount(
            network_unique_id=str(user["open_id"]),
            username=user.get("username"),
            display_name=user.get("display_name"),
            account_type="profile",
            profile_image_url=user.get("avatar_url"),
            extra={"union_id": user.get("union_id")},
        )


provider = TikTokProvider()

__all__ = ["TikTokConfig", "TikTokProvider", "TikTokRules", "provider", "publisher", "rules"]
