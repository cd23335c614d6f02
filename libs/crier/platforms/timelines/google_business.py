"""Google Business Profile: `GET /v4/{accounts/<a>/locations/<l>}/localPosts` (scope
business.manage), newest first, `pageSize` up to 100 and `pageToken` = the previous answer's
`nextPageToken`, absent on the last page. An empty answer is `{}`. A post's `name` is its id in
Crier (as publishing records it), `summary` its text, `searchUrl` its page."""

from __future__ import annotations

from typing import Any

import httpx

from crier.contracts.connect import AccountToken
from crier.contracts.imports import ImportedPost
from crier.platforms import _publish_http as ph
from crier.platforms.base import PlatformSettings
from crier.platforms.google_business import POSTS_HOST
from crier.platforms.timelines import PAGE_SIZE, TimelinePage
from crier.platforms.timelines._shapes import instant, text_of


class GoogleBusinessTimeline:
    def __init__(self, http: httpx.AsyncClient, settings: PlatformSettings) -> None:
        self.http, self.settings = http, settings

    async def page(self, account: AccountToken, cursor: str | None) -> TimelinePage:
        params = {"pageSize": str(PAGE_SIZE)}
        if cursor:
            params["pageToken"] = cursor
        body = await ph.send(
            self.http,
            "google_business",
            "GET",
            f"{self.settings.base('google_business', POSTS_HOST)}/v4/{account.network_unique_id}/localPosts",
            params=params,
            headers=ph.bearer(account.access_token),
            timeout=self.settings.timeout_s,
        )
        return parse(body)


def parse(body: Any) -> TimelinePage:
    listed = body.get("localPosts") if isinstance(body, dict) else None
    posts = [
        ImportedPost(
            platform_post_id=str(p["name"]),
            platform_post_url=p.get("searchUrl") if isinstance(p.get("searchUrl"), str) else None,
            content=text_of(p.get("summary")),
            published_at=instant(p.get("createTime")),
        )
        for p in (listed if isinstance(listed, list) else [])
        if isinstance(p, dict) and p.get("name")
    ]
    token = body.get("nextPageToken") if isinstance(body, dict) else None
    return TimelinePage(posts, str(token) if token else None)
