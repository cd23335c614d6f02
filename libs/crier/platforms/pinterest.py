"""Pinterest: API v5 OAuth 2.0.

- No PKCE; scopes comma-separated; the client authenticates with HTTP Basic at the token endpoint.
- Access tokens live 30 days. Refresh tokens are "continuous" (60 days, renewed on each refresh):
  every refresh answers a new refresh token, which replaces the old one. Apps created before
  2025-09-25 must ask for that behaviour with `continuous_refresh=true`, which is always sent.
- Pinterest's revocation endpoint only accepts tokens of system users, not of users who connected
  through OAuth: `revoke` has nothing to call for them and returns; the user removes the app under
  their Pinterest security settings.
- Errors are `{"code", "message"}`; code 2 ("Authentication failed.") at the token endpoint is a
  bad client secret, any other refusal of a refresh means the refresh token is dead.

Publishing (`publisher`, `rules`: a Pin on a board, with its media) is in `pinterest_pins`.
"""

from __future__ import annotations

from typing import Any

import httpx

from crier.platforms import _oauth_http as oh
from crier.platforms._code_flow import CodeFlowProvider
from crier.platforms.oauth import (
    AccessTokenInvalid,
    AppCredentials,
    ConnectableAccount,
    GrantRevoked,
    OAuthError,
    PlatformEndpoints,
    TokenSet,
)
from crier.platforms.pinterest_pins import PinterestConfig, PinterestRules, publisher, rules

_AUTH_FAILED = 2


class PinterestProvider(CodeFlowProvider):
    platform = "pinterest"
    default_scopes = ("boards:read", "boards:write", "pins:read", "pins:write", "user_accounts:read")
    real_endpoints = PlatformEndpoints(auth_base="https://www.pinterest.com", api_base="https://api.pinterest.com")
    authorize_path = "/oauth/"
    token_path = "/v5/oauth/token"
    scope_separator = ","
    client_auth = "basic"

    def classify(self, status: int, body: Any, context: oh.Context) -> OAuthError:
        if not (isinstance(body, dict) and "code" in body and "message" in body):
            return oh.oauth2_error(status, body, context)
        code, message = body["code"], str(body["message"])
        if context == "api":
            if status == 401:
                return AccessTokenInvalid(message)
            return OAuthError(message, code="insufficient_scope" if status == 403 else f"pinterest_{code}")
        if code == _AUTH_FAILED or status == 401:
            return OAuthError(message, code="invalid_client")
        if status in (400, 403, 404):
            return GrantRevoked(message)
        return OAuthError(message, code=f"pinterest_{code}")

    async def refresh(self, http: httpx.AsyncClient, app: AppCredentials, refresh_token: str) -> TokenSet:
        body = await self.token_request(
            http, app, {"grant_type": "refresh_token", "refresh_token": refresh_token, "continuous_refresh": "true"}
        )
        return self.tokens(body, app)

    async def revoke(self, http: httpx.AsyncClient, app: AppCredentials, token: str) -> None:
        return None  # user tokens cannot be revoked by the app; see the module docstring

    async def identity(self, http: httpx.AsyncClient, access_token: str) -> ConnectableAccount:
        me = await self.get(http, "api", "/v5/user_account", access_token)
        return ConnectableAccount(
            network_unique_id=str(me.get("id") or me["username"]),
            username=me.get("username"),
            display_name=me.get("business_name") or me.get("username"),
            account_type="business" if me.get("account_type") == "BUSINESS" else "profile",
            profile_image_url=me.get("profile_image"),
            extra={"account_type": me.get("account_type"), "website_url": me.get("website_url")},
        )


provider = PinterestProvider()

__all__ = ["PinterestConfig", "PinterestProvider", "PinterestRules", "provider", "publisher", "rules"]
