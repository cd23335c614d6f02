"""YouTube: `GET /youtube/v3/videos?part=statistics&id=<video>` (Data API v3, `videos.list`),
VideoStatistics.

likes ← `likeCount`, replies ← `commentCount` (int64 strings). `viewCount` counts plays, not
impressions, and YouTube has no reposts: None. `raw` is the video resource (`items[0]`)."""

from __future__ import annotations

from crier.contracts.connect import AccountToken
from crier.platforms import _publish_http as ph
from crier.platforms._google import publishing_error
from crier.platforms.account_metrics import Reach, count, dig, mapping
from crier.platforms.base import PlatformError
from crier.platforms.post_engagement import Engagement
from crier.platforms.youtube_upload import API_HOST


async def read(reach: Reach, account: AccountToken, post_id: str) -> Engagement:
    body = await reach.get(
        "youtube",
        f"{reach.settings.base('youtube', API_HOST)}/youtube/v3/videos",
        params={"part": "statistics", "id": post_id},
        headers=ph.bearer(account.access_token),
        classify=publishing_error,
    )
    return parse(body, post_id)


def parse(body: object, video_id: str) -> Engagement:
    items = dig(body, "items")
    video = next((mapping(i) for i in items or [] if mapping(i).get("id") == video_id), None)
    if video is None:
        raise PlatformError(f"youtube: video {video_id} is not in videos.list's answer", code="not_found")
    stats = mapping(video.get("statistics"))
    return Engagement(likes=count(stats.get("likeCount")), replies=count(stats.get("commentCount")), raw=video)
