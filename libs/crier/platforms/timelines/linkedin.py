"""LinkedIn: `GET /rest/posts?q=author&author=<urn>` (r_member_social or r_organization_social,
versioned REST headers), newest first, `start` / `count` (at most 100) offsets. The answer's
`paging` carries no total for this finder, so a page shorter than `count` is the last. A post's
`id` is its URN; its page is `/feed/update/<urn>/`; `publishedAt` is epoch milliseconds."""

from __future__ import annotations

from typing import Any

import httpx

from crier.contracts.connect import AccountToken
from crier.contracts.imports import ImportedPost
from crier.platforms import _publish_http as ph
from crier.platforms.base import PlatformSettings
from crier.platforms.linkedin import API_BASE, rest_headers
from crier.platforms.timelines import PAGE_SIZE, TimelinePage
from crier.platforms.timelines._shapes import instant, text_of


class LinkedInTimeline:
    def __init__(self, http: httpx.AsyncClient, settings: PlatformSettings) -> None:
        self.http, self.settings = http, settings

    async def page(self, account: AccountToken, cursor: str | None) -> TimelinePage:
        start = int(cursor or 0)
        body = await ph.send(
            self.http,
            "linkedin",
            "GET",
            self.settings.base("linkedin", API_BASE) + "/rest/posts",
            params={"q": "author", "author": account.network_unique_id, "start": str(start), "count": str(PAGE_SIZE)},
            headers={**ph.bearer(account.access_token), **rest_headers(self.settings.linkedin_version)},
            timeout=self.settings.timeout_s,
        )
        return parse(body, start, PAGE_SIZE)


def parse(body: Any, start: int, count: int) -> TimelinePage:
    elements = body.get("elements") if isinstance(body, dict) else None
    shown = [e for e in (elements if isinstance(elements, list) else []) if isinstance(e, dict) and e.get("id")]
    posts = [
        ImportedPost(
            platform_post_id=str(e["id"]),
            platform_post_url=f"https://www.linkedin.com/feed/update/{e['id']}/",
            content=text_of(e.get("commentary")),
            published_at=instant(e.get("publishedAt") or e.get("createdAt")),
        )
        for e in shown
    ]
    full = isinstance(elements, list) and len(elements) >= count
    return TimelinePage(posts, str(start + len(elements)) if full and elements else None)
