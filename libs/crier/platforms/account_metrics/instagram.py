"""Instagram (professional accounts, through their Facebook Page): the IG User node's counts
(`GET /{ig-user-id}?fields=followers_count,follows_count,media_count`) and its insights
(`GET /{ig-user-id}/insights?metric=views,reach,profile_views&period=day&metric_type=total_value`).

followers ← `followers_count`, following ← `follows_count`, posts_count ← `media_count`;
impressions ← `views` (Graph API v22 replaced `impressions` with it), reach ← `reach`,
profile_views ← `profile_views`, each over the last day. `raw` is `{"user": …, "insights": …}`."""

from __future__ import annotations

from typing import Any

from crier.contracts.connect import AccountToken
from crier.platforms import _publish_http as ph
from crier.platforms.account_metrics import Figures, Reach, count, mapping
from crier.platforms.account_metrics._insights import latest
from crier.platforms.instagram_publishing import GRAPH, _publishing_error

USER_METRICS = "views,reach,profile_views"


async def read(reach: Reach, account: AccountToken) -> Figures:
    graph = reach.settings.base("instagram", GRAPH)
    base = f"{graph}/{reach.settings.graph_api_version}/{account.network_unique_id}"
    headers = ph.bearer(account.access_token)
    user = await reach.get(
        "instagram",
        base,
        params={"fields": "followers_count,follows_count,media_count"},
        headers=headers,
        classify=_publishing_error,
    )
    insights = await reach.get(
        "instagram",
        f"{base}/insights",
        params={"metric": USER_METRICS, "period": "day", "metric_type": "total_value"},
        headers=headers,
        classify=_publishing_error,
    )
    return parse(user, insights)


def parse(user: Any, insights: Any) -> Figures:
    node = mapping(user)
    return Figures(
        followers=count(node.get("followers_count")),
        following=count(node.get("follows_count")),
        posts_count=count(node.get("media_count")),
        impressions=latest(insights, "views"),
        reach=latest(insights, "reach"),
        profile_views=latest(insights, "profile_views"),
        raw={"user": node, "insights": mapping(insights)},
    )
