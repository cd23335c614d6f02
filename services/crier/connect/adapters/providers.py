"""Which OAuth provider speaks for a platform: the platform's own module in live mode (pointed at
`CRIER_PLATFORM_BASE_URL` when set), the simulated one behind Crier's consent page in test mode.

Each comes bound to an HTTP client, so a use case calls it without one: the service's client for
the platforms' own hosts (and for the stand-in at `CRIER_PLATFORM_BASE_URL`, which the operator
chose), the SSRF-guarded one for Mastodon instances and Bluesky PDSes, whose URLs customers give.
Whatever goes wrong on the network, a refusal of the guard included, reaches the use case as the
platforms' `OAuthUnavailable`, never as an `httpx` exception (`crier.platforms._oauth_http.send`
turns one into the other).
"""

from __future__ import annotations

import httpx

from crier import platforms
from crier.connect.adapters.instances import InstanceGuard
from crier.connect.adapters.sandbox_oauth import SandboxOAuth
from crier.connect.domain.instances import Instance
from crier.contracts.common import PER_INSTANCE, Mode, Platform
from crier.platforms import bluesky, mastodon, pkce
from crier.platforms.atproto import identity
from crier.platforms.atproto import oauth as atproto_oauth
from crier.platforms.base import PlatformSettings
from crier.platforms.oauth import (
    AppCredentials,
    AppPasswordProvider,
    ConnectableAccount,
    OAuthError,
    OAuthProvider,
    PlatformEndpoints,
    TokenSet,
)


class NoProvider(LookupError):
    pass


class PlatformOAuth:
    """A platform's OAuth provider and the client its calls go out on."""

    def __init__(self, provider: OAuthProvider, http: httpx.AsyncClient) -> None:
        self._provider = provider
        self._http = http
        self.platform = provider.platform
        self.uses_pkce = provider.uses_pkce
        self.default_scopes = provider.default_scopes

    @property
    def uses_app_password(self) -> bool:
        """No browser redirect: the user gives Crier's own page a handle and an app password."""
        return self._provider.flow == "app_password"

    def signs_in_with_password(self, app: AppCredentials) -> bool:
        """Whether a flow with `app` goes through Crier's app-password page rather than a redirect:
        Bluesky does, unless its app (the org's or the managed one) is an atproto OAuth client,
        whose id is the URL of its client metadata document."""
        oauth_client = isinstance(self._provider, bluesky.BlueskyProvider) and atproto_oauth.is_client_id(app.client_id)
        return self.uses_app_password and not oauth_client

    def authorization_url(
        self, app: AppCredentials, *, state: str, code_challenge: str | None, scopes: tuple[str, ...]
    ) -> str:
        return self._provider.authorization_url(app, state=state, code_challenge=code_challenge, scopes=scopes)

    async def begin(
        self, app: AppCredentials, *, state: str, verifier: str | None, scopes: tuple[str, ...]
    ) -> tuple[str, str | None]:
        """Where to send the browser, and the secret the callback needs (the PKCE verifier; for a
        pushed request, whatever its provider keeps until the code comes back)."""
        if isinstance(self._provider, bluesky.BlueskyProvider):
            url, secret = await self._provider.begin(self._http, app, state=state, scopes=scopes)
            return url, secret
        challenge = pkce.challenge(verifier) if verifier else None
        return self.authorization_url(app, state=state, code_challenge=challenge, scopes=scopes), verifier

    async def exchange_code(
        self, app: AppCredentials, *, code: str, code_verifier: str | None, iss: str | None = None
    ) -> TokenSet:
        """`iss`: the issuer the callback named, which atproto OAuth checks against the flow's server
        before the code goes anywhere (RFC 9207); other platforms do not send one."""
        if isinstance(self._provider, bluesky.BlueskyProvider):
            return await self._provider.exchange_code(self._http, app, code=code, code_verifier=code_verifier, iss=iss)
        return await self._provider.exchange_code(self._http, app, code=code, code_verifier=code_verifier)

    async def refresh(self, app: AppCredentials, refresh_token: str) -> TokenSet:
        return await self._provider.refresh(self._http, app, refresh_token)

    async def accounts(self, tokens: TokenSet) -> list[ConnectableAccount]:
        return await self._provider.accounts(self._http, tokens)

    async def identity(self, access_token: str) -> ConnectableAccount:
        return await self._provider.identity(self._http, access_token)

    async def locate_pds(self, identifier: str) -> str | None:
        """Where the account a Bluesky handle or DID names lives (None: ask the entryway)."""
        if not isinstance(self._provider, bluesky.BlueskyProvider):
            return None
        return await self._provider.locate_pds(self._http, identifier)

    async def create_session(self, identifier: str, app_password: str, *, instance_url: str | None) -> TokenSet:
        if not isinstance(self._provider, AppPasswordProvider):
            raise OAuthError(f"{self.platform} does not sign in with an app password", code="redirect_flow")
        return await self._provider.create_session(self._http, identifier, app_password, instance_url=instance_url)


