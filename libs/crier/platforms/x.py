"""X (Twitter): OAuth 2.0 authorization code with PKCE, and (later) publishing through API v2.

- PKCE S256 is mandatory; a confidential client authenticates with HTTP Basic at the token endpoint.
- Access tokens live 2 hours. A refresh token is issued only with the `offline.access` scope, and it
  rotates: every refresh answers a new one and the old one stops working, so the caller must store
  the new refresh token before anything else.
- Revoking the refresh token ends the grant; revoking only the access token leaves the refresh
  token working, so pass the refresh token to `revoke` when there is one.
- X reports a dead refresh token as `invalid_request` ("Value passed for the token was invalid"),
  not `invalid_grant`; that is classified as GrantRevoked here.
"""

from __future__ import annotations

from typing import Any

import httpx

from crier.platforms import _oauth_http as oh
from crier.platforms._code_flow import CodeFlowProvider
from crier.platforms.oauth import ConnectableAccount, GrantRevoked, OAuthError, PlatformEndpoints


class XProvider(CodeFlowProvider):
    platform = "x"
    uses_pkce = True
    default_scopes = ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access")
    real_endpoints = PlatformEndpoints(auth_base="https://x.com", api_base="https://api.x.com")
    authorize_path = "/i/oauth2/authorize"
    token_path = "/2/oauth2/token"
    revoke_path = "/2/oauth2/revoke"
    client_auth = "basic"

    def classify(self, status: int, body: Any, context: oh.Context) -> OAuthError:
        if context == "token" and isinstance(body, dict) and body.get("error") == "invalid_request":
            description = str(body.get("error_description") or "")
            if "token was invalid" in description or "authorization code" in description.lower():
                return GrantRevoked(description)
        if context == "api" and isinstance(body, dict) and "title" in body:
            # API v2 problem details: {"title", "detail", "type", "status"}.
            body = {"error": body.get("title"), "error_description": body.get("detail")}
        return super().classify(status, body, context)

    async def identity(self, http: httpx.AsyncClient, access_token: str) -> ConnectableAccount:
        body = await self.get(
            http, "api", "/2/users/me", access_token, params={"user.fields": "profile_image_url,verified"}
        )
        user = body.get("data") or {}
        return ConnectableAccount(
            network_unique_id=str(user["id"]),
            username=user.get("username"),
            display_name=user.get("name"),
            account_type="profile",
            profile_image_url=user.get("profile_image_url"),
            extra={"verified": user.get("verified", False)},
        )


provider = XProvider()
