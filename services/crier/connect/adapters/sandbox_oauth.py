"""The simulated platform behind test-mode (sk_test_) connect flows.

Its authorization endpoint is Crier's own consent page (Approve / Deny), so the whole hosted flow
runs with no real platform; the accounts it yields are flagged sandbox. Connect checks the code the
consent page issued against the OAuth state before `exchange_code` runs, so this provider only mints
tokens. The user's identity is the flow's tenant, so connecting again reconnects the same accounts.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx

from crier.contracts.common import Platform
from crier.platforms.oauth import AppCredentials, ConnectableAccount, GrantRevoked, TokenSet

# Platforms where a grant covers several pages / organizations / channels / locations.
MULTI_ACCOUNT = frozenset({"facebook", "instagram", "linkedin", "youtube", "google_business"})
PAGE_KIND = {
    "facebook": "page",
    "instagram": "business",
    "linkedin": "organization",
    "youtube": "channel",
    "google_business": "location",
}
TOKEN_LIFETIME = timedelta(hours=2)
ACCESS_PREFIX, REFRESH_PREFIX = "sbx_at_", "sbx_rt_"


class SandboxOAuth:
    uses_pkce = True
    default_scopes: tuple[str, ...] = ("sandbox.read", "sandbox.write")
    flow = "redirect"

    def __init__(self, platform: Platform, consent_url: str, subject: str | None = None) -> None:
        self.platform = platform
        self.multi_account = platform in MULTI_ACCOUNT
        self._consent_url = consent_url
        self._subject = _handle(subject or "sandbox")

    def authorization_url(
        self, app: AppCredentials, *, state: str, code_challenge: str | None, scopes: tuple[str, ...]
    ) -> str:
        query = {
            "client_id": app.client_id,
            "redirect_uri": app.redirect_uri,
            "response_type": "code",
            "scope": " ".join(scopes or self.default_scopes),
            "state": state,
        }
        if code_challenge:
            query |= {"code_challenge": code_challenge, "code_challenge_method": "S256"}
        return f"{self._consent_url}?{urlencode(query)}"

    def _mint(self, scopes: tuple[str, ...]) -> TokenSet:
        return TokenSet(
            access_token=ACCESS_PREFIX + secrets.token_urlsafe(24),
            refresh_token=REFRESH_PREFIX + secrets.token_urlsafe(24),
            expires_at=datetime.now(UTC) + TOKEN_LIFETIME,
            scopes=scopes or self.default_scopes,
            extra={"subject": self._subject},
        )

    async def exchange_code(
        self, http: httpx.AsyncClient, app: AppCredentials, *, code: str, code_verifier: str | None
    ) -> TokenSet:
        return self._mint(app.scopes)

    async def refresh(self, http: httpx.AsyncClient, app: AppCredentials, refresh_token: str) -> TokenSet:
        if not refresh_token.startswith(REFRESH_PREFIX):
            raise GrantRevoked("sandbox: unknown refresh token")
        return replace(self._mint(app.scopes), extra={})

    async def revoke(self, http: httpx.AsyncClient, app: AppCredentials, token: str) -> None:
        return None

    async def accounts(self, http: httpx.AsyncClient, tokens: TokenSet) -> list[ConnectableAccount]:
        subject = str(tokens.extra.get("subject", self._subject))
        profile = ConnectableAccount(
            network_unique_id=_network_id(self.platform, subject, "profile"),
            username=f"{subject}",
            display_name=f"{subject} (sandbox)",
            account_type="profile",
        )
        if not self.multi_account:
            return [profile]
        kind = PAGE_KIND[self.platform]
        return [
            ConnectableAccount(
                network_unique_id=_network_id(self.platform, subject, f"{kind}{n}"),
                username=f"{subject}_{kind}{n}",
                display_name=f"{subject} {kind.title()} {n} (sandbox)",
                account_type=kind,
            )
            for n in (1, 2)
        ]

    async def identity(self, http: httpx.AsyncClient, access_token: str) -> ConnectableAccount:
        if not access_token.startswith(ACCESS_PREFIX):
            raise GrantRevoked("sandbox: unknown access token")
        return ConnectableAccount(
            network_unique_id="sandbox", username=self._subject, display_name=None, account_type="profile"
        )


def _handle(raw: str) -> str:
    handle = re.sub(r"[^A-Za-z0-9_]", "_", raw)[:40]
    return handle or "sandbox"


def _network_id(platform: Platform, subject: str, which: str) -> str:
    return "sbx-" + hashlib.sha256(f"oauth:{platform}:{subject}:{which}".encode()).hexdigest()[:20]
