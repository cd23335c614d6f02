"""Instagram: `GET /{ig-user-id}/media` (instagram_basic), newest first, fields
`id,caption,timestamp,permalink`, Graph cursor paging (`after`, while `paging.next` is named).
Stories are not listed there (they live a day, at /stories)."""

from __future__ import annotations

import httpx

from crier.contracts.connect import AccountToken
from crier.platforms.base import PlatformSettings
from crier.platforms.instagram_publishing import publisher
from crier.platforms.timelines import TimelinePage
from crier.platforms.timelines._graph import listing, parse

FIELDS = "id,caption,timestamp,permalink"


class InstagramTimeline:
    def __init__(self, http: httpx.AsyncClient, settings: PlatformSettings) -> None:
        self.graph = publisher(http, settings)

    async def page(self, account: AccountToken, cursor: str | None) -> TimelinePage:
        body = await listing(self.graph, f"/{account.network_unique_id}/media", account.access_token, FIELDS, cursor)
        return parse(body, text="caption", time="timestamp", url="permalink")
