"""Facebook Pages: Facebook Login, then one connectable account per Page the user manages.

- The Login dialog lives on www.facebook.com, everything else on the Graph API; there is no PKCE and
  no refresh token. The code buys a short-lived user token (about 1-2 hours), which is exchanged
  at once (`grant_type=fb_exchange_token`) for a long-lived one (about 60 days).
- Pages come from `/me/accounts`, each with its own Page access token; a Page token obtained with
  a long-lived user token does not expire, so Page accounts carry their token and no expiry.
- `refresh` exchanges a still-valid long-lived user token for a fresh one (Facebook's only way to
  extend it); once it has expired or the user removed the app, only a new login helps.
- `revoke` removes the app's permissions for the user (`DELETE /me/permissions`): pass the user
  token, which also invalidates every Page token derived from it.
- Graph errors are `{"error": {"code", "error_subcode", "type", "message"}}`: code 190 is a dead
  token (GrantRevoked: there is nothing to refresh with), 4/17/32/613 are rate limits, 1/2 are
  transient.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx

from crier.contracts.common import Platform
from crier.platforms import _oauth_http as oh
from crier.platforms._code_flow import CodeFlowProvider
from crier.platforms.oauth import (
    AppCredentials,
    ConnectableAccount,
    GrantRevoked,
    OAuthError,
    OAuthUnavailable,
    PlatformEndpoints,
    TokenSet,
)

GRAPH_VERSION = "v23.0"
_RATE_LIMIT_CODES = {4, 17, 32, 613, 80001}
_TRANSIENT_CODES = {1, 2}
# Code 100 with these subcodes: the authorization code expired (36007) or was used (36009).
_DEAD_CODE_SUBCODES = {36007, 36009}


def graph_error(status: int, body: Any, context: oh.Context) -> OAuthError:
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        return oh.oauth2_error(status, body, context)
    code, subcode = err.get("code"), err.get("error_subcode")
    message = str(err.get("message") or f"HTTP {status}")
    if code in _RATE_LIMIT_CODES:
        return OAuthUnavailable(message, code="rate_limited")
    if code == 190 or (code == 100 and subcode in _DEAD_CODE_SUBCODES):
        return GrantRevoked(message)
    if code == 101 or (code == 1 and "client secret" in message.lower()):
        return OAuthError(message, code="invalid_client")
    if code in _TRANSIENT_CODES or err.get("is_transient"):
        return OAuthUnavailable(message)
    if code in (10, 200) or (isinstance(code, int) and 200 <= code <= 299):
        return OAuthError(message, code="permission_denied")
    return OAuthError(message, code=f"graph_{code}" if code is not None else f"http_{status}")


class FacebookProvider(CodeFlowProvider):
    platform: ClassVar[Platform] = "facebook"
    multi_account = True
    default_scopes = (
        "public_profile",
        "pages_show_list",
        "pages_read_engagement",
        "pages_manage_posts",
        "business_management",
    )
    real_endpoints = PlatformEndpoints(auth_base="https://www.facebook.com", api_base="https://graph.facebook.com")
    authorize_path = f"/{GRAPH_VERSION}/dialog/oauth"
    token_path = f"/{GRAPH_VERSION}/oauth/access_token"
    scope_separator = ","
    page_fields = "id,name,username,category,access_token,tasks,picture{url}"

    def classify(self, status: int, body: Any, context: oh.Context) -> OAuthError:
        return graph_error(status, body, context)

    def graph(self, path: str) -> str:
        return self.url("api", f"/{GRAPH_VERSION}{path}")

    async def _token_get(self, http: httpx.AsyncClient, params: dict[str, str]) -> Any:
        return await oh.send(
            http,
            self.platform,
            "GET",
            self.url("api", self.token_path),
            context="token",
            classify=self.classify,
            params=params,
        )

    async def exchange_code(
        self, http: httpx.AsyncClient, app: AppCredentials, *, code: str, code_verifier: str | None
    ) -> TokenSet:
        short = await self._token_get(
            http,
            {
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "redirect_uri": app.redirect_uri,
                "code": code,
            },
        )
        return await self.refresh(http, app, short["access_token"])

    async def refresh(self, http: httpx.AsyncClient, app: AppCredentials, refresh_token: str) -> TokenSet:
        body = await self._token_get(
            http,
            {
                "grant_type": "fb_exchange_token",
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "fb_exchange_token": refresh_token,
            },
        )
        return oh.token_set(body, scope_separator=",", requested=app.scopes or self.default_scopes)

    async def revoke(self, http: httpx.AsyncClient, app: AppCredentials, token: str) -> None:
        await oh.send(
            http,
            self.platform,
            "DELETE",
            self.graph("/me/permissions"),
            context="token",
            classify=self.classify,
            params={"access_token": token},
        )

    async def pages(self, http: httpx.AsyncClient, user_token: str, fields: str) -> list[dict[str, Any]]:
        """Every page of `/me/accounts`, following the cursor's `next` URL."""
        url: str | None = f"{self.graph('/me/accounts')}?{urlencode({'fields': fields, 'limit': '100'})}"
        out: list[dict[str, Any]] = []
        while url:
            page = await oh.send(
                http, self.platform, "GET", url, context="api", classify=self.classify, headers=oh.bearer(user_token)
            )
            out += page.get("data") or []
            url = (page.get("paging") or {}).get("next")
        return out

    async def accounts(self, http: httpx.AsyncClient, tokens: TokenSet) -> list[ConnectableAccount]:
        return [self._page(p) for p in await self.pages(http, tokens.access_token, self.page_fields)]

    async def identity(self, http: httpx.AsyncClient, access_token: str) -> ConnectableAccount:
        """With a Page token `/me` is the Page; with a user token it is the user."""
        me = await self.get(
            http,
            "api",
            f"/{GRAPH_VERSION}/me",
            access_token,
            params={"fields": "id,name,picture{url}", "metadata": "1"},
        )
        kind = (me.get("metadata") or {}).get("type")
        return ConnectableAccount(
            network_unique_id=str(me["id"]),
            username=me.get("username"),
            display_name=me.get("name"),
            account_type="page" if kind == "page" else "profile",
            profile_image_url=_picture(me),
        )

    def _page(self, page: dict[str, Any]) -> ConnectableAccount:
        return ConnectableAccount(
            network_unique_id=str(page["id"]),
            username=page.get("username"),
            display_name=page.get("name"),
            account_type="page",
            profile_image_url=_picture(page),
            access_token=page.get("access_token"),
            extra={"category": page.get("category"), "tasks": page.get("tasks") or []},
        )


def _picture(node: dict[str, Any]) -> str | None:
    picture = node.get("picture")
    if isinstance(picture, dict):
        return (picture.get("data") or {}).get("url")
    return None


provider = FacebookProvider()
