"""The post engagement readers' parsing, each against an answer in its platform's documented shape
(checked against the platform's contract where `../shared/platform-contracts` has one), and the
simulator's engagement answers against the same contracts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crier.platforms.base import PlatformError
from crier.platforms.post_engagement import Engagement
from crier.platforms.post_engagement import bluesky as bluesky_engagement
from crier.platforms.post_engagement import facebook as facebook_engagement
from crier.platforms.post_engagement import instagram as instagram_engagement
from crier.platforms.post_engagement import linkedin as linkedin_engagement
from crier.platforms.post_engagement import mastodon as mastodon_engagement
from crier.platforms.post_engagement import pinterest as pinterest_engagement
from crier.platforms.post_engagement import sandbox as sandbox_engagement
from crier.platforms.post_engagement import threads as threads_engagement
from crier.platforms.post_engagement import tiktok as tiktok_engagement
from crier.platforms.post_engagement import x as x_engagement
from crier.platforms.post_engagement import youtube as youtube_engagement
from crier.platforms.simulator import post_engagement as simulated

from .contracts import ROOT, discovery_errors, lexicon_errors, openapi_errors

contracts = pytest.mark.skipif(not ROOT.is_dir(), reason=f"platform contracts not found at {ROOT}")


def _counts(e: Engagement) -> tuple[int | None, ...]:
    return (e.likes, e.reposts, e.replies, e.impressions)


@contracts
def test_x_post_public_metrics_and_an_unknown_post() -> None:
    metrics = {
        "repost_count": 7,
        "reply_count": 5,
        "like_count": 42,
        "quote_count": 1,
        "bookmark_count": 2,
        "impression_count": 3180,
    }
    body = {"data": {"id": "1800000000000000001", "text": "hello", "public_metrics": metrics}}
    assert openapi_errors("x/openapi.json", "GetPostsByIdResponse", body) == []
    parsed = x_engagement.parse(body)
    assert _counts(parsed) == (42, 7, 5, 3180) and parsed.raw == body["data"]
    missing = {"errors": [{"title": "Not Found Error", "detail": "Could not find tweet with id: [1].", "type": "x"}]}
    with pytest.raises(PlatformError) as refused:
        x_engagement.parse(missing)
    assert refused.value.code == "not_found"


@contracts
def test_mastodon_status_counts() -> None:
    from .contracts import load

    props = load("mastodon/schema.json")["components"]["schemas"]["Status"]["properties"]
    assert {"favourites_count", "reblogs_count", "replies_count"} <= set(props)
    status = {"id": "1", "favourites_count": 9, "reblogs_count": 2, "replies_count": 4, "content": "<p>hi</p>"}
    assert _counts(mastodon_engagement.parse(status)) == (9, 2, 4, None)


@contracts
def test_bluesky_post_view_counts_and_a_post_left_out() -> None:
    uri = "at://did:plc:abc/app.bsky.feed.post/3k2"
    view = {
        "uri": uri,
        "cid": "bafyreib2rxk3rh6kzwq",
        "author": {"did": "did:plc:abc", "handle": "alice.test"},
        "record": {"$type": "app.bsky.feed.post", "text": "hi", "createdAt": "2026-06-01T00:00:00.000Z"},
        "indexedAt": "2026-06-01T00:00:01.000Z",
        "likeCount": 12,
        "repostCount": 3,
        "replyCount": 2,
        "quoteCount": 1,
    }
    assert lexicon_errors("app.bsky.feed.defs", view, part="", def_name="postView") == []
    assert _counts(bluesky_engagement.parse({"posts": [view]}, uri)) == (12, 3, 2, None)
    with pytest.raises(PlatformError):
        bluesky_engagement.parse({"posts": []}, uri)


def test_linkedin_social_actions() -> None:
    body = {
        "target": "urn:li:share:7100000000000000000",
        "likesSummary": {"totalLikes": 31, "aggregatedTotalLikes": 31, "likedByCurrentUser": False},
        "commentsSummary": {"totalFirstLevelComments": 6, "aggregatedTotalComments": 8},
    }
    assert _counts(linkedin_engagement.parse(body)) == (31, None, 8, None)


def _lifetime(values: dict[str, int]) -> dict[str, Any]:
    return {"data": [{"name": n, "period": "lifetime", "values": [{"value": v}]} for n, v in values.items()]}


def test_facebook_post_edges_and_impressions() -> None:
    post = {
        "id": "1029384756_88",
        "shares": {"count": 3},
        "reactions": {"data": [], "summary": {"total_count": 57}},
        "comments": {"data": [], "summary": {"order": "ranked", "total_count": 11}},
    }
    insights = _lifetime({"post_impressions": 2400})
    parsed = facebook_engagement.parse(post, insights)
    assert _counts(parsed) == (57, 3, 11, 2400)
    assert parsed.raw == {"post": post, "insights": insights}


def test_instagram_media_counts_and_insights() -> None:
    media = {"id": "17895695668004550", "like_count": 80, "comments_count": 9}
    insights = _lifetime({"views": 1500, "shares": 4})
    assert _counts(instagram_engagement.parse(media, insights)) == (80, 4, 9, 1500)


def test_threads_media_insights() -> None:
    body = _lifetime({"views": 900, "likes": 40, "replies": 6, "reposts": 3, "quotes": 1})
    assert _counts(threads_engagement.parse(body)) == (40, 3, 6, 900)


@contracts
def test_youtube_video_statistics() -> None:
    video = {"kind": "youtube#video", "etag": "e", "id": "dQw4w9WgXcQ", "statistics": simulated.youtube_statistics("v")}
    body = {"kind": "youtube#videoListResponse", "etag": "e", "items": [video]}
    assert discovery_errors("youtube/youtube.v3.json", "VideoListResponse", body) == []
    counts = simulated.engagement("youtube", "v")
    assert _counts(youtube_engagement.parse(body, "dQw4w9WgXcQ")) == (counts["likes"], None, counts["replies"], None)


@contracts
def test_pinterest_pin_metrics() -> None:
    pin = {
        "id": "813744226420795884",
        "board_id": "549755885175",
        "pin_metrics": {
            "90d": {"pin_click": 7, "impression": 2, "clickthrough": 3},
            "lifetime_metrics": {"pin_click": 7, "impression": 250, "clickthrough": 3, "reaction": 10, "comment": 2},
        },
    }
    assert openapi_errors("pinterest/openapi.json", "Pin", pin) == []
    assert _counts(pinterest_engagement.parse(pin)) == (10, None, 2, 250)


def test_tiktok_video_query() -> None:
    body = {
        "data": {
            "videos": [{"id": "7300000000000000001", "like_count": 70, "comment_count": 8, "share_count": 5}],
            "cursor": 0,
            "has_more": False,
        },
        "error": {"code": "ok", "message": "", "log_id": "1"},
    }
    assert _counts(tiktok_engagement.parse(body, "7300000000000000001")) == (70, 5, 8, None)
    with pytest.raises(PlatformError):
        tiktok_engagement.parse(body, "another")


def test_sandbox_engagement_grows_for_three_days_then_holds() -> None:
    published = datetime(2026, 6, 1, 12, tzinfo=UTC)
    first = sandbox_engagement.engagement("post-1", published, published)
    assert first == sandbox_engagement.engagement("post-1", published, published + timedelta(minutes=59))
    later = sandbox_engagement.engagement("post-1", published, published + timedelta(days=1))
    assert (later.impressions or 0) > (first.impressions or 0)
    settled = sandbox_engagement.engagement("post-1", published, published + timedelta(days=3))
    month = sandbox_engagement.engagement("post-1", published, published + timedelta(days=30))
    assert _counts(settled) == _counts(month)
