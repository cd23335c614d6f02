"""How many posts each platform lets one account, and one app, publish within a window.

Every number is what the platform documents for the calls that create a post (one per container:
a thread's replies and a first comment count too), kept as `(posts, window_s)`. Where a platform
counts something else (Bluesky counts points, YouTube counts upload calls, Mastodon counts every
request), the number is converted to posts and the comment says how. Where a platform documents no
number for posting, the lowest one reported in public material is used, and the comment says so.
Windows are sliding: a platform whose quota resets at a fixed hour is held to the stricter rule.

`account` is one connected account (a user, a page, a profile, a location); `app` is the platform
app the organization connected its accounts through — one per organization and platform.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from crier.contracts.common import Platform

Scope = Literal["account", "app"]
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0


@dataclass(frozen=True)
class Limit:
    """At most `posts` posts within any `window_s` seconds, per `scope`."""

    scope: Scope
    posts: int
    window_s: float


POSTING_LIMITS: dict[Platform, tuple[Limit, ...]] = {
    # X API v2 "manage Posts": 200 POST /2/tweets per 15 min per user, and 300 posts per 3 hours per
    # user (shared with reposts) — developer.x.com/en/docs/x-api/tweets/manage-tweets. The Basic
    # tier's developer portal adds 100 per 24 h per user and 1,667 per 24 h per app.
    "x": (
        Limit("account", 200, 15 * MINUTE),
        Limit("account", 300, 3 * HOUR),
        Limit("account", 100, DAY),
        Limit("app", 1667, DAY),
    ),
    # LinkedIn: member and application limits per day, midnight UTC, "not published in
    # documentation" (learn.microsoft.com/linkedin/shared/api-guide/concepts/rate-limits); 150
    # posts a day per member is what posting services report (ayrshare.com docs).
    "linkedin": (Limit("account", 150, DAY),),
    # Facebook Pages with a Page token: 4,800 calls × engaged users per 24 h per Page
    # (developers.facebook.com/docs/graph-api/overview/rate-limiting, Pages); one engaged user at least.
    "facebook": (Limit("account", 4800, DAY),),
    # Instagram: GET /<IG_ID>/content_publishing_limit reports quota_total "currently 50" per 86,400 s
    # (developers.facebook.com/docs/instagram-api/reference/ig-user/content_publishing_limit); the
    # content publishing guide says 100. The lower one. A carousel is one post.
    "instagram": (Limit("account", 50, DAY),),
    # YouTube Data API: videos.insert has its own bucket of 100 calls a day per project, reset at
    # midnight Pacific (developers.google.com/youtube/v3/determine_quota_cost). Formerly 1,600 of the
    # 10,000 daily units, i.e. 6 uploads: an operator on an old quota overrides this.
    "youtube": (Limit("app", 100, DAY),),
    # Threads: 250 API-published posts per profile in a 24 h moving period, enforced on
    # threads_publish (developers.facebook.com/docs/threads/overview#posts). Replies have 1,000 of
    # their own; counting them as posts is the stricter rule.
    "threads": (Limit("account", 250, DAY),),
    # Bluesky PDS: 5,000 points per hour and 35,000 per day per DID, a create costing 3 — "at most
    # 1,666 records per hour and 11,666 per day" (docs.bsky.app/docs/advanced-guides/rate-limits).
    "bluesky": (Limit("account", 1666, HOUR), Limit("account", 11666, DAY)),
    # Mastodon: 300 requests per 5 minutes per account, the default of every instance
    # (docs.joinmastodon.org/api/rate-limits); a status is one request.
    "mastodon": (Limit("account", 300, 5 * MINUTE),),
    # TikTok Direct Post: 6 post/publish/video/init requests per minute per user token
    # (developers.tiktok.com/doc/content-posting-api-reference-direct-post). The daily cap per creator
    # is unpublished (spam_risk_too_many_posts); 15 a day is the lowest integrators report.
    "tiktok": (Limit("account", 6, MINUTE), Limit("account", 15, DAY)),
    # Pinterest Standard access: 100 requests per second per user per app for all requests
    # (developers.pinterest.com/docs/reference/rate-limits).
    "pinterest": (Limit("account", 100, 1.0),),
    # Google Business Profile: 300 requests per minute per project, and 10 edits per minute per
    # profile that "cannot be increased" (developers.google.com/my-business/content/limits).
    "google_business": (Limit("account", 10, MINUTE), Limit("app", 300, MINUTE)),
}


def posting_limits(platform: Platform) -> tuple[Limit, ...]:
    return POSTING_LIMITS.get(platform, ())
