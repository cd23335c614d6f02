"""X: `GET /2/users/:id/tweets` (scopes tweet.read, users.read), newest first, `max_results`
5..100 and `pagination_token` = the previous page's `meta.next_token`, absent on the last page. The
page's posts are under `data` (absent when the page is empty); `created_at` comes only when asked
for in the fields (2.167 names them `post.fields`, older versions `tweet.fields`: both are sent).
Retweets are someone else's post, so they are left out (`exclude=retweets`); replies are the
account's own words and stay."""

from __future__ import annotations

from typing import Any

import httpx

from crier.contracts.connect import AccountToken
from crier.contracts.imports import ImportedPost
from crier.platforms import _publish_http as ph
from crier.platforms.base import PlatformSettings
from crier.platforms.timelines import PAGE_SIZE, TimelinePage
from crier.platforms.timelines._shapes import instant, text_of
from crier.platforms.x import API


class XTimeline:
    def __init__(self, http: httpx.AsyncClient, settings: PlatformSettings) -> None:
        self.http, self.settings = http, settings
        self.api = settings.base("x", API)

    async def page(self, account: AccountToken, cursor: str | None) -> TimelinePage:
        params = {
            "max_results": str(PAGE_SIZE),
            "exclude": "retweets",
            "post.fields": "created_at",
            "tweet.fields": "created_at",
        }
        if cursor:
            params["pagination_token"] = cursor
        body = await ph.send(
            self.http,
            "x",
            "GET",
            f"{self.api}/2/users/{account.network_unique_id}/tweets",
            params=params,
            headers=ph.bearer(account.access_token),
            timeout=self.settings.timeout_s,
        )
        return parse(body, account.username)


def parse(body: Any, username: str) -> TimelinePage:
    data = body.get("data") if isinstance(body, dict) else None
    meta = body.get("meta") if isinstance(body, dict) else None
    posts = [
        ImportedPost(
            platform_post_id=str(p["id"]),
            platform_post_url=_url(username, str(p["id"])),
            content=text_of(p.get("text")),
            published_at=instant(p.get("created_at")),
        )
        for p in (data if isinstance(data, list) else [])
        if isinstance(p, dict) and p.get("id")
    ]
    token = meta.get("next_token") if isinstance(meta, dict) else None
    return TimelinePage(posts, str(token) if token else None)


def _url(username: str, post_id: str) -> str:
    return f"https://x.com/{username}/status/{post_id}" if username else f"https://x.com/i/web/status/{post_id}"
