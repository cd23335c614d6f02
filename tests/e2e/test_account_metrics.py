"""Account metrics and post analytics through the public API, for every platform: accounts
connected through their platform's own flow against the simulator, whose documented metrics and
engagement endpoints answer each account's and each post's own deterministic counts; the
collector (sweeping every fraction of a second here) stores the snapshots the fallback and the
series read, and the analytics capture (a period of two seconds here) a post's readings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from crier.contracts.common import PLATFORMS, Platform
from crier.platforms import publishing
from crier.platforms.account_metrics import sandbox as sandbox_metrics
from crier.platforms.post_engagement import NO_POST_ENGAGEMENT
from crier.platforms.post_engagement import sandbox as sandbox_engagement
from crier.platforms.simulator.account_figures import figures
from crier.platforms.simulator.post_engagement import engagement
from tests.e2e.conftest import create_post, sandbox_accounts, sql, wait_post
from tests.support.live import Live, LiveAccount, connect_live, contents_for, live_stack
from tests.support.media_live import CASES, media_post
from tests.support.simulator import Simulator
from tests.support.stack import Infra, wait_for

FIGURES = ("followers", "following", "posts_count", "impressions", "reach", "profile_views")
# What each platform offers (the readers' docstrings say why the rest are null), and which of the
# simulator's figures each is.
OFFERED: dict[str, dict[str, str]] = {
    "x": {"followers": "followers", "following": "following", "posts_count": "posts"},
    "mastodon": {"followers": "followers", "following": "following"},
    "bluesky": {"followers": "followers", "following": "following", "posts_count": "posts"},
    "linkedin": {"followers": "followers", "impressions": "impressions", "reach": "reach"},
    "facebook": {
        "followers": "followers",
        "impressions": "impressions",
        "reach": "reach",
        "profile_views": "profile_views",
    },
    "instagram": {
        "followers": "followers",
        "following": "following",
        "posts_count": "posts",
        "impressions": "impressions",
        "reach": "reach",
        "profile_views": "profile_views",
    },
    "youtube": {"followers": "followers", "posts_count": "posts"},
    "pinterest": {
        "followers": "followers",
        "following": "following",
        "posts_count": "posts",
        "impressions": "impressions",
    },
    "tiktok": {"followers": "followers", "following": "following", "posts_count": "posts"},
    "threads": {"followers": "followers", "profile_views": "profile_views"},
    "google_business": {},
}
# Figures read from elsewhere than the simulator's table: Mastodon counts the statuses it holds.
COUNTED = {"mastodon": {"posts_count": 0}}


@pytest.fixture(scope="module")
def live(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    env = {"CRIER_ACCOUNT_METRICS_SWEEP_S": "0.2", "CRIER_ANALYTICS_CAPTURE_EVERY_S": "2"}
    yield from live_stack(infra, tmp_path_factory.mktemp("metrics"), env)


@pytest.fixture
def sim(live: Live) -> Iterator[Simulator]:
    yield live.sim
    live.sim.clear_faults()


def _owner(platform: str, network_unique_id: str) -> str:
    """Whose figures the simulator serves for the account: its user, page, channel or location id."""
    if platform == "mastodon":
        return network_unique_id.split("@", 1)[0]
    if platform == "linkedin":
        return network_unique_id.rsplit(":", 1)[-1]
    return network_unique_id


def _metrics(api: httpx.Client, account_id: str, **params: Any) -> dict[str, Any]:
    r = api.get(f"/social-accounts/{account_id}/metrics", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _series(api: httpx.Client, account_id: str) -> list[dict[str, Any]]:
    return list(_metrics(api, account_id, since=0)["data"])


@pytest.mark.parametrize("platform", PLATFORMS)
def test_live_metrics_are_the_platforms_own_figures(live: Live, sim: Simulator, platform: Platform) -> None:
    more: dict[str, Any] = {"kind": "organization", "pages": 1} if platform == "linkedin" else {}
    account = connect_live(live, platform, **more)
    with account.org.live() as api:
        network_id = api.get(f"/social-accounts/{account.id}").json()["network_unique_id"]
        body = _metrics(api, account.id)
    mine = figures(platform, _owner(platform, network_id))
    expected = {name: mine[key] for name, key in OFFERED[platform].items()} | COUNTED.get(platform, {})
    assert (body["social_account_id"], body["network"], body["source"]) == (account.id, platform, "live")
    assert {name: body[name] for name in FIGURES} == {name: expected.get(name) for name in FIGURES}
    assert body["raw"] and datetime.fromisoformat(body["captured_at"]) <= datetime.now(UTC)


@pytest.fixture(scope="module")
def x_account(live: Live) -> LiveAccount:
    """An X account the collector has captured."""
    account = connect_live(live, "x")
    with account.org.live() as api:
        wait_for(lambda: len(_series(api, account.id)) >= 1, what="the collector's first snapshot")
    return account


@pytest.mark.parametrize("fault", ["rate_limit", "server_error", "timeout"])
def test_a_failing_platform_answers_the_latest_snapshot(sim: Simulator, x_account: LiveAccount, fault: str) -> None:
    with x_account.org.live() as api:
        latest = _series(api, x_account.id)[-1]
        # Three failures: the live read's, and a sweep's or two meanwhile; hangs end at once.
        sim.fault("x", "me", fault, times=3, retry_after=0, hang_s=0)
        body = _metrics(api, x_account.id)
    assert body["source"] == "snapshot"
    assert datetime.fromisoformat(body["captured_at"]) >= datetime.fromisoformat(latest["captured_at"])
    assert body["followers"] == latest["followers"] == figures("x", x_account.user["id"])["followers"]
    assert body["raw"]["public_metrics"]["followers_count"] == body["followers"]


def test_the_series_is_the_stored_snapshots_oldest_first_within_the_window(x_account: LiveAccount) -> None:
    with x_account.org.live() as api:
        wait_for(lambda: len(_series(api, x_account.id)) >= 1, what="a snapshot")
        every = _series(api, x_account.id)
        times = [datetime.fromisoformat(s["captured_at"]) for s in every]
        assert times == sorted(times)
        first = times[0]
        as_iso = _metrics(api, x_account.id, since=first.isoformat(), until=(first + timedelta(days=1)).isoformat())
        assert as_iso["source"] == "snapshot" and as_iso["data"][0]["captured_at"] == every[0]["captured_at"]
        assert set(as_iso["data"][0]) == {"social_account_id", "network", "captured_at", "raw", *FIGURES}
        before = _metrics(api, x_account.id, until=int(first.timestamp()) - 1)
        assert before["data"] == [] and before["next_cursor"] is None
        paged = _metrics(api, x_account.id, since=0, limit=1)
        assert len(paged["data"]) == 1 and (paged["next_cursor"] is not None) == (len(every) > 1)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-06-01T00:00:00"}, "until"),  # no offset: whose midnight?
        ({"since": "2026-06-02T00:00:00Z", "until": "2026-06-01T00:00:00Z"}, "since"),
        ({"since": "0", "limit": "0"}, "limit"),
    ],
)
def test_a_bad_window_is_refused_naming_it(x_account: LiveAccount, params: dict[str, str], field: str) -> None:
    with x_account.org.live() as api:
        r = api.get(f"/social-accounts/{x_account.id}/metrics", params=params)
    assert r.status_code == 422, r.text
    assert [f["field"] for f in r.json()["error"]["details"]["fields"]] == [field]


def test_no_metrics_yet_is_said_so(live: Live, sim: Simulator) -> None:
    # Threads' insights are down from before the account connects: no read has ever succeeded.
    sim.fault("threads", "threads_insights", "server_error", times=1000)
    account = connect_live(live, "threads")
    with account.org.live() as api:
        body = _metrics(api, account.id)
    assert body == {
        "social_account_id": account.id,
        "metrics": None,
        "message": "No metrics have been collected for this account yet.",
    }


def test_another_organizations_account_is_not_found(live: Live, x_account: LiveAccount) -> None:
    stranger = live.stack.new_org("stranger")
    with stranger.live() as api:
        r = api.get(f"/social-accounts/{x_account.id}/metrics")
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "not_found"


def test_a_sandbox_account_has_deterministic_metrics(live: Live) -> None:
    org = live.stack.new_org("sandbox")
    with org.test() as api:
        [account] = sandbox_accounts(api, ["linkedin"])
        body = _metrics(api, account["id"])
        again = _metrics(api, account["id"])
    expected = sandbox_metrics.figures(account["id"], "linkedin", datetime.fromisoformat(body["captured_at"]))
    assert body["source"] == "live"
    assert {name: body[name] for name in FIGURES} == {name: getattr(expected, name) for name in FIGURES}
    assert again["followers"] == body["followers"]


# -- post analytics -------------------------------------------------------------------------------

COUNTS = ("likes", "reposts", "replies", "impressions")
# What each platform reports for a post (the readers' docstrings say why the rest are null).
REPORTED: dict[str, tuple[str, ...]] = {
    "x": COUNTS,
    "mastodon": ("likes", "reposts", "replies"),
    "bluesky": ("likes", "reposts", "replies"),
    "linkedin": ("likes", "replies"),
    "facebook": COUNTS,
    "threads": COUNTS,
    "instagram": COUNTS,
    "youtube": ("likes", "replies"),
    "pinterest": ("likes", "replies", "impressions"),
    "tiktok": ("likes", "reposts", "replies"),
    "google_business": (),
}


def _analytics(api: httpx.Client, post_id: str) -> list[dict[str, Any]]:
    r = api.get(f"/posts/{post_id}/analytics")
    assert r.status_code == 200, r.text
    assert r.json()["post_id"] == post_id
    return list(r.json()["data"])


def _published(api: httpx.Client, account: LiveAccount) -> dict[str, Any]:
    """A post of the account's platform, published: text where the platform takes text alone, the
    media it requires otherwise (uploaded through the API, pulled or uploaded by the publisher)."""
    if publishing.rules(account.platform).media.required:
        created, _ = media_post(api, account, CASES[account.platform].files, text="How are we doing?")
        assert created.status_code == 201, created.text
        post_id = created.json()["id"]
    else:
        [text] = contents_for(account.platform, "How are we doing?")
        post_id = create_post(api, content=text, accounts=[account.id])["id"]
    return wait_post(api, post_id, timeout=60)


@pytest.mark.parametrize("platform", [p for p in PLATFORMS if publishing.publishes(p)])
def test_a_published_posts_analytics_are_its_platforms_counts(live: Live, platform: Platform) -> None:
    account = connect_live(live, platform)
    with account.org.live() as api:
        post = _published(api, account)
        [target] = post["targets"]
        assert target["status"] == "published", target
        [reading] = _analytics(api, post["id"])
        again = _analytics(api, post["id"])
    mine = engagement(platform, target["platform_post_id"])
    expected = {name: mine[name] if name in REPORTED[platform] else None for name in COUNTS}
    assert (reading["target_id"], reading["network"], reading["platform_post_id"]) == (
        target["id"],
        platform,
        target["platform_post_id"],
    )
    assert reading["source"] in ("live", "cached") and reading["error_code"] is None, reading["error_code"]
    assert {name: reading[name] for name in COUNTS} == expected
    # A platform that reports nothing for a post says so; the others' counts need no excuse.
    assert reading["note"] == NO_POST_ENGAGEMENT.get(platform)
    assert (reading["note"] is None) == bool(REPORTED[platform])
    # Within the minute the reading answers again instead of the platform.
    assert again[0]["source"] == "cached" and again[0]["captured_at"] >= reading["captured_at"]
    assert {name: again[0][name] for name in COUNTS} == expected and again[0]["note"] == reading["note"]


def test_a_published_target_is_captured_once_a_period(live: Live) -> None:
    account = connect_live(live, "mastodon")
    with account.org.live() as api:
        post = wait_post(api, create_post(api, content="Watch me grow", accounts=[account.id])["id"])
    [target] = post["targets"]
    query = "SELECT slot FROM connect.post_engagement WHERE target_id = $1 AND slot IS NOT NULL ORDER BY slot"
    slots = wait_for(lambda: [r["slot"] for r in sql(live.stack, query, target["id"])][1:] or None, what="captures")
    # Two periods or more have passed, each captured once.
    assert len(slots) == len(set(slots))


def test_a_post_not_published_has_no_analytics_and_another_orgs_post_is_not_found(live: Live) -> None:
    org = live.stack.new_org("drafts")
    with org.test() as api:
        [account] = sandbox_accounts(api, ["x"])
        draft = create_post(api, content="not yet", accounts=[account["id"]], is_draft=True)
        assert _analytics(api, draft["id"]) == []
    with live.stack.new_org("stranger").test() as api:
        assert api.get(f"/posts/{draft['id']}/analytics").status_code == 404


def test_a_sandbox_posts_analytics_are_deterministic(live: Live) -> None:
    org = live.stack.new_org("sandbox-analytics")
    with org.test() as api:
        [account] = sandbox_accounts(api, ["linkedin"])
        post = wait_post(api, create_post(api, content="Sandbox numbers", accounts=[account["id"]])["id"])
        [target] = post["targets"]
        [reading] = _analytics(api, post["id"])
    expected = sandbox_engagement.engagement(
        target["platform_post_id"],
        datetime.fromisoformat(target["published_at"]),
        datetime.fromisoformat(reading["captured_at"]),
    )
    assert {name: reading[name] for name in COUNTS} == {name: getattr(expected, name) for name in COUNTS}
