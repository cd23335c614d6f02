"""The account metrics readers' parsing, each against an answer in its platform's documented shape
(checked against the platform's own contract where `../shared/platform-contracts` has one), and
the simulator's metrics answers against the same contracts. No network: the parsers take the
bodies the platforms send."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from crier.platforms.account_metrics import Figures, count
from crier.platforms.account_metrics import bluesky as bluesky_metrics
from crier.platforms.account_metrics import facebook as facebook_metrics
from crier.platforms.account_metrics import google_business as google_business_metrics
from crier.platforms.account_metrics import instagram as instagram_metrics
from crier.platforms.account_metrics import linkedin as linkedin_metrics
from crier.platforms.account_metrics import mastodon as mastodon_metrics
from crier.platforms.account_metrics import pinterest as pinterest_metrics
from crier.platforms.account_metrics import sandbox as sandbox_metrics
from crier.platforms.account_metrics import threads as threads_metrics
from crier.platforms.account_metrics import tiktok as tiktok_metrics
from crier.platforms.account_metrics import x as x_metrics
from crier.platforms.account_metrics import youtube as youtube_metrics
from crier.platforms.simulator import account_figures

from .contracts import ROOT, discovery_errors, lexicon_errors, meta_errors, openapi_errors

contracts = pytest.mark.skipif(not ROOT.is_dir(), reason=f"platform contracts not found at {ROOT}")


def _figures(f: Figures) -> tuple[int | None, ...]:
    return (f.followers, f.following, f.posts_count, f.impressions, f.reach, f.profile_views)


X_ME = {
    "data": {
        "id": "2244994945",
        "name": "X Dev",
        "username": "XDevelopers",
        "public_metrics": {
            "followers_count": 18420,
            "following_count": 312,
            "post_count": 1894,
            "listed_count": 210,
            "like_count": 40,
            "media_count": 12,
        },
    }
}


@contracts
def test_x_public_metrics() -> None:
    assert openapi_errors("x/openapi.json", "GetUsersMeResponse", X_ME) == []
    parsed = x_metrics.parse(X_ME)
    assert _figures(parsed) == (18420, 312, 1894, None, None, None)
    assert parsed.raw == X_ME["data"]
    # Before 2.167 X called it tweet_count.
    older = {**X_ME["data"]["public_metrics"], "tweet_count": 1890}
    del older["post_count"]
    assert x_metrics.parse({"data": {**X_ME["data"], "public_metrics": older}}).posts_count == 1890


MASTODON_ACCOUNT = {
    "id": "109302",
    "username": "crier",
    "acct": "crier",
    "display_name": "Crier",
    "followers_count": 120,
    "following_count": 33,
    "statuses_count": 451,
}


def test_mastodon_account_counts() -> None:
    parsed = mastodon_metrics.parse(MASTODON_ACCOUNT)
    assert _figures(parsed) == (120, 33, 451, None, None, None)
    assert parsed.raw == MASTODON_ACCOUNT


@contracts
def test_mastodon_documents_the_counts_read() -> None:
    from .contracts import load

    props = load("mastodon/schema.json")["components"]["schemas"]["Account"]["properties"]
    assert {"followers_count", "following_count", "statuses_count"} <= set(props)


BLUESKY_PROFILE = {
    "did": "did:plc:z72i7hdynmk6r22z27h6tvur",
    "handle": "bsky.app",
    "displayName": "Bluesky",
    "followersCount": 31000,
    "followsCount": 7,
    "postsCount": 820,
}


@contracts
def test_bluesky_profile_counts() -> None:
    assert lexicon_errors("app.bsky.actor.defs", BLUESKY_PROFILE, part="", def_name="profileViewDetailed") == []
    assert _figures(bluesky_metrics.parse(BLUESKY_PROFILE)) == (31000, 7, 820, None, None, None)


def test_linkedin_organization_and_member() -> None:
    size = {"firstDegreeSize": 5120}
    shares = {
        "paging": {"start": 0, "count": 10, "links": []},
        "elements": [
            {
                "organizationalEntity": "urn:li:organization:2414183",
                "totalShareStatistics": {
                    "uniqueImpressionsCount": 1100,
                    "shareCount": 4,
                    "engagement": 0.02,
                    "clickCount": 50,
                    "likeCount": 30,
                    "impressionCount": 4300,
                    "commentCount": 2,
                },
            }
        ],
    }
    org = linkedin_metrics.parse_organization(size, shares)
    assert _figures(org) == (5120, None, None, 4300, 1100, None)
    assert org.raw == {"network_size": size, "share_statistics": shares}
    member = {"paging": {"start": 0, "count": 10}, "elements": [{"memberFollowersCount": 880}]}
    assert _figures(linkedin_metrics.parse_member(member)) == (880, None, None, None, None, None)


def _insights(values: dict[str, int], *, total: bool = False) -> dict[str, Any]:
    def entry(name: str, value: int) -> dict[str, Any]:
        if total:
            return {"name": name, "period": "day", "total_value": {"value": value}, "id": f"x/insights/{name}/day"}
        series = [{"value": value - 5, "end_time": "2026-06-13T07:00:00+0000"}]
        series.append({"value": value, "end_time": "2026-06-14T07:00:00+0000"})
        return {"name": name, "period": "day", "values": series, "id": f"x/insights/{name}/day"}

    return {"data": [entry(n, v) for n, v in values.items()], "paging": {}}


@contracts
def test_facebook_page_fields_and_insights() -> None:
    page = {"id": "1029384756", "followers_count": 9000, "fan_count": 8700}
    assert meta_errors("Page", page) == []
    insights = _insights({"page_impressions": 400, "page_impressions_unique": 150, "page_views_total": 30})
    parsed = facebook_metrics.parse(page, insights)
    # The last full day's values, not the day before's.
    assert _figures(parsed) == (9000, None, None, 400, 150, 30)
    assert parsed.raw == {"page": page, "insights": insights}


@contracts
def test_instagram_user_fields_and_total_value_insights() -> None:
    user = {"id": "17841400008460056", "followers_count": 5000, "follows_count": 80, "media_count": 310}
    assert meta_errors("IGUser", user) == []
    insights = _insights({"views": 2000, "reach": 900, "profile_views": 44}, total=True)
    assert _figures(instagram_metrics.parse(user, insights)) == (5000, 80, 310, 2000, 900, 44)


def test_threads_insights() -> None:
    body = _insights({"views": 77})
    body["data"].append({"name": "followers_count", "period": "day", "total_value": {"value": 640}})
    assert _figures(threads_metrics.parse(body)) == (640, None, None, None, None, 77)


@contracts
def test_youtube_channel_statistics_are_strings_and_may_hide_subscribers() -> None:
    channel = {
        "kind": "youtube#channel",
        "etag": "e",
        "id": "UC_x5XG1OV2P6uZZ5FSM9Ttw",
        "statistics": {
            "viewCount": "1000000",
            "subscriberCount": "2300",
            "hiddenSubscriberCount": False,
            "videoCount": "41",
        },
    }
    body = {"kind": "youtube#channelListResponse", "etag": "e", "items": [channel]}
    assert discovery_errors("youtube/youtube.v3.json", "ChannelListResponse", body) == []
    parsed = youtube_metrics.parse(body, channel["id"])
    assert _figures(parsed) == (2300, None, 41, None, None, None)
    assert parsed.raw == channel
    hidden = {**channel, "statistics": {**channel["statistics"], "hiddenSubscriberCount": True}}
    assert youtube_metrics.parse({"items": [hidden]}, channel["id"]).followers is None


@contracts
def test_pinterest_user_account_and_analytics() -> None:
    user = {
        "account_type": "BUSINESS",
        "id": "549755885175",
        "username": "acme",
        "follower_count": 410,
        "following_count": 23,
        "pin_count": 120,
        "monthly_views": 9000,
    }
    analytics = {
        "all": {
            "daily_metrics": [{"date": "2026-06-13", "data_status": "READY", "metrics": {"IMPRESSION": 240}}],
            "summary_metrics": {"IMPRESSION": 240.0},
        }
    }
    assert openapi_errors("pinterest/openapi.json", "Account", user) == []
    assert openapi_errors("pinterest/openapi.json", "AnalyticsResponse", analytics) == []
    parsed = pinterest_metrics.parse(user, analytics)
    assert _figures(parsed) == (410, 23, 120, 240, None, None)
    assert parsed.raw == {"user_account": user, "analytics": analytics}


def test_tiktok_user_info() -> None:
    body = {
        "data": {
            "user": {
                "open_id": "723f24d7",
                "follower_count": 75,
                "following_count": 9,
                "likes_count": 3,
                "video_count": 12,
            }
        },
        "error": {"code": "ok", "message": "", "log_id": "2023"},
    }
    parsed = tiktok_metrics.parse(body)
    assert _figures(parsed) == (75, 9, 12, None, None, None)
    assert parsed.raw == body["data"]["user"]


def test_google_business_has_no_figures() -> None:
    location = {
        "name": "locations/123",
        "title": "Acme Shop",
        "metadata": {"mapsUri": "https://maps.google.com/?cid=1"},
    }
    parsed = google_business_metrics.parse(location)
    assert _figures(parsed) == (None,) * 6 and parsed.raw == location


def test_counts_are_read_as_platforms_spell_them() -> None:
    assert [count(v) for v in (3, "42", 7.0, 7.5, True, None, "x", " 9 ")] == [3, 42, 7, None, None, None, None, 9]


def test_sandbox_figures_are_the_same_all_day_and_grow_by_the_day() -> None:
    morning, evening = datetime(2026, 6, 14, 1, tzinfo=UTC), datetime(2026, 6, 14, 23, tzinfo=UTC)
    tomorrow = datetime(2026, 6, 15, 1, tzinfo=UTC)
    first = sandbox_metrics.figures("acct-1", "x", morning)
    assert first == sandbox_metrics.figures("acct-1", "x", evening)
    assert sandbox_metrics.figures("acct-1", "x", tomorrow).followers > (first.followers or 0)
    assert sandbox_metrics.figures("acct-2", "x", morning) != first
    assert None not in _figures(first)


@contracts
def test_the_simulators_figures_fit_the_contracts() -> None:
    stats = account_figures.youtube_statistics("UC_x5XG1OV2P6uZZ5FSM9Ttw")
    assert discovery_errors("youtube/youtube.v3.json", "ChannelStatistics", stats) == []
    assert meta_errors("Page", {"id": "1", **account_figures.graph_counts("facebook", "1")}) == []
    assert meta_errors("IGUser", {"id": "2", **account_figures.graph_counts("instagram", "2")}) == []
