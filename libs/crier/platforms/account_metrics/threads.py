"""Threads: the user's insights, `GET /{threads-user-id}/threads_insights?metric=views,followers_count`
(scope `threads_manage_insights`) on graph.threads.net.

followers ← `followers_count` (a total), profile_views ← `views` (Threads' `views` are views of the
profile; the most recent day's value). Threads' user insights have no following, post count,
impressions or reach: None. `raw` is the insights answer."""

from __future__ import annotations

from typing import Any

from crier.contracts.connect import AccountToken
from crier.platforms import _publish_http as ph
from crier.platforms.account_metrics import Figures, Reach, mapping
from crier.platforms.account_metrics._insights import latest
from crier.platforms.threads import GRAPH, _publishing_error


async def read(reach: Reach, account: AccountToken) -> Figures:
    version = reach.settings.threads_api_version
    url = f"{reach.settings.base('threads', GRAPH)}/{version}/{account.network_unique_id}/threads_insights"
    body = await reach.get(
        "threads",
        url,
        params={"metric": "views,followers_count"},
        headers=ph.bearer(account.access_token),
        classify=_publishing_error,
    )
    return parse(body)


def parse(body: Any) -> Figures:
    return Figures(
        followers=latest(body, "followers_count"),
        profile_views=latest(body, "views"),
        raw=mapping(body),
    )
