"""YouTube: the channel's uploads playlist, read with `playlistItems.list` (part
snippet,contentDetails; youtube.readonly), `maxResults` up to 50 and `pageToken` = the previous
answer's `nextPageToken`. The playlist's id comes from `channels.list?mine=true`
(`contentDetails.relatedPlaylists.uploads`) on the first page and rides in the cursor after it
(`<playlist>|<pageToken>`). A video's id is `contentDetails.videoId`, its time
`contentDetails.videoPublishedAt`, its text the title."""

from __future__ import annotations

from typing import Any

import httpx

from crier.contracts.connect import AccountToken
from crier.contracts.imports import ImportedPost
from crier.platforms import _publish_http as ph
from crier.platforms._google import publishing_error
from crier.platforms.base import PlatformError, PlatformSettings
from crier.platforms.timelines import PAGE_SIZE, TimelinePage
from crier.platforms.timelines._shapes import instant, text_of
from crier.platforms.youtube_upload import API_HOST


class YouTubeTimeline:
    def __init__(self, http: httpx.AsyncClient, settings: PlatformSettings) -> None:
        self.http, self.settings = http, settings

    async def _get(self, path: str, account: AccountToken, params: dict[str, str]) -> Any:
        return await ph.send(
            self.http,
            "youtube",
            "GET",
            f"{self.settings.base('youtube', API_HOST)}/youtube/v3{path}",
            classify=publishing_error,
            params=params,
            headers=ph.bearer(account.access_token),
            timeout=self.settings.timeout_s,
        )

    async def page(self, account: AccountToken, cursor: str | None) -> TimelinePage:
        playlist, _, token = (cursor or "").partition("|")
        if not playlist:
            channels = await self._get("/channels", account, {"part": "contentDetails", "mine": "true"})
            playlist = uploads_of(channels)
        params = {"part": "snippet,contentDetails", "playlistId": playlist, "maxResults": str(PAGE_SIZE)}
        if token:
            params["pageToken"] = token
        return parse(await self._get("/playlistItems", account, params), playlist)


def uploads_of(channels: Any) -> str:
    items = channels.get("items") if isinstance(channels, dict) else None
    for item in items if isinstance(items, list) else []:
        uploads = (((item or {}).get("contentDetails") or {}).get("relatedPlaylists") or {}).get("uploads")
        if isinstance(uploads, str) and uploads:
            return uploads
    raise PlatformError("the channel has no uploads playlist", code="not_found")


def parse(body: Any, playlist: str) -> TimelinePage:
    items = body.get("items") if isinstance(body, dict) else None
    posts = []
    for item in items if isinstance(items, list) else []:
        details = item.get("contentDetails") if isinstance(item, dict) else None
        snippet = item.get("snippet") if isinstance(item, dict) else None
        if not isinstance(details, dict) or not details.get("videoId"):
            continue
        snippet = snippet if isinstance(snippet, dict) else {}
        video_id = str(details["videoId"])
        posts.append(
            ImportedPost(
                platform_post_id=video_id,
                platform_post_url=f"https://www.youtube.com/watch?v={video_id}",
                content=text_of(snippet.get("title")),
                published_at=instant(details.get("videoPublishedAt") or snippet.get("publishedAt")),
            )
        )
    token = body.get("nextPageToken") if isinstance(body, dict) else None
    return TimelinePage(posts, f"{playlist}|{token}" if token else None)
