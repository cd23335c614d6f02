"""What the Graph timelines (Facebook Pages, Instagram, Threads) share: one listing call through the
platform's publishing adapter (its Graph host, API version and reading of Meta's error codes, such
as a rate limit told in a 400), and cursor paging: `limit`, `after` = the answer's
`paging.cursors.after`, another page only while the answer names a `paging.next`."""

from __future__ import annotations

from typing import Any

from crier.contracts.imports import ImportedPost
from crier.platforms._graph_adapter import GraphAdapter
from crier.platforms.timelines import PAGE_SIZE, TimelinePage
from crier.platforms.timelines._shapes import instant, text_of


async def listing(adapter: GraphAdapter, path: str, token: str, fields: str, cursor: str | None) -> Any:
    params = {"fields": fields, "limit": str(PAGE_SIZE)}
    if cursor:
        params["after"] = cursor
    return await adapter._call("GET", path, token, params=params)


def parse(body: Any, *, text: str, time: str, url: str) -> TimelinePage:
    data = body.get("data") if isinstance(body, dict) else None
    posts = [
        ImportedPost(
            platform_post_id=str(item["id"]),
            platform_post_url=item.get(url) if isinstance(item.get(url), str) else None,
            content=text_of(item.get(text)),
            published_at=instant(item.get(time)),
        )
        for item in (data if isinstance(data, list) else [])
        if isinstance(item, dict) and item.get("id")
    ]
    paging = body.get("paging") if isinstance(body, dict) else None
    paging = paging if isinstance(paging, dict) else {}
    cursors = paging.get("cursors") if isinstance(paging.get("cursors"), dict) else {}
    after = cursors.get("after")
    more = bool(paging.get("next")) and bool(after) and bool(posts)
    return TimelinePage(posts, str(after) if more else None)
