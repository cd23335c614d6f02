"""Pinterest: `GET /v5/pins` (pins:read), the account's own Pins newest first, `page_size` up to
250 and `bookmark` = the previous answer's, null on the last page. A Pin's page is
`https://www.pinterest.com/pin/<id>/`; its text is its title and description."""

from __future__ import annotations

from typing import Any

import httpx

from crier.contracts.connect import AccountToken
from crier.contracts.imports import ImportedPost
from crier.platforms import _publish_http as ph
from crier.platforms.base import PlatformSettings
from crier.platforms.pinterest_pins import API_BASE
from crier.platforms.timelines import PAGE_SIZE, TimelinePage
from crier.platforms.timelines._shapes import instant, text_of


class PinterestTimeline:
    def __init__(self, http: httpx.AsyncClient, settings: PlatformSettings) -> None:
        self.http, self.settings = http, settings

    async def page(self, account: AccountToken, cursor: str | None) -> TimelinePage:
        params = {"page_size": str(PAGE_SIZE)}
        if cursor:
            params["bookmark"] = cursor
        body = await ph.send(
            self.http,
            "pinterest",
            "GET",
            self.settings.base("pinterest", API_BASE) + "/v5/pins",
            params=params,
            headers=ph.bearer(account.access_token),
            timeout=self.settings.timeout_s,
        )
        return parse(body)


def parse(body: Any) -> TimelinePage:
    items = body.get("items") if isinstance(body, dict) else None
    posts = [
        ImportedPost(
            platform_post_id=str(pin["id"]),
            platform_post_url=f"https://www.pinterest.com/pin/{pin['id']}/",
            content="\n\n".join(t for t in (text_of(pin.get("title")), text_of(pin.get("description"))) if t),
            published_at=instant(pin.get("created_at")),
        )
        for pin in (items if isinstance(items, list) else [])
        if isinstance(pin, dict) and pin.get("id")
    ]
    bookmark = body.get("bookmark") if isinstance(body, dict) else None
    return TimelinePage(posts, str(bookmark) if bookmark else None)
