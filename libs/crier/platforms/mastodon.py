"""Mastodon: OAuth 2.0 against the user's own instance.

- Each instance is its own authorization server: register Crier there first with `register_app`
  (`POST /api/v1/apps`) and keep the client id/secret with the instance URL in
  `AppCredentials.instance_url`.
- PKCE S256 is supported (Mastodon 4.3+) and sent. Scopes are space-separated.
- Tokens never expire and there are no refresh tokens; a 401 means the token was revoked
  (GrantRevoked). `revoke` calls `POST /oauth/revoke`.
- The provider needs an instance for every call: `exchange_code`/`revoke` take it from the app,
  `accounts` from `tokens.extra["instance_url"]` (set by `exchange_code`), and `identity`, which
  only has a token, from the instance the provider was bound to (`provider.for_instance(url)`, or
  `platforms.providers.provider("mastodon", instance_url=...)`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import httpx

from crier.platforms import _oauth_http as oh
from crier.platforms._code_flow import CodeFlowProvider
from crier.platforms.oauth import (
    AppCredentials,
    ConnectableAccount,
    GrantRevoked,
    OAuthError,
    PlatformEndpoints,
    TokenSet,
)

DEFAULT_SCOPES = ("read:accounts", "write:statuses", "write:media")


@dataclass(frozen=True)
class RegisteredApp:
    client_id: str
    client_secret: str
    app_id: str | None
    instance_url: str


def _classify(status: int, body: Any, context: oh.Context) -> OAuthError:
    if context == "api" and status == 401:
        detail = body.get("error") if isinstance(body, dict) else body
        return GrantRevoked(f"access token refused: {detail}")
    return oh.oauth2_error(status, body, context)


async def register_app(
    http: httpx.AsyncClient,
    instance_url: str,
    redirect_uri: str,
    scopes: tuple[str, ...] = DEFAULT_SCOPES,
    *,
    client_name: str = "Crier",
    website: str | None = None,
) -> RegisteredApp:
    """Register an OAuth application on an instance (`POST /api/v1/apps`)."""
    base = instance_url.rstrip("/")
    body = await oh.send(
        http,
        "mastodon",
        "POST",
        f"{base}/api/v1/apps",
        context="token",
        classify=_classify,
        json=oh.form(client_name=client_name, redirect_uris=redirect_uri, scopes=" ".join(scopes), website=website),
    )
    return RegisteredApp(
        client_id=body["client_id"],
        client_secret=body["client_secret"],
        app_id=str(body["id"]) if body.get("id") is not None else None,
        instance_url=base,
    )


class MastodonProvider(CodeFlowProvider):
    platform = "mastodon"
    uses_pkce = True
    default_scopes = DEFAULT_SCOPES
    authorize_path = "/oauth/authorize"
    token_path = "/oauth/token"
    revoke_path = "/oauth/revoke"

    def __init__(self, endpoints: PlatformEndpoints | None = None, *, fixed: bool = False) -> None:
        # `fixed`: every instance is served at `endpoints` (the simulator); otherwise the
        # instance comes from the app, the tokens or for_instance().
        self.fixed = fixed
        self.endpoints = endpoints or PlatformEndpoints(auth_base="", api_base="")

    def for_instance(self, instance_url: str) -> MastodonProvider:
        if self.fixed:
            return self
        base = instance_url.rstrip("/")
        return MastodonProvider(PlatformEndpoints(auth_base=base, api_base=base))

    def _at(self, instance_url: str | None) -> MastodonProvider:
        if self.fixed or (instance_url is None and self.endpoints.api_base):
            return self
        if not instance_url:
            raise OAuthError("mastodon needs the instance URL", code="instance_required")
        return self.for_instance(instance_url)

    def classify(self, status: int, body: Any, context: oh.Context) -> OAuthError:
        return _classify(status, body, context)

    def authorization_url(
        self, app: AppCredentials, *, state: str, code_challenge: str | None, scopes: tuple[str, ...]
    ) -> str:
        at = self._at(app.instance_url)
        return CodeFlowProvider.authorization_url(at, app, state=state, code_challenge=code_challenge, scopes=scopes)

    async def exchange_code(
        self, http: httpx.AsyncClient, app: AppCredentials, *, code: str, code_verifier: str | None
    ) -> TokenSet:
        at = self._at(app.instance_url)
        tokens = await CodeFlowProvider.exchange_code(at, http, app, code=code, code_verifier=code_verifier)
        return replace(tokens, extra={**tokens.extra, "instance_url": at.endpoints.api_base})

    async def refresh(self, http: httpx.AsyncClient, app: AppCredentials, refresh_token: str) -> TokenSet:
        raise OAuthError("mastodon tokens do not expire and cannot be refreshed", code="refresh_not_supported")

    async def revoke(self, http: httpx.AsyncClient, app: AppCredentials, token: str) -> None:
        await CodeFlowProvider.revoke(self._at(app.instance_url), http, app, token)

    async def accounts(self, http: httpx.AsyncClient, tokens: TokenSet) -> list[ConnectableAccount]:
        at = self._at(tokens.extra.get("instance_url"))
        return [await at.identity(http, tokens.access_token)]

    async def identity(self, http: httpx.AsyncClient, access_token: str) -> ConnectableAccount:
        at = self._at(None)
        me = await at.get(http, "api", "/api/v1/accounts/verify_credentials", access_token)
        instance = at.endpoints.api_base
        return ConnectableAccount(
            network_unique_id=f"{me['id']}@{httpx.URL(instance).host}",
            username=me.get("acct") or me.get("username"),
            display_name=me.get("display_name") or me.get("username"),
            account_type="profile",
            profile_image_url=me.get("avatar"),
            extra={"instance_url": instance, "account_id": str(me["id"]), "url": me.get("url")},
        )


provider = MastodonProvider()
