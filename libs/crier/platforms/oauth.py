"""The OAuth side of a platform adapter, as the connect service uses it.

Each platform module (`platforms/<platform>.py`) exposes a provider implementing `OAuthProvider`.
The connect service owns state, PKCE verifiers (`platforms.pkce`), tokens and storage; a provider
only knows the platform's endpoints, scopes, token lifetimes and response shapes. Base URLs come
from `PlatformEndpoints`, so tests and local demos point providers at the platform simulator.

Every failure a provider raises is an `OAuthError`: a platform that cannot be reached, times out or
answers 5xx/429 is `OAuthUnavailable` (see `_oauth_http.send`), never an `httpx` exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import httpx

from crier.contracts.common import AccountLimits, Platform

if TYPE_CHECKING:
    from crier.platforms.base import PlatformSettings


@dataclass(frozen=True)
class AppCredentials:
    """A platform app: the org's BYOK app or the installation's managed one."""

    client_id: str
    client_secret: str
    redirect_uri: str  # Crier's callback registered with the platform
    scopes: tuple[str, ...] = ()
    # Per-instance platforms (Mastodon, Bluesky) keep the instance base URL here.
    instance_url: str | None = None


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None = None
    expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    scopes: tuple[str, ...] = ()
    token_type: str = "bearer"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConnectableAccount:
    """An account the user can connect: the user's own profile, or one of their pages,
    organizations, locations or channels on multi-account platforms."""

    network_unique_id: str
    username: str | None
    display_name: str | None
    account_type: str  # profile | page | organization | location | channel | business
    profile_image_url: str | None = None
    # Some platforms issue a token per page (Facebook page tokens); None = use the user's token.
    access_token: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # What the platform lets this account post, where accounts differ (a Mastodon instance's limit).
    limits: AccountLimits = field(default_factory=AccountLimits)


class OAuthError(Exception):
    """The platform refused an OAuth call. `code` is Crier's error code shown to callers."""

    code = "oauth_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or type(self).code


class GrantRevoked(OAuthError):
    """The refresh token or grant is no longer valid: the user must reconnect (token_expired)."""

    code = "grant_revoked"


class OAuthUnavailable(OAuthError):
    """Timeout, 5xx or rate limit: try again later; the account's state does not change."""

    code = "platform_unavailable"

    def __init__(self, message: str, *, code: str | None = None, retry_after_s: float | None = None) -> None:
        super().__init__(message, code=code)
        # The platform's own hint (Retry-After, a rate-limit reset), when it gave one.
        self.retry_after_s = retry_after_s


class AccessTokenInvalid(OAuthError):
    """The platform refused the access token (expired early, or revoked) on a platform that issues
    refresh tokens: refresh and try again; if the refresh raises GrantRevoked, the user must
    reconnect. Platforms without refresh tokens raise GrantRevoked straight away instead."""

    code = "access_token_invalid"


@dataclass(frozen=True)
class PlatformEndpoints:
    """Base URLs of a platform's APIs; overridden by `CRIER_PLATFORM_BASE_URL` (one simulator for
    all platforms) so tests never touch the internet."""

    auth_base: str
    api_base: str
    # Further hosts a platform spreads its APIs over, by name (Google's token host, the Business
    # Profile APIs' one host per API). Every base is scheme://host with no path, so rebasing onto
    # the simulator keeps each real path.
    others: tuple[tuple[str, str], ...] = ()

    def base(self, name: str) -> str:
        if name == "auth":
            return self.auth_base
        if name == "api":
            return self.api_base
        return dict(self.others)[name]

    def rebased(self, base_url: str) -> PlatformEndpoints:
        """Every host replaced by one base URL (the simulator's `<url>/<platform>`)."""
        base = base_url.rstrip("/")
        return replace(self, auth_base=base, api_base=base, others=tuple((n, base) for n, _ in self.others))


@runtime_checkable
class OAuthProvider(Protocol):
    platform: Platform
    uses_pkce: bool  # S256 PKCE sent when True
    multi_account: bool  # the user picks pages/organizations/locations/channels after consent
    default_scopes: tuple[str, ...]
    # "redirect": the browser flow; "app_password": no redirect, the user gives Crier an app
    # password that `AppPasswordProvider.create_session` trades for a session (Bluesky).
    flow: str

    def authorization_url(
        self, app: AppCredentials, *, state: str, code_challenge: str | None, scopes: tuple[str, ...]
    ) -> str: ...

    async def exchange_code(
        self, http: httpx.AsyncClient, app: AppCredentials, *, code: str, code_verifier: str | None
    ) -> TokenSet: ...

    async def refresh(self, http: httpx.AsyncClient, app: AppCredentials, refresh_token: str) -> TokenSet:
        """Raises GrantRevoked when the platform says the grant is gone, OAuthUnavailable when it
        could not answer. A platform that does not resend the refresh token returns None in it."""
        ...

    async def revoke(self, http: httpx.AsyncClient, app: AppCredentials, token: str) -> None: ...

    async def accounts(self, http: httpx.AsyncClient, tokens: TokenSet) -> list[ConnectableAccount]:
        """The connectable accounts behind a grant: one profile, or the pages/organizations/… list."""
        ...

    async def identity(self, http: httpx.AsyncClient, access_token: str) -> ConnectableAccount:
        """A cheap live call proving the token works (used by the health probe)."""
        ...

    def configured(self, settings: PlatformSettings) -> OAuthProvider:
        """The provider as the operator's settings want it (API versions)."""
        ...


@runtime_checkable
class AppPasswordProvider(OAuthProvider, Protocol):
    async def create_session(
        self, http: httpx.AsyncClient, identifier: str, app_password: str, *, instance_url: str | None = None
    ) -> TokenSet:
        """Handle (or email, or DID) + app password → a session; the password is not kept."""
        ...
