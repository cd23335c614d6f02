"""Timeline readers (imports): each pages through its platform's documented timeline endpoint, on the
simulator where it plays that endpoint with a seeded history, else on the documented answer shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from crier.contracts.common import PLATFORMS
from crier.contracts.connect import AccountToken
from crier.platforms.base import PlatformSettings, RateLimited, TokenRejected
from crier.platforms.timelines import (
    PAGE_SIZE,
    TimelineReader,
    _graph,
    bluesky,
    google_business,
    linkedin,
    pinterest,
    readers,
    tiktok,
    youtube,
)
from crier.platforms.timelines.sandbox import HISTORY_SIZE, SandboxTimeline
from tests.platforms.bluesky_accounts import bluesky_account
from tests.platforms.conftest import Flow
from tests.platforms.publishing import connect_for_publishing


async def read_all(reader: TimelineReader, account: AccountToken) -> tuple[list[str], int]:
    ids: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await reader.page(account, cursor)
        pages += 1
        ids += [p.platform_post_id for p in page.posts]
        if page.cursor is None:
            return ids, pages
        cursor = page.cursor


@pytest.mark.parametrize(
    ("platform", "history", "pages"),
    [
        ("x", 120, 3),
        ("mastodon", 90, 4),
        ("bluesky", 75, 2),
        ("facebook", 60, 2),
        ("instagram", 51, 2),
        ("threads", 50, 1),
        ("linkedin", 55, 2),
        ("google_business", 100, 2),
        ("pinterest", 60, 2),
        ("youtube", 70, 2),
        ("tiktok", 45, 3),
    ],
)
async def test_a_seeded_history_is_read_whole_newest_first(flow: Flow, platform: str, history: int, pages: int) -> None:
    if platform == "bluesky":
        pub = await bluesky_account(flow, history=history)
    else:
        pub = await connect_for_publishing(flow, platform, history=history)  # type: ignore[arg-type]
    reader = readers(flow.http, pub.settings)[platform]
    ids, read = await read_all(reader, pub.account)
    seeded = [p["id"] for p in flow.sim.posts(platform, pub.user["id"])]
    assert ids == list(reversed(seeded)) and len(ids) == history
    assert read == pages
    first = (await reader.page(pub.account, None)).posts[0]
    assert first.content == f"Post {history} of {pub.user['username']}"  # YouTube's: the video's title
    assert first.published_at is not None and first.published_at < datetime.now(UTC)
    assert first.platform_post_url and first.platform_post_url.startswith("http")


async def test_x_pages_by_the_next_token_and_a_429_mid_timeline_names_its_wait(flow: Flow) -> None:
    pub = await connect_for_publishing(flow, "x", history=60)
    reader = readers(flow.http, pub.settings)["x"]
    first = await reader.page(pub.account, None)
    assert len(first.posts) == PAGE_SIZE and first.cursor
    flow.sim.fault("x", "user_tweets", "rate_limit", retry_after=7)
    with pytest.raises(RateLimited) as limited:
        await reader.page(pub.account, first.cursor)
    assert limited.value.retry_after_s is not None and limited.value.retry_after_s > 0
    second = await reader.page(pub.account, first.cursor)
    assert len(second.posts) == 10 and second.cursor is None
    asked = flow.sim.requests("x", "user_tweets")[-1]["query"]
    assert asked["pagination_token"] == first.cursor and asked["exclude"] == "retweets"


async def test_mastodon_pages_by_max_id(flow: Flow) -> None:
    pub = await connect_for_publishing(flow, "mastodon", history=45)
    reader = readers(flow.http, pub.settings)["mastodon"]
    first = await reader.page(pub.account, None)
    assert first.cursor == first.posts[-1].platform_post_id
    await reader.page(pub.account, first.cursor)
    assert flow.sim.requests("mastodon", "account_statuses")[-1]["query"]["max_id"] == first.cursor


async def test_a_refused_token_is_token_rejected(flow: Flow) -> None:
    pub = await connect_for_publishing(flow, "x", history=5)
    flow.sim.invalidate_tokens("x", pub.user["id"])
    with pytest.raises(TokenRejected):
        await readers(flow.http, pub.settings)["x"].page(pub.account, None)


def test_linkedin_reads_elements_and_offsets_by_count() -> None:
    element = {
        "id": "urn:li:share:7012",
        "author": "urn:li:person:abc",
        "commentary": "Shipped.",
        "publishedAt": 1767225600000,
        "lifecycleState": "PUBLISHED",
    }
    full = linkedin.parse({"elements": [element] * 10, "paging": {"start": 20, "count": 10}}, 20, 10)
    assert (
        full.cursor == "30"
        and full.posts[0].platform_post_url == "https://www.linkedin.com/feed/update/urn:li:share:7012/"
    )
    assert full.posts[0].published_at == datetime(2026, 1, 1, tzinfo=UTC) and full.posts[0].content == "Shipped."
    assert linkedin.parse({"elements": [element], "paging": {"start": 30, "count": 10}}, 30, 10).cursor is None


def test_google_business_reads_local_posts_and_the_next_page_token() -> None:
    post = {
        "name": "accounts/1/locations/2/localPosts/3",
        "summary": "Open late on Friday",
        "createTime": "2026-05-01T10:00:00Z",
        "searchUrl": "https://local.google.com/place?id=2&use=posts&lpsid=3",
    }
    page = google_business.parse({"localPosts": [post], "nextPageToken": "abc"})
    assert page.cursor == "abc" and page.posts[0].platform_post_id == post["name"]
    assert google_business.parse({}).posts == [] and google_business.parse({}).cursor is None


async def test_the_sandbox_history_is_the_same_on_every_read() -> None:
    account = AccountToken(
        account_id="acc_1",
        platform="x",
        access_token="",
        expires_at=None,
        network_unique_id="acc_1",
        username="jane",
        account_type="account",
    )
    first, pages = await read_all(SandboxTimeline(), account)
    again, _ = await read_all(SandboxTimeline(), account)
    assert first == again and len(set(first)) == HISTORY_SIZE and pages == -(-HISTORY_SIZE // PAGE_SIZE)


def test_bluesky_leaves_reposts_out() -> None:
    mine = {"uri": "at://did:plc:me/app.bsky.feed.post/3k2", "cid": "c", "author": {"did": "did:plc:me"}}
    theirs = {"uri": "at://did:plc:other/app.bsky.feed.post/3k1", "cid": "c", "author": {"did": "did:plc:other"}}
    body = {
        "feed": [
            {"post": {**mine, "record": {"text": "mine", "createdAt": "2026-01-02T03:04:05.000Z"}}},
            {"post": {**theirs, "record": {"text": "theirs"}}, "reason": {"$type": "app.bsky.feed.defs#reasonRepost"}},
        ],
        "cursor": "3k1",
    }
    page = bluesky.parse(body, "did:plc:me")
    assert [p.content for p in page.posts] == ["mine"] and page.cursor == "3k1"
    assert page.posts[0].platform_post_url == "https://bsky.app/profile/did:plc:me/post/3k2"


def test_every_platform_has_a_reader() -> None:
    assert set(readers(httpx.AsyncClient(), PlatformSettings())) == set(PLATFORMS)


@pytest.mark.parametrize(
    ("parse", "body", "text"),
    [
        (
            lambda b: _graph.parse(b, text="message", time="created_time", url="permalink_url"),
            {
                "data": [
                    {
                        "id": "10_20",
                        "message": "Hi",
                        "created_time": "2026-01-02T03:04:05+0000",
                        "permalink_url": "https://www.facebook.com/10/posts/20",
                    }
                ],
                "paging": {"cursors": {"before": "B", "after": "A"}, "next": "https://graph.facebook.com/next"},
            },
            "Hi",
        ),
        (
            lambda b: _graph.parse(b, text="caption", time="timestamp", url="permalink"),
            {
                "data": [
                    {
                        "id": "1789",
                        "caption": "Sunset",
                        "timestamp": "2026-01-02T03:04:05+0000",
                        "permalink": "https://www.instagram.com/p/Cx/",
                    }
                ],
                "paging": {"cursors": {"before": "B", "after": "A"}, "next": "https://graph.facebook.com/next"},
            },
            "Sunset",
        ),
    ],
)
def test_graph_timelines_page_by_the_after_cursor_while_next_is_named(parse: Any, body: dict, text: str) -> None:
    page = parse(body)
    assert page.cursor == "A" and page.posts[0].content == text
    assert page.posts[0].published_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    del body["paging"]["next"]
    assert parse(body).cursor is None


def test_youtube_reads_the_uploads_playlist_and_carries_it_in_the_cursor() -> None:
    assert youtube.uploads_of({"items": [{"contentDetails": {"relatedPlaylists": {"uploads": "UUabc"}}}]}) == "UUabc"
    item = {
        "snippet": {"title": "Launch", "publishedAt": "2026-02-01T00:00:00Z"},
        "contentDetails": {"videoId": "dQw4w9WgXcQ", "videoPublishedAt": "2026-01-31T12:00:00Z"},
    }
    page = youtube.parse({"items": [item], "nextPageToken": "CAUQAA"}, "UUabc")
    assert page.cursor == "UUabc|CAUQAA" and page.posts[0].platform_post_url.endswith("v=dQw4w9WgXcQ")
    assert page.posts[0].published_at == datetime(2026, 1, 31, 12, tzinfo=UTC)
    assert youtube.parse({"items": []}, "UUabc").cursor is None


def test_pinterest_pages_by_bookmark() -> None:
    pin = {"id": "813", "title": "Desk", "description": "Oak", "created_at": "2026-01-02T03:04:05"}
    page = pinterest.parse({"items": [pin], "bookmark": "Y2JV"})
    assert (page.cursor, page.posts[0].content) == ("Y2JV", "Desk\n\nOak")
    assert pinterest.parse({"items": [], "bookmark": None}).cursor is None


def test_tiktok_pages_by_cursor_while_has_more() -> None:
    video = {"id": "7301", "video_description": "Dance", "create_time": 1767225600, "share_url": "https://t.tk/v"}
    page = tiktok.parse({"videos": [video], "cursor": 1767225600000, "has_more": True})
    assert page.cursor == "1767225600000" and page.posts[0].published_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert tiktok.parse({"videos": [video], "cursor": 1, "has_more": False}).cursor is None
