"""X: `GET /2/tweets/{id}?tweet.fields=public_metrics` (API v2), PostPublicMetrics.

likes ← `like_count`, reposts ← `repost_count` (`retweet_count` in the older field names),
replies ← `reply_count`, impressions ← `impression_count`. `raw` is the post (`data`)."""

from __future__ import annotations

from crier.contracts.connect import AccountToken
from crier.platforms import _publish_http as ph
from crier.platforms.account_metrics import Reach, count, dig, mapping
from crier.platforms.base import PlatformError
from crier.platforms.post_engagement import Engagement
from crier.platforms.x import API, _publishing_error


async def read(reach: Reach, account: AccountToken, post_id: str) -> Engagement:
    body = await reach.get(
        "x",
        f"{reach.settings.base('x', API)}/2/tweets/{post_id}",
        params={"tweet.fields": "public_metrics"},
        headers=ph.bearer(account.access_token),
        classify=_publishing_error,
    )
    return parse(body)


def parse(body: object) -> Engagement:
    post = mapping(dig(body, "data"))
    if not post:
        # X answers an unknown post with 200 and the Problem in `errors`.
        raise PlatformError(f"x: {ph.message_of(body) or 'no such post'}", code="not_found")
    metrics = mapping(post.get("public_metrics"))
    return Engagement(
        likes=count(metrics.get("like_count")),
        reposts=count(metrics.get("repost_count", metrics.get("retweet_count"))),
        replies=count(metrics.get("reply_count")),
        impressions=count(metrics.get("impression_count")),
        raw=post,
    )
