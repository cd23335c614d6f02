"""Bluesky (AT Protocol): sessions created with an app password, not a browser redirect.

The user creates an app password in Bluesky's settings (Settings → Privacy and security → App
passwords) and gives it to Crier with their handle; `create_session` trades the pair for a
session (`com.atproto.server.createSession`) on their PDS (default bsky.social, or
`AppCredentials.instance_url` for a self-hosted PDS). The app password itself is not kept.

- `accessJwt` lives about 2 hours, `refreshJwt` about 90 days; both expiries are read from the
  JWTs' `exp` claim. `refresh` (`refreshSession`, authenticated with the refresh JWT) rotates:
  it answers a new refresh JWT and the old one stops working.
- `revoke` deletes the session (`deleteSession`): pass the refresh JWT.
- XRPC errors are `{"error": <name>, "message"}`: `ExpiredToken`/`InvalidToken` on a refresh mean
  the session is gone (GrantRevoked); on an API call an expired access JWT wants a refresh.
- `authorization_url`/`exchange_code` exist for the OAuthProvider protocol but refuse: the flow is
  "app_password" (`provider.flow`). atproto OAuth (PAR + DPoP) is not implemented.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import httpx

from crier.contracts.common import Platform
from crier.platforms import _oauth_http as oh
from crier.platforms.oauth import (
    AccessTokenInvalid,
    AppCredentials,
    ConnectableAccount,
    GrantRevoked,
    OAuthError,
    PlatformEndpoints,
    TokenSet,
)

DEFAULT_PDS = "https://bsky.social"
_DEAD_SESSION = {"ExpiredToken", "InvalidToken", "AccountTakedown", "AccountDeactivated"}


def jwt_expiry(token: str) -> datetime | None:
    """The `exp` claim of a JWT, read without verifying it (only the PDS can, and it will)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return datetime.fromtimestamp(int(claims["exp"]), UTC)
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def _classify(status: int, body: Any, context: oh.Context) -> OAuthError:
    name = body.get("error") if isinstance(body, dict) else None
    message = str((body.get("message") if isinstance(body, dict) else None) or name or f"HTTP {status}")
    if name == "AuthFactorTokenRequired":
        return OAuthError(message, code="auth_factor_required")
    if context == "token" and (name in _DEAD_SESSION or status == 401):
        return GrantRevoked(message)
    if context == "api" and (name in ("ExpiredToken", "InvalidToken") or status == 401):
        return AccessTokenInvalid(message)
    return OAuthError(message, code=name if isinstance(name, str) else f"http_{status}")


class BlueskyProvider:
    platform: Platform = "bluesky"
    uses_pkce = False
    multi_account = False
    default_scopes: tuple[str, ...] = ("com.atproto.appPass",)
    flow = "app_password"

    def __init__(self, endpoints: PlatformEndpoints | None = None, *, fixed: bool = False) -> None:
        self.fixed = fixed
        self.endpoints = endpoints or PlatformEndpoints(auth_base=DEFAULT_PDS, api_base=DEFAULT_PDS)

    def __repr__(self) -> str:
        return f"<BlueskyProvider {self.endpoints.api_base}>"

    def for_instance(self, instance_url: str | None) -> BlueskyProvider:
        if self.fixed or not instance_url:
            return self
        base = instance_url.rstrip("/")
        return BlueskyProvider(PlatformEndpoints(auth_base=base, api_base=base))

    def xrpc(self, nsid: str) -> str:
        return f"{self.endpoints.api_base}/xrpc/{nsid}"

    async def _call(
        self, http: httpx.AsyncClient, method: str, nsid: str, token: str | None, context: oh.Context, **kwargs: Any
    ) -> Any:
        headers = oh.bearer(token) if token else {}
        return await oh.send(
            http, self.platform, method, self.xrpc(nsid), context=context, classify=_classify, headers=headers, **kwargs
        )

    def _tokens(self, body: dict[str, Any]) -> TokenSet:
        return TokenSet(
            access_token=body["accessJwt"],
            refresh_token=body["refreshJwt"],
            expires_at=jwt_expiry(body["accessJwt"]),
            refresh_expires_at=jwt_expiry(body["refreshJwt"]),
            scopes=self.default_scopes,
            extra={"did": body.get("did"), "handle": body.get("handle"), "pds_url": self.endpoints.api_base},
        )

    async def create_session(
        self,
        http: httpx.AsyncClient,
        identifier: str,
        app_password: str,
        *,
        instance_url: str | None = None,
        auth_factor_token: str | None = None,
    ) -> TokenSet:
        """The app-password login: handle (or email, or DID) + app password → a session."""
        at = self.for_instance(instance_url)
        body = await at._call(
            http,
            "POST",
            "com.atproto.server.createSession",
            None,
            "token",
            json=oh.form(identifier=identifier.lstrip("@"), password=app_password, authFactorToken=auth_factor_token),
        )
        return at._tokens(body)

    def authorization_url(
        self, app: AppCredentials, *, state: str, code_challenge: str | None, scopes: tuple[str, ...]
    ) -> str:
        raise OAuthError(
            "bluesky connects with an app password (create_session), not a redirect", code="app_password_flow"
        )

    async def exchange_code(
        self, http: httpx.AsyncClient, app: AppCredentials, *, code: str, code_verifier: str | None
    ) -> TokenSet:
        raise OAuthError(
            "bluesky connects with an app password (create_session), not a redirect", code="app_password_flow"
        )

    async def refresh(self, http: httpx.AsyncClient, app: AppCredentials, refresh_token: str) -> TokenSet:
        at = self.for_instance(app.instance_url)
        return at._tokens(await at._call(http, "POST", "com.atproto.server.refreshSession", refresh_token, "token"))

    async def revoke(self, http: httpx.AsyncClient, app: AppCredentials, token: str) -> None:
        at = self.for_instance(app.instance_url)
        await at._call(http, "POST", "com.atproto.server.deleteSession", token, "token")

    async def identity(self, http: httpx.AsyncClient, access_token: str) -> ConnectableAccount:
        session = await self._call(http, "GET", "com.atproto.server.getSession", access_token, "api")
        return ConnectableAccount(
            network_unique_id=session["did"],
            username=session.get("handle"),
            display_name=session.get("handle"),
            account_type="profile",
        )

    async def accounts(self, http: httpx.AsyncClient, tokens: TokenSet) -> list[ConnectableAccount]:
        at = self.for_instance(tokens.extra.get("pds_url"))
        me = await at.identity(http, tokens.access_token)
        profile = await at._call(
            http, "GET", "app.bsky.actor.getProfile", tokens.access_token, "api", params={"actor": me.network_unique_id}
        )
        return [
            ConnectableAccount(
                network_unique_id=me.network_unique_id,
                username=profile.get("handle") or me.username,
                display_name=profile.get("displayName") or me.username,
                account_type="profile",
                profile_image_url=profile.get("avatar"),
            )
        ]


provider = BlueskyProvider()
