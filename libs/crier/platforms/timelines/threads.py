"""Threads: `GET /{threads-user-id}/threads` on graph.threads.net (threads_basic), newest first,
fields `id,text,timestamp,permalink`, Graph cursor paging (`after`, while `paging.next` is named)."""

from __future__ import annotations

import httpx

from crier.contracts.connect import AccountToken
from crier.platforms.base import PlatformSettings
from crier.platforms.threads import publisher
from crier.platforms.timelines import TimelinePage
from crier.platforms.timelines._graph import listing, parse

FIELDS = "id,text,timestamp,permalink"


class ThreadsTimeline:
    def __init__(self, http: httpx.AsyncClient, settings: PlatformSettings) -> None:
        self.graph = publisher(http, settings)

    async def page(self, account: AccountToken, cursor: str | None) -> TimelinePage:
        body = await listing(self.graph, f"/{account.network_unique_id}/threads", account.access_token, FIELDS, cursor)
        return parse(body, text="text", time="timestamp", url="permalink")
