"""The OAuth 2.0 authorization-code flow as most platforms run it; each platform module subclasses
`CodeFlowProvider`, sets its endpoints and rules, and overrides what its platform does differently.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal, Self
from urllib.parse import urlencode

import httpx

from crier.contracts.common import Platform
from crier.platforms import _oauth_http as oh
from crier.platforms.base import PlatformSettings
from crier.platforms.oauth import AppCredentials, ConnectableAccount, OAuthError, PlatformEndpoints, TokenSet


class CodeFlowProvider(ABC):
    platform: ClassVar[Platform]
    uses_pkce: ClassVar[bool] = False
    multi_account: ClassVar[bool] = False
    default_scopes: ClassVar[tuple[str, ...]] = ()
    # "redirect" for the browser flow; Bluesky's app passwords are "app_password".
    flow: ClassVar[str] = "redirect"
    real_endpoints: ClassVar[PlatformEndpoints]
    authorize_path: ClassVar[str]
    token_path: ClassVar[str]
    revoke_path: ClassVar[str | None] = None
    # Where the token and revoke endpoints live (a name understood by PlatformEndpoints.base).
    token_host: ClassVar[str] = "api"
    scope_separator: ClassVar[str] = " "
    # How the client proves itself at the token endpoint: HTTP Basic (RFC 6749 §2.3.1) or form fields.
    client_auth: ClassVar[Literal["basic", "body"]] = "body"
    client_id_param: ClassVar[str] = "client_id"
    client_secret_param: ClassVar[str] = "client_secret"
    authorize_extra: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init__(self, endpoints: PlatformEndpoints | None = None) -> None:
        self.endpoints = endpoints or self.real_endpoints

    def configured(self, settings: PlatformSettings) -> Self:
        """The provider as the operator's settings want it (API versions); most have none."""
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.platform} {self.endpoints.api_base}>"

    def url(self, host: str, path: str) -> str:
        return self.endpoints.base(host) + path

    # -- authorization -------------------------------------------------------------------------

    def authorization_url(
        self, app: AppCredentials, *, state: str, code_challenge: str | None, scopes: tuple[str, ...]
    ) -> str:
        params: dict[str, str] = {
            "response_type": "code",
            self.client_id_param: app.client_id,
            "redirect_uri": app.redirect_uri,
            "scope": self.scope_separator.join(scopes or app.scopes or self.default_scopes),
            "state": state,
        }
        if self.uses_pkce:
            if not code_challenge:
                raise OAuthError(f"{self.platform} requires PKCE: pass a code_challenge", code="pkce_required")
            params["code_challenge"] = code_challenge
            params["code_challenge_method"] = "S256"
        params.update(self.authorize_extra)
        return f"{self.url('auth', self.authorize_path)}?{urlencode(params)}"

    # -- token endpoint ------------------------------------------------------------------------

    def classify(self, status: int, body: Any, context: oh.Context) -> OAuthError:
        return oh.oauth2_error(status, body, context)

    def _client_auth(self, app: AppCredentials) -> tuple[dict[str, str], dict[str, Any]]:
        """(form fields, request kwargs) that authenticate the client."""
        if self.client_auth == "basic":
            return {}, {"auth": httpx.BasicAuth(app.client_id, app.client_secret)}
        return {self.client_id_param: app.client_id, self.client_secret_param: app.client_secret}, {}

    async def token_request(self, http: httpx.AsyncClient, app: AppCredentials, fields: dict[str, str]) -> Any:
        return await self.token_request_to(http, app, self.token_path, fields)

    def tokens(self, body: Any, app: AppCredentials) -> TokenSet:
        return oh.token_set(body, scope_separator=self.scope_separator, requested=app.scopes or self.default_scopes)

    async def exchange_code(
        self, http: httpx.AsyncClient, app: AppCredentials, *, code: str, code_verifier: str | None
    ) -> TokenSet:
        if self.uses_pkce and not code_verifier:
            raise OAuthError(f"{self.platform} requires the PKCE code_verifier", code="pkce_required")
        fields = oh.form(
            grant_type="authorization_code",
            code=code,
            redirect_uri=app.redirect_uri,
            code_verifier=code_verifier if self.uses_pkce else None,
        )
        return self.tokens(await self.token_request(http, app, fields), app)

    async def refresh(self, http: httpx.AsyncClient, app: AppCredentials, refresh_token: str) -> TokenSet:
        body = await self.token_request(http, app, {"grant_type": "refresh_token", "refresh_token": refresh_token})
        return self.tokens(body, app)

    async def revoke(self, http: httpx.AsyncClient, app: AppCredentials, token: str) -> None:
        if self.revoke_path is None:
            raise OAuthError(f"{self.platform} has no token revocation endpoint", code="revoke_not_supported")
        await self.token_request_to(http, app, self.revoke_path, {"token": token})

    async def token_request_to(
        self, http: httpx.AsyncClient, app: AppCredentials, path: str, fields: dict[str, str]
    ) -> Any:
        auth_fields, kwargs = self._client_auth(app)
        return await oh.send(
            http,
            self.platform,
            "POST",
            self.url(self.token_host, path),
            context="token",
            classify=self.classify,
            data={**fields, **auth_fields},
            **kwargs,
        )

    # -- identity ------------------------------------------------------------------------------

    async def get(self, http: httpx.AsyncClient, host: str, path: str, token: str, **kwargs: Any) -> Any:
        headers = {**oh.bearer(token), **kwargs.pop("headers", {})}
        return await oh.send(
            http,
            self.platform,
            "GET",
            self.url(host, path),
            context="api",
            classify=self.classify,
            headers=headers,
            **kwargs,
        )

    async def accounts(self, http: httpx.AsyncClient, tokens: TokenSet) -> list[ConnectableAccount]:
        return [await self.identity(http, tokens.access_token)]

    @abstractmethod
    async def identity(self, http: httpx.AsyncClient, access_token: str) -> ConnectableAccount:
        """The account the access token speaks for; each platform module answers it."""
