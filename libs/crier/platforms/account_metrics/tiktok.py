"""TikTok: `GET /v2/user/info/?fields=…` (Display API, scope `user.info.stats`).

followers ← `follower_count`, following ← `following_count`, posts_count ← `video_count`
(`likes_count`, the likes the account's videos received, stays in `raw`). TikTok's user info has
no impressions, reach or profile views: None. `raw` is `data.user`."""

from __future__ import annotations

from crier.contracts.connect import AccountToken
from crier.platforms import _publish_http as ph
from crier.platforms.account_metrics import Figures, Reach, count, dig, mapping
from crier.platforms.tiktok_posts import API_BASE, _classify

FIELDS = "open_id,follower_count,following_count,likes_count,video_count"


async def read(reach: Reach, account: AccountToken) -> Figures:
    body = await reach.get(
        "tiktok",
        f"{reach.settings.base('tiktok', API_BASE)}/v2/user/info/",
        params={"fields": FIELDS},
        headers=ph.bearer(account.access_token),
        classify=_classify,
    )
    return parse(body)


def parse(body: object) -> Figures:
    user = mapping(dig(body, "data", "user"))
    return Figures(
        followers=count(user.get("follower_count")),
        following=count(user.get("following_count")),
        posts_count=count(user.get("video_count")),
        raw=user,
    )
