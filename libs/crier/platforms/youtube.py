"""YouTube: Google OAuth (see `_google.py`) and the channel behind the grant.

Which channel a grant belongs to is chosen on Google's consent screen (a Google account can own a
personal channel and brand-account channels), so `channels.list?mine=true` names the channel(s)
of that grant: no picking in Crier afterwards (`multi_account` is False), though every channel
returned is offered.
"""

from __future__ import annotations

from typing import Any

import httpx

from crier.platforms._google import GoogleProvider, google_endpoints
from crier.platforms.oauth import ConnectableAccount, OAuthError, TokenSet


class YouTubeProvider(GoogleProvider):
    platform = "youtube"
    default_scopes = (
        "https://www.googleapis.com/auth/youtube.upload",
        "https://www.googleapis.com/auth/youtube.readonly",
    )
    real_endpoints = google_endpoints()

    async def channels(self, http: httpx.AsyncClient, access_token: str) -> list[dict[str, Any]]:
        body = await self.get(
            http,
            "api",
            "/youtube/v3/channels",
            access_token,
            params={"part": "snippet", "mine": "true", "maxResults": "50"},
        )
        return body.get("items") or []

    async def accounts(self, http: httpx.AsyncClient, tokens: TokenSet) -> list[ConnectableAccount]:
        channels = await self.channels(http, tokens.access_token)
        if not channels:
            raise OAuthError("the Google account has no YouTube channel", code="no_channel")
        return [_channel(c) for c in channels]

    async def identity(self, http: httpx.AsyncClient, access_token: str) -> ConnectableAccount:
        channels = await self.channels(http, access_token)
        if not channels:
            raise OAuthError("the Google account has no YouTube channel", code="no_channel")
        return _channel(channels[0])


def _channel(item: dict[str, Any]) -> ConnectableAccount:
    snippet = item.get("snippet") or {}
    thumbs = snippet.get("thumbnails") or {}
    thumb = (thumbs.get("medium") or thumbs.get("default") or {}).get("url")
    return ConnectableAccount(
        network_unique_id=item["id"],
        username=snippet.get("customUrl"),
        display_name=snippet.get("title"),
        account_type="channel",
        profile_image_url=thumb,
    )


provider = YouTubeProvider()
