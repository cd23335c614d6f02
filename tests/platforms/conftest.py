"""Fixtures for the provider tests: one simulator per session, a fresh app and user per test."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from crier.platforms import pkce
from crier.platforms import provider as get_provider
from crier.platforms.oauth import AppCredentials, OAuthProvider, TokenSet
from tests.support.simulator import Simulator, platform_simulator, platform_simulator_session  # noqa: F401

CALLBACK = "https://crier.test/api/v1/connect/callback"


@dataclass
class Connection:
    """One user's completed OAuth flow against the simulator."""

    provider: Any
    app: AppCredentials
    user: dict[str, Any]
    tokens: TokenSet
    authorize_url: str


@dataclass
class Flow:
    sim: Simulator
    http: httpx.AsyncClient

    def provider(self, platform: str) -> Any:
        return get_provider(platform, self.sim.base_url)

    def app(self, platform: str, **more: Any) -> AppCredentials:
        client_id, secret = f"cid-{secrets.token_hex(4)}", secrets.token_hex(12)
        self.sim.add_app(platform, client_id=client_id, client_secret=secret, redirect_uris=[CALLBACK], **more)
        return AppCredentials(client_id=client_id, client_secret=secret, redirect_uri=CALLBACK)

    async def authorize(
        self, provider: OAuthProvider, app: AppCredentials, *, verifier: str | None = None, scopes: tuple[str, ...] = ()
    ) -> tuple[str, dict[str, str]]:
        """Open the authorization URL as the browser would; the redirect's query parameters."""
        state = secrets.token_urlsafe(12)
        challenge = pkce.challenge(verifier) if verifier else None
        url = provider.authorization_url(app, state=state, code_challenge=challenge, scopes=scopes)
        resp = await self.http.get(url)
        assert resp.status_code == 302, resp.text
        location = resp.headers["location"]
        assert location.startswith(CALLBACK)
        params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        assert params.get("state") == state
        return url, params

    async def connect(
        self,
        platform: str,
        *,
        scopes: tuple[str, ...] = (),
        app_options: dict[str, Any] | None = None,
        **user_spec: Any,
    ) -> Connection:
        provider = self.provider(platform)
        app = self.app(platform, **(app_options or {}))
        user = self.sim.add_user(platform, username=f"u{secrets.token_hex(3)}", **user_spec)
        verifier = pkce.new_verifier() if provider.uses_pkce else None
        url, params = await self.authorize(provider, app, verifier=verifier, scopes=scopes)
        tokens = await provider.exchange_code(self.http, app, code=params["code"], code_verifier=verifier)
        return Connection(provider=provider, app=app, user=user, tokens=tokens, authorize_url=url)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


@pytest.fixture
def flow(platform_simulator: Simulator, http: httpx.AsyncClient) -> Flow:  # noqa: F811
    return Flow(platform_simulator, http)
