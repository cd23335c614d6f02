"""Bluesky: `app.bsky.feed.getAuthorFeed` (the AppView's, which the account's PDS proxies) with
`actor` = the account's DID, `limit` up to 100 and `cursor` = the previous answer's, absent on the
last page. Items are `{post, reason?}`: a repost (`reason` #reasonRepost, or a post by another
author) is someone else's post and is left out; `filter=posts_and_author_threads` leaves out the
account's replies to others. A post's id is its at-uri (as publishing records it), its text the
record's `text`, its time the record's `createdAt`. The calls go through the publishing adapter's
own (an OAuth account's token with its DPoP proof, an app password session's as a bearer)."""

from __future__ import annotations

from typing import Any

import httpx

from crier.contracts.connect import AccountToken
from crier.contracts.imports import ImportedPost
from crier.platforms.base import PlatformSettings
from crier.platforms.bluesky import BlueskyAdapter, post_url
from crier.platforms.timelines import PAGE_SIZE, TimelinePage
from crier.platforms.timelines._context import acting_as
from crier.platforms.timelines._shapes import instant, text_of


class BlueskyTimeline:
    def __init__(self, http: httpx.AsyncClient, settings: PlatformSettings) -> None:
        self.calls = BlueskyAdapter(http, settings)

    async def page(self, account: AccountToken, cursor: str | None) -> TimelinePage:
        did = account.extra.get("did") if isinstance(account.extra.get("did"), str) else account.network_unique_id
        params = {"actor": did, "limit": str(PAGE_SIZE), "filter": "posts_and_author_threads"}
        if cursor:
            params["cursor"] = cursor
        body = await self.calls._call(acting_as(account), "GET", "app.bsky.feed.getAuthorFeed", params=params)
        return parse(body, did)


def parse(body: Any, did: str) -> TimelinePage:
    feed = body.get("feed") if isinstance(body, dict) else None
    posts = []
    for item in feed if isinstance(feed, list) else []:
        post = item.get("post") if isinstance(item, dict) else None
        if not isinstance(post, dict) or not post.get("uri") or item.get("reason") is not None:
            continue
        author = post.get("author") if isinstance(post.get("author"), dict) else {}
        if author.get("did") not in (None, did):
            continue
        record = post.get("record") if isinstance(post.get("record"), dict) else {}
        posts.append(
            ImportedPost(
                platform_post_id=str(post["uri"]),
                platform_post_url=post_url(str(post["uri"])),
                content=text_of(record.get("text")),
                published_at=instant(record.get("createdAt") or post.get("indexedAt")),
            )
        )
    cursor = body.get("cursor") if isinstance(body, dict) else None
    return TimelinePage(posts, str(cursor) if cursor else None)
