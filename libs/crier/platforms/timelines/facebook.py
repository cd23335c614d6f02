"""Facebook Pages: `GET /{page-id}/published_posts` (the Page's own posts, newest first; a Page
token with pages_read_engagement), fields `id,message,created_time,permalink_url`, Graph cursor
paging (`after`, while `paging.next` is named). A post's id is `<page-id>_<post-id>`, as publishing
records it."""

from __future__ import annotations

import httpx

from crier.contracts.connect import AccountToken
from crier.platforms.base import PlatformSettings
from crier.platforms.facebook import publisher
from crier.platforms.timelines import TimelinePage
from crier.platforms.timelines._graph import listing, parse

FIELDS = "id,message,created_time,permalink_url"


class FacebookTimeline:
    def __init__(self, http: httpx.AsyncClient, settings: PlatformSettings) -> None:
        self.graph = publisher(http, settings)

    async def page(self, account: AccountToken, cursor: str | None) -> TimelinePage:
        path = f"/{account.network_unique_id}/published_posts"
        body = await listing(self.graph, path, account.access_token, FIELDS, cursor)
        return parse(body, text="message", time="created_time", url="permalink_url")
