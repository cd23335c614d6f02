"""LinkedIn: 3-legged OAuth 2.0, the member's profile from OpenID Connect userinfo, and the
organizations (company pages) the member administers from organizationAcls.

- No PKCE for server-side apps; client id and secret go in the form body.
- Access tokens live 60 days. Refresh tokens (365 days) exist only for apps LinkedIn enabled them
  for; refreshing does not extend the refresh token's life, and LinkedIn may or may not resend it,
  so a refresh that returns no refresh token means "keep the one you have".
- Member and organization accounts are both connectable (`multi_account`): the member posts as
  `urn:li:person:<sub>`, an organization as `urn:li:organization:<id>`; those URNs are the
  accounts' network ids because the Posts API takes them as `author`.
- The versioned REST API (`/rest/...`) wants `LinkedIn-Version` and the Rest.li 2.0 header.
"""

from __future__ import annotations

from typing import Any

import httpx

from crier.platforms import _oauth_http as oh
from crier.platforms._code_flow import CodeFlowProvider
from crier.platforms.oauth import ConnectableAccount, OAuthError, PlatformEndpoints, TokenSet

API_VERSION = "202507"
REST_HEADERS = {"LinkedIn-Version": API_VERSION, "X-Restli-Protocol-Version": "2.0.0"}
ORG_SCOPES = frozenset({"r_organization_admin", "rw_organization_admin", "w_organization_social"})


class LinkedInProvider(CodeFlowProvider):
    platform = "linkedin"
    multi_account = True
    default_scopes = ("openid", "profile", "email", "w_member_social", "r_organization_admin", "w_organization_social")
    real_endpoints = PlatformEndpoints(
        auth_base="https://www.linkedin.com",
        api_base="https://api.linkedin.com",
    )
    authorize_path = "/oauth/v2/authorization"
    token_path = "/oauth/v2/accessToken"
    revoke_path = "/oauth/v2/revoke"
    token_host = "auth"

    def classify(self, status: int, body: Any, context: oh.Context) -> OAuthError:
        if isinstance(body, dict) and "serviceErrorCode" in body:
            # REST errors: {"status", "serviceErrorCode", "code", "message"}.
            body = {
                "error": body.get("code") or f"service_error_{body['serviceErrorCode']}",
                "error_description": body.get("message"),
            }
        return super().classify(status, body, context)

    async def identity(self, http: httpx.AsyncClient, access_token: str) -> ConnectableAccount:
        me = await self.get(http, "api", "/v2/userinfo", access_token)
        return ConnectableAccount(
            network_unique_id=f"urn:li:person:{me['sub']}",
            username=None,  # LinkedIn exposes no public handle to API clients
            display_name=me.get("name"),
            account_type="profile",
            profile_image_url=me.get("picture"),
            extra={"email": me.get("email"), "locale": me.get("locale")},
        )

    async def accounts(self, http: httpx.AsyncClient, tokens: TokenSet) -> list[ConnectableAccount]:
        member = await self.identity(http, tokens.access_token)
        if tokens.scopes and not ORG_SCOPES & set(tokens.scopes):
            return [member]
        return [member, *await self.organizations(http, tokens.access_token)]

    async def organizations(self, http: httpx.AsyncClient, access_token: str) -> list[ConnectableAccount]:
        urns: list[str] = []
        start = 0
        while True:
            page = await self.get(
                http,
                "api",
                "/rest/organizationAcls",
                access_token,
                headers=REST_HEADERS,
                params={
                    "q": "roleAssignee",
                    "role": "ADMINISTRATOR",
                    "state": "APPROVED",
                    "start": str(start),
                    "count": "100",
                },
            )
            elements = page.get("elements") or []
            urns += [e["organization"] for e in elements if e.get("organization")]
            total = (page.get("paging") or {}).get("total")
            start += len(elements)
            if not elements or total is None or start >= total:
                break
        if not urns:
            return []
        ids = [urn.rsplit(":", 1)[1] for urn in urns]
        # Rest.li 2.0 batch get: the List(...) must not be URL-encoded.
        found = await self.get(
            http, "api", f"/rest/organizations?ids=List({','.join(ids)})", access_token, headers=REST_HEADERS
        )
        results = found.get("results") or {}
        out = []
        for urn, org_id in zip(urns, ids, strict=True):
            org = results.get(org_id) or {}
            out.append(
                ConnectableAccount(
                    network_unique_id=urn,
                    username=org.get("vanityName"),
                    display_name=org.get("localizedName"),
                    account_type="organization",
                    extra={"organization_id": org_id},
                )
            )
        return out


provider = LinkedInProvider()
