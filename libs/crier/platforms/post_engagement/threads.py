"""Threads: `GET /{media-id}/insights?metric=views,likes,replies,reposts,quotes` on
graph.threads.net (scope `threads_manage_insights`).

likes ← `likes`, reposts ← `reposts`, replies ← `replies`, impressions ← `views` (`quotes` stays in
`raw`). `raw` is the insights answer."""

from __future__ import annotations

from typing import Any

from crier.contracts.connect import AccountToken
from crier.platforms import _publish_http as ph
from crier.platforms.account_metrics import Reach, mapping
from crier.platforms.account_metrics._insights import latest
from crier.platforms.post_engagement import Engagement
from crier.platforms.threads import GRAPH, _publishing_error

METRICS = "views,likes,replies,reposts,quotes"


async def read(reach: Reach, account: AccountToken, post_id: str) -> Engagement:
    version = reach.settings.threads_api_version
    body = await reach.get(
        "threads",
        f"{reach.settings.base('threads', GRAPH)}/{version}/{post_id}/insights",
        params={"metric": METRICS},
        headers=ph.bearer(account.access_token),
        classify=_publishing_error,
    )
    return parse(body)


def parse(body: Any) -> Engagement:
    return Engagement(
        likes=latest(body, "likes"),
        reposts=latest(body, "reposts"),
        replies=latest(body, "replies"),
        impressions=latest(body, "views"),
        raw=mapping(body),
    )
