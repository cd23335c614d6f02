"""Threads: Meta's Threads API OAuth on threads.net and graph.threads.net.

- No PKCE; the scope list is comma-separated. The code buys a short-lived token (1 hour) plus the
  user id; it is exchanged at once (`th_exchange_token`) for a long-lived token (60 days).
- There is no separate refresh token: a long-lived token refreshes itself
  (`GET /refresh_access_token?grant_type=th_refresh_token`) once it is at least 24 hours old and
  until it expires. So the TokenSet's `refresh_token` is the long-lived access token itself and
  each refresh returns the new token in both fields.
- Threads offers apps no token revocation: the user removes the app in their Threads settings.
  `revoke` therefore has nothing to call and returns; the token lapses within 60 days unless
  refreshed.
- Errors are Graph-shaped (see `facebook.graph_error`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx

from crier.platforms import _oauth_http as oh
from crier.platforms._code_flow import CodeFlowProvider
from crier.platforms.facebook import graph_error
from crier.platforms.oauth import AppCredentials, ConnectableAccount, OAuthError, PlatformEndpoints, TokenSet

_PROFILE_FIELDS = "id,username,name,threads_profile_picture_url,threads_biography"


class ThreadsProvider(CodeFlowProvider):
    platform = "threads"
    default_scopes = ("threads_basic", "threads_content_publish", "threads_manage_replies")
    real_endpoints = PlatformEndpoints(auth_base="https://threads.net", api_base="https://graph.threads.net")
    authorize_path = "/oauth/authorize"
    token_path = "/oauth/access_token"
    scope_separator = ","

    def classify(self, status: int, body: Any, context: oh.Context) -> OAuthError:
        return graph_error(status, body, context)

    def _long_lived(self, body: Any, app: AppCredentials, user_id: str | None) -> TokenSet:
        tokens = oh.token_set(
            body,
            scope_separator=",",
            requested=app.scopes or self.default_scopes,
            extra={"user_id": user_id} if user_id else {},
        )
        # The long-lived token is its own refresh credential, valid as long as the token itself.
        return replace(tokens, refresh_token=tokens.access_token, refresh_expires_at=tokens.expires_at)

    async def exchange_code(
        self, http: httpx.AsyncClient, app: AppCredentials, *, code: str, code_verifier: str | None
    ) -> TokenSet:
        short = await self.token_request(
            http, app, {"grant_type": "authorization_code", "code": code, "redirect_uri": app.redirect_uri}
        )
        body = await oh.send(
            http,
            self.platform,
            "GET",
            self.url("api", "/access_token"),
            context="token",
            classify=self.classify,
            params={
                "grant_type": "th_exchange_token",
                "client_secret": app.client_secret,
                "access_token": short["access_token"],
            },
        )
        return self._long_lived(body, app, str(short.get("user_id") or "") or None)

    async def refresh(self, http: httpx.AsyncClient, app: AppCredentials, refresh_token: str) -> TokenSet:
        body = await oh.send(
            http,
            self.platform,
            "GET",
            self.url("api", "/refresh_access_token"),
            context="token",
            classify=self.classify,
            params={"grant_type": "th_refresh_token", "access_token": refresh_token},
        )
        return self._long_lived(body, app, None)

    async def revoke(self, http: httpx.AsyncClient, app: AppCredentials, token: str) -> None:
        return None  # no revocation endpoint exists; see the module docstring

    async def identity(self, http: httpx.AsyncClient, access_token: str) -> ConnectableAccount:
        me = await self.get(http, "api", "/v1.0/me", access_token, params={"fields": _PROFILE_FIELDS})
        return ConnectableAccount(
            network_unique_id=str(me["id"]),
            username=me.get("username"),
            display_name=me.get("name") or me.get("username"),
            account_type="profile",
            profile_image_url=me.get("threads_profile_picture_url"),
            extra={"biography": me.get("threads_biography")},
        )


provider = ThreadsProvider()
