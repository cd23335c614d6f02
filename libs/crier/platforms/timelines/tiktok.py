"""TikTok: `POST /v2/video/list/` (scope video.list) with `fields` in the query and
`{"max_count": ≤ 20, "cursor"}` in the body, newest first; the answer's `data` holds `videos`, the
next `cursor` and `has_more`. Errors come as `error.code` other than "ok", read by the publishing
adapter's calls. A video's time is `create_time` (epoch seconds), its page `share_url`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from crier.contracts.connect import AccountToken
from crier.contracts.imports import ImportedPost
from crier.platforms.base import PlatformSettings
from crier.platforms.tiktok_posts import publisher
from crier.platforms.timelines import TimelinePage
from crier.platforms.timelines._context import acting_as
from crier.platforms.timelines._shapes import text_of

MAX_COUNT = 20
FIELDS = "id,title,video_description,create_time,share_url"


class TikTokTimeline:
    def __init__(self, http: httpx.AsyncClient, settings: PlatformSettings) -> None:
        self.calls = publisher(http, settings)

    async def page(self, account: AccountToken, cursor: str | None) -> TimelinePage:
        body: dict[str, Any] = {"max_count": MAX_COUNT}
        if cursor:
            body["cursor"] = int(cursor)
        data = await self.calls._call(acting_as(account), f"/v2/video/list/?fields={FIELDS}", body)
        return parse(data)


def parse(data: dict[str, Any]) -> TimelinePage:
    videos = data.get("videos") if isinstance(data.get("videos"), list) else []
    posts = [
        ImportedPost(
            platform_post_id=str(v["id"]),
            platform_post_url=v.get("share_url") if isinstance(v.get("share_url"), str) else None,
            content=text_of(v.get("video_description") or v.get("title")),
            published_at=datetime.fromtimestamp(v["create_time"], UTC)
            if isinstance(v.get("create_time"), int)
            else None,
        )
        for v in videos
        if isinstance(v, dict) and v.get("id")
    ]
    more = data.get("has_more") is True and data.get("cursor") is not None and bool(posts)
    return TimelinePage(posts, str(data["cursor"]) if more else None)
