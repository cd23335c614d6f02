"""Facebook Pages: the Page node's `followers_count` (`GET /{page-id}?fields=followers_count,fan_count`)
and the Page's insights (`GET /{page-id}/insights?metric=page_impressions,page_impressions_unique,
page_views_total&period=day`), both with the Page's own token.

followers ← `followers_count`, impressions ← `page_impressions`, reach ←
`page_impressions_unique`, profile_views ← `page_views_total`, each the last full day. A Page
follows no one and the Graph API gives no total post count: following and posts_count are None.
`raw` is `{"page": …, "insights": …}`, each answer unmodified."""

from __future__ import annotations

from typing import Any

from crier.contracts.connect import AccountToken
from crier.platforms import _publish_http as ph
from crier.platforms.account_metrics import Figures, Reach, count, mapping
from crier.platforms.account_metrics._insights import latest
from crier.platforms.facebook import GRAPH, _publishing_error

PAGE_METRICS = "page_impressions,page_impressions_unique,page_views_total"


async def read(reach: Reach, account: AccountToken) -> Figures:
    base = f"{reach.settings.base('facebook', GRAPH)}/{reach.settings.graph_api_version}/{account.network_unique_id}"
    headers = ph.bearer(account.access_token)
    page = await reach.get(
        "facebook", base, params={"fields": "followers_count,fan_count"}, headers=headers, classify=_publishing_error
    )
    insights = await reach.get(
        "facebook",
        f"{base}/insights",
        params={"metric": PAGE_METRICS, "period": "day"},
        headers=headers,
        classify=_publishing_error,
    )
    return parse(page, insights)


def parse(page: Any, insights: Any) -> Figures:
    node = mapping(page)
    return Figures(
        followers=count(node.get("followers_count")),
        impressions=latest(insights, "page_impressions"),
        reach=latest(insights, "page_impressions_unique"),
        profile_views=latest(insights, "page_views_total"),
        raw={"page": node, "insights": mapping(insights)},
    )
