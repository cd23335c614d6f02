"""TikTok: `POST /v2/video/query/?fields=id,like_count,comment_count,share_count,view_count` with
the video's id (Display API, scope `video.list`).

likes ← `like_count`, reposts ← `share_count`, replies ← `comment_count`. `view_count` counts
plays, not impressions: None. `raw` is the video object."""

from __future__ import annotations

from crier.contracts.connect import AccountToken
from crier.platforms import _publish_http as ph
from crier.platforms.account_metrics import Reach, count, dig, mapping
from crier.platforms.base import PlatformError
from crier.platforms.post_engagement import Engagement
from crier.platforms.tiktok_posts import API_BASE, _classify

FIELDS = "id,like_count,comment_count,share_count,view_count"


async def read(reach: Reach, account: AccountToken, post_id: str) -> Engagement:
    body = await ph.send(
        reach.http,
        "tiktok",
        "POST",
        f"{reach.settings.base('tiktok', API_BASE)}/v2/video/query/",
        params={"fields": FIELDS},
        json={"filters": {"video_ids": [post_id]}},
        headers=ph.bearer(account.access_token),
        classify=_classify,
        timeout=reach.settings.timeout_s,
    )
    return parse(body, post_id)


def parse(body: object, video_id: str) -> Engagement:
    videos = dig(body, "data", "videos")
    video = next((mapping(v) for v in videos or [] if str(mapping(v).get("id")) == video_id), None)
    if video is None:
        raise PlatformError(f"tiktok: video {video_id} is not in video/query's answer", code="not_found")
    return Engagement(
        likes=count(video.get("like_count")),
        reposts=count(video.get("share_count")),
        replies=count(video.get("comment_count")),
        raw=video,
    )
