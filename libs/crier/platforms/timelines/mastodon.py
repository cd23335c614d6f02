"""Mastodon: `GET /api/v1/accounts/:id/statuses` on the account's instance (scope read:statuses),
newest first, `limit` up to 40, older pages by `max_id` = the oldest id seen. The instance may
answer fewer than `limit` (statuses the viewer may not see are dropped after the count), so only an
empty page ends the timeline. Boosts are someone else's post (`exclude_reblogs`). `content` is
HTML; the status's own page is its `url`."""

from __future__ import annotations

from typing import Any

import httpx

from crier.contracts.connect import AccountToken
from crier.contracts.imports import ImportedPost
from crier.platforms import _publish_http as ph
from crier.platforms.base import PlatformError, PlatformSettings
from crier.platforms.timelines import TimelinePage
from crier.platforms.timelines._shapes import from_html, instant

LIMIT = 40


class MastodonTimeline:
    def __init__(self, http: httpx.AsyncClient, settings: PlatformSettings) -> None:
        self.http, self.settings = http, settings

    async def page(self, account: AccountToken, cursor: str | None) -> TimelinePage:
        if not account.instance_url and not self.settings.base_url_override:
            raise PlatformError("the account has no Mastodon instance", code="instance_required")
        instance = self.settings.base("mastodon", account.instance_url or "")
        params = {"limit": str(LIMIT), "exclude_reblogs": "true"}
        if cursor:
            params["max_id"] = cursor
        body = await ph.send(
            self.http,
            "mastodon",
            "GET",
            f"{instance}/api/v1/accounts/{account.network_unique_id.partition('@')[0]}/statuses",
            params=params,
            headers=ph.bearer(account.access_token),
            timeout=self.settings.timeout_s,
        )
        return parse(body)


def parse(body: Any) -> TimelinePage:
    statuses = [s for s in (body if isinstance(body, list) else []) if isinstance(s, dict) and s.get("id")]
    posts = [
        ImportedPost(
            platform_post_id=str(s["id"]),
            platform_post_url=s.get("url") if isinstance(s.get("url"), str) else None,
            content=from_html(s.get("content")),
            published_at=instant(s.get("created_at")),
        )
        for s in statuses
    ]
    return TimelinePage(posts, str(statuses[-1]["id"]) if statuses else None)
