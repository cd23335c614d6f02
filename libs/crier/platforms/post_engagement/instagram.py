"""Instagram: the media's counts (`GET /{media-id}?fields=like_count,comments_count`) and its
insights (`GET /{media-id}/insights?metric=views,shares`).

likes ← `like_count`, replies ← `comments_count`, reposts ← `shares`, impressions ← `views` (Graph
API v22 replaced media `impressions` with it). `raw` is `{"media": …, "insights": …}`."""

from __future__ import annotations

from typing import Any

from crier.contracts.connect import AccountToken
from crier.platforms import _publish_http as ph
from crier.platforms.account_metrics import Reach, count, mapping
from crier.platforms.account_metrics._insights import latest
from crier.platforms.instagram_publishing import GRAPH, _publishing_error
from crier.platforms.post_engagement import Engagement


async def read(reach: Reach, account: AccountToken, post_id: str) -> Engagement:
    base = f"{reach.settings.base('instagram', GRAPH)}/{reach.settings.graph_api_version}/{post_id}"
    headers = ph.bearer(account.access_token)
    media = await reach.get(
        "instagram", base, params={"fields": "like_count,comments_count"}, headers=headers, classify=_publishing_error
    )
    insights = await reach.get(
        "instagram",
        f"{base}/insights",
        params={"metric": "views,shares"},
        headers=headers,
        classify=_publishing_error,
    )
    return parse(media, insights)


def parse(media: Any, insights: Any) -> Engagement:
    node = mapping(media)
    return Engagement(
        likes=count(node.get("like_count")),
        reposts=latest(insights, "shares"),
        replies=count(node.get("comments_count")),
        impressions=latest(insights, "views"),
        raw={"media": node, "insights": mapping(insights)},
    )
