"""Google Business Profile: Google OAuth (see `_google.py`) and the locations of the user's
business accounts; each location is a connectable account (`multi_account`).

Accounts come from the Account Management API and locations from the Business Information API
(`readMask` is mandatory there), each on its own host. A location's network id is
`accounts/<a>/locations/<l>`: the parent path the v4 localPosts API publishes under.
"""

from __future__ import annotations

from typing import Any

import httpx

from crier.platforms._google import GoogleProvider, google_endpoints
from crier.platforms.oauth import ConnectableAccount, TokenSet

_READ_MASK = "name,title,storefrontAddress,metadata"


class GoogleBusinessProvider(GoogleProvider):
    platform = "google_business"
    multi_account = True
    default_scopes = ("https://www.googleapis.com/auth/business.manage",)
    real_endpoints = google_endpoints(
        accounts="https://mybusinessaccountmanagement.googleapis.com",
        locations="https://mybusinessbusinessinformation.googleapis.com",
        posts="https://mybusiness.googleapis.com",
    )

    async def _pages(
        self, http: httpx.AsyncClient, host: str, path: str, key: str, token: str, params: dict[str, str]
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        page_token: str | None = None
        while True:
            query = {**params, **({"pageToken": page_token} if page_token else {})}
            body = await self.get(http, host, path, token, params=query)
            out += body.get(key) or []
            page_token = body.get("nextPageToken")
            if not page_token:
                return out

    async def business_accounts(self, http: httpx.AsyncClient, access_token: str) -> list[dict[str, Any]]:
        return await self._pages(http, "accounts", "/v1/accounts", "accounts", access_token, {"pageSize": "20"})

    async def accounts(self, http: httpx.AsyncClient, tokens: TokenSet) -> list[ConnectableAccount]:
        out = []
        for account in await self.business_accounts(http, tokens.access_token):
            locations = await self._pages(
                http,
                "locations",
                f"/v1/{account['name']}/locations",
                "locations",
                tokens.access_token,
                {"readMask": _READ_MASK, "pageSize": "100"},
            )
            out += [_location(account, loc) for loc in locations]
        return out

    async def identity(self, http: httpx.AsyncClient, access_token: str) -> ConnectableAccount:
        """The first business account: proof the token works (locations are not needed for that)."""
        body = await self.get(http, "accounts", "/v1/accounts", access_token, params={"pageSize": "1"})
        account = (body.get("accounts") or [{}])[0]
        return ConnectableAccount(
            network_unique_id=account.get("name", ""),
            username=None,
            display_name=account.get("accountName"),
            account_type="business",
            extra={"type": account.get("type")},
        )


def _location(account: dict[str, Any], loc: dict[str, Any]) -> ConnectableAccount:
    location_id = loc["name"].rsplit("/", 1)[-1]
    metadata = loc.get("metadata") or {}
    return ConnectableAccount(
        network_unique_id=f"{account['name']}/locations/{location_id}",
        username=None,
        display_name=loc.get("title"),
        account_type="location",
        extra={
            "account_name": account.get("accountName"),
            "address": loc.get("storefrontAddress"),
            "maps_uri": metadata.get("mapsUri"),
            "place_id": metadata.get("placeId"),
        },
    )


provider = GoogleBusinessProvider()
