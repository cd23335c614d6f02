"""YouTube: `GET /youtube/v3/channels?part=statistics&id=<channel>` (Data API v3,
`channels.list`), the ChannelStatistics resource.

followers ← `subscriberCount` (None while the channel hides it: `hiddenSubscriberCount`),
posts_count ← `videoCount`. Counts come as int64 strings. `viewCount` (lifetime video views) is not
impressions; the Data API offers no impressions, reach, profile views or following: None. `raw` is
the channel resource (`items[0]`)."""

from __future__ import annotations

from crier.contracts.connect import AccountToken
from crier.platforms import _publish_http as ph
from crier.platforms._google import publishing_error
from crier.platforms.account_metrics import Figures, Reach, count, dig, mapping
from crier.platforms.base import PlatformError
from crier.platforms.youtube_upload import API_HOST


async def read(reach: Reach, account: AccountToken) -> Figures:
    body = await reach.get(
        "youtube",
        f"{reach.settings.base('youtube', API_HOST)}/youtube/v3/channels",
        params={"part": "statistics", "id": account.network_unique_id},
        headers=ph.bearer(account.access_token),
        classify=publishing_error,
    )
    return parse(body, account.network_unique_id)


def parse(body: object, channel_id: str) -> Figures:
    items = dig(body, "items")
    channel = next(
        (mapping(i) for i in items or [] if isinstance(items, list) and mapping(i).get("id") == channel_id), None
    )
    if channel is None:
        raise PlatformError(f"youtube: channel {channel_id} is not in channels.list's answer", code="not_found")
    stats = mapping(channel.get("statistics"))
    hidden = stats.get("hiddenSubscriberCount") is True
    return Figures(
        followers=None if hidden else count(stats.get("subscriberCount")),
        posts_count=count(stats.get("videoCount")),
        raw=channel,
    )
