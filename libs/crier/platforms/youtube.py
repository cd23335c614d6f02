"""YouTube: Google OAuth (see `_google.py`) and the channel behind the grant.

Which channel a grant belongs to is chosen on Google's consent screen (a Google account can own a
personal channel and brand-account channels), so `channels.list?mine=true` names the channel(s)
of that grant: no picking in Crier afterwards (`multi_account` is False), though every channel
returned is offered.

Publishing (`publisher`, `rules`): a video by resumable upload, followed until YouTube has
processed it, and a first comment (see `youtube_upload` and `youtube_rules`). Comments need the
`youtube.force-ssl` scope, finding the channel's uploads `youtube.readonly`.
"""

from __future__ import annotations

from typing import Any

import httpx

from crier.platforms._google import GoogleProvider, google_endpoints
from crier.platforms.oauth import ConnectableAccount, OAuthError, TokenSet
from crier.platforms.youtube_rules import rules
from crier.platforms.youtube_upload import publisher

__all__ = ["YouTubeProvider", "provider", "publisher", "rules"]


class YouTubeProvider(GoogleProvider):
    platform = "youtube"
    default_scopes = (
        "https://www.googleapis.com/auth/youtube.upload",
        "https://www.googleapis.com/auth/youtube.readonly",
        # commentThreads.insert (the first comment) takes no narrower scope.
        "https://www.googleapis.com/auth/youtube.force-ssl",
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
