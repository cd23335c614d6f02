"""Facebook Pages: the post's edges summarised (`GET /{post-id}?fields=shares,
reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)`) and its insights
(`GET /{post-id}/insights?metric=post_impressions`), with the Page's token.

likes ← `reactions.summary.total_count` (every reaction, a like among them), reposts ←
`shares.count`, replies ← `comments.summary.total_count`, impressions ← `post_impressions`
(lifetime). `raw` is `{"post": …, "insights": …}`."""

from __future__ import annotations

from typing import Any

from crier.contracts.connect import AccountToken
from crier.platforms import _publish_http as ph
from crier.platforms.account_metrics import Reach, count, dig, mapping
from crier.platforms.account_metrics._insights import latest
from crier.platforms.facebook import GRAPH, _publishing_error
from crier.platforms.post_engagement import Engagement

FIELDS = "shares,reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)"


async def read(reach: Reach, account: AccountToken, post_id: str) -> Engagement:
    base = f"{reach.settings.base('facebook', GRAPH)}/{reach.settings.graph_api_version}/{post_id}"
    headers = ph.bearer(account.access_token)
    post = await reach.get("facebook", base, params={"fields": FIELDS}, headers=headers, classify=_publishing_error)
    insights = await reach.get(
        "facebook",
        f"{base}/insights",
        params={"metric": "post_impressions", "period": "lifetime"},
        headers=headers,
        classify=_publishing_error,
    )
    return parse(post, insights)


def parse(post: Any, insights: Any) -> Engagement:
    return Engagement(
        likes=count(dig(post, "reactions", "summary", "total_count")),
        reposts=count(dig(post, "shares", "count")),
        replies=count(dig(post, "comments", "summary", "total_count")),
        impressions=latest(insights, "post_impressions"),
        raw={"post": mapping(post), "insights": mapping(insights)},
    )
