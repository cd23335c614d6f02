"""Instagram professional accounts through Facebook Login (the Instagram Graph API).

The login is Facebook's (same dialog, same token exchange, see `facebook.py`); the connectable
accounts are the Instagram business or creator accounts linked to the Pages the user manages
(`instagram_business_account` on each Page). Pages without one are skipped. Each account carries
its Page's access token, which the Instagram Graph API accepts for that account; `page_id` in
`extra` is kept because publishing and insights calls go through the same Page.
"""

from __future__ import annotations

from typing import Any

import httpx

from crier.platforms.facebook import FacebookProvider
from crier.platforms.oauth import ConnectableAccount, TokenSet

_IG_FIELDS = "id,username,name,profile_picture_url"


class InstagramProvider(FacebookProvider):
    platform = "instagram"
    default_scopes = (
        "instagram_basic",
        "instagram_content_publish",
        "pages_show_list",
        "pages_read_engagement",
        "business_management",
    )

    async def accounts(self, http: httpx.AsyncClient, tokens: TokenSet) -> list[ConnectableAccount]:
        pages = await self.pages(
            http, tokens.access_token, f"id,name,access_token,instagram_business_account{{{_IG_FIELDS}}}"
        )
        return [_account(p["instagram_business_account"], p) for p in pages if p.get("instagram_business_account")]

    async def identity(self, http: httpx.AsyncClient, access_token: str) -> ConnectableAccount:
        """With the Page token an Instagram account carries, `/me` is the Page and names its account."""
        me = await self.get(
            http,
            "api",
            f"/{self.graph_version}/me",
            access_token,
            params={"fields": f"id,name,instagram_business_account{{{_IG_FIELDS}}}"},
        )
        ig = me.get("instagram_business_account")
        if not ig:
            return await super().identity(http, access_token)
        return _account(ig, {**me, "access_token": None})


def _account(ig: dict[str, Any], page: dict[str, Any]) -> ConnectableAccount:
    return ConnectableAccount(
        network_unique_id=str(ig["id"]),
        username=ig.get("username"),
        display_name=ig.get("name") or ig.get("username"),
        account_type="business",
        profile_image_url=ig.get("profile_picture_url"),
        access_token=page.get("access_token"),
        extra={"page_id": str(page["id"]), "page_name": page.get("name")},
    )


provider = InstagramProvider()