class Providers:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        public_url: str,
        platforms: PlatformSettings | None = None,
        instances: InstanceGuard | None = None,
        bluesky_plc_url: str = identity.DEFAULT_PLC,
        bluesky_entryway_url: str = bluesky.DEFAULT_PDS,
    ) -> None:
        self._http = http
        self.instances = instances or InstanceGuard()
        self._bluesky = bluesky.BlueskyProvider(
            PlatformEndpoints(auth_base=bluesky_entryway_url, api_base=bluesky_entryway_url), plc_url=bluesky_plc_url
        )
        self._consent_url = f"{public_url.rstrip('/')}/connect/sandbox/authorize"
        # Where the platforms are (a stand-in's base URL) and the API versions their calls carry.
        self._platforms = platforms or PlatformSettings()
        self._base_url = self._platforms.base_url_override.rstrip("/") or None
        self._live: dict[tuple[Platform, str | None], OAuthProvider] = {}

    def for_mode(
        self, platform: Platform, mode: Mode, *, subject: str | None = None, instance_url: str | None = None
    ) -> PlatformOAuth:
        """`subject`: who the simulated platform signs in (test mode); `instance_url`: the Mastodon
        instance or Bluesky PDS the provider talks to (ignored against the simulator)."""
        if mode == "test":
            return PlatformOAuth(SandboxOAuth(platform, self._consent_url, subject), self._http)
        key = (platform, instance_url)
        if key not in self._live:
            try:
                self._live[key] = (
                    self._bluesky.for_instance(instance_url)
                    if platform == "bluesky" and self._base_url is None
                    else platforms.provider(
                        platform, self._base_url, instance_url=instance_url, settings=self._platforms
                    )
                )
            except (LookupError, ValueError) as exc:
                raise NoProvider(f"no OAuth provider for {platform}: {exc}") from None
        return PlatformOAuth(self._live[key], self._client(platform))

    @property
    def platform_settings(self) -> PlatformSettings:
        return self._platforms

    def http_for(self, platform: Platform) -> httpx.AsyncClient:
        """The client calls to `platform` go out on (the SSRF-guarded one for customer-named hosts)."""
        return self._client(platform)

    def _client(self, platform: Platform) -> httpx.AsyncClient:
        if platform in PER_INSTANCE and self._base_url is None:
            return self.instances.http
        return self._http

    async def vet_instance(self, instance: Instance) -> None:
        """Refuse (a `Problem` on `instance_url`) an instance Crier may not call. Against the
        stand-in nothing is called at the instance's own address, so nothing is vetted."""
        if self._base_url is None:
            await self.instances.vet(instance)

    async def register_on_instance(
        self, instance_url: str, redirect_uri: str, scopes: tuple[str, ...]
    ) -> mastodon.RegisteredApp:
        """Crier as an app on a Mastodon instance (on the simulator's one instance when set)."""
        base = f"{self._base_url}/mastodon" if self._base_url else instance_url
        http = self._client("mastodon")
        return await mastodon.register_app(http, base, redirect_uri, scopes or mastodon.DEFAULT_SCOPES)
