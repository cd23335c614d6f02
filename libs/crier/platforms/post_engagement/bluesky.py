"""Bluesky: `app.bsky.feed.getPosts?uris=<at-uri>` through the account's PDS, the `postView` lexicon.

likes ← `likeCount`, reposts ← `repostCount`, replies ← `replyCount` (`quoteCount` stays in `raw`).
The AT Protocol counts no impressions: None. `raw` is the post view."""

from __future__ import annotations

from typing import Any

from crier.contracts.connect import AccountToken
from crier.platforms import _publish_http as ph
from crier.platforms.account_metrics import Reach, count, dig, mapping
from crier.platforms.atproto import oauth as atproto_oauth
from crier.platforms.base import PlatformError
from crier.platforms.bluesky import DEFAULT_PDS, _publishing_error, xrpc
from crier.platforms.post_engagement import Engagement


async def read(reach: Reach, account: AccountToken, post_id: str) -> Engagement:
    bound = atproto_oauth.Bound.decode(account.access_token)
    kwargs: dict[str, Any] = {}
    if bound is not None:
        kwargs["auth"] = atproto_oauth.DPoPAuth(bound.key, reach.nonces, access_token=bound.token)
    else:
        kwargs["headers"] = ph.bearer(account.access_token)
    pds = reach.settings.base("bluesky", account.instance_url or DEFAULT_PDS)
    body = await reach.get(
        "bluesky", xrpc(pds, "app.bsky.feed.getPosts"), params={"uris": post_id}, classify=_publishing_error, **kwargs
    )
    return parse(body, post_id)


def parse(body: object, uri: str) -> Engagement:
    posts = dig(body, "posts")
    post = next((mapping(p) for p in posts or [] if mapping(p).get("uri") == uri), None)
    if post is None:
        # getPosts leaves out what it cannot find (a deleted post) instead of failing.
        raise PlatformError(f"bluesky: {uri} is not among getPosts' posts", code="not_found")
    return Engagement(
        likes=count(post.get("likeCount")),
        reposts=count(post.get("repostCount")),
        replies=count(post.get("replyCount")),
        raw=post,
    )
