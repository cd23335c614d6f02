"""Account metrics in connect: the live read with its snapshot fallback, the stored series, and the
collector — each due account captured once however many collectors sweep, a crashed capture taken
again after its lease, 429s waited out per account and per app, old snapshots forgotten. The
platform is the simulator (X here; every platform goes through the public API in
tests/e2e/test_account_metrics.py)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from crier.connect.adapters import metrics as store
from crier.connect.handlers import credentials, engagement, metrics
from crier.connect.handlers.metrics_capture import LEASE_S, capture_due, forget_expired_snapshots
from crier.contracts import connect as api
from crier.kit.errors import Invalid, NotFound
from crier.platforms.simulator.account_figures import figures
from crier.platforms.simulator.post_engagement import engagement as post_engagement

from .conftest import Harness, Org, with_settings

DAY = 86_400.0


@pytest.fixture
async def h(harness: Harness) -> AsyncIterator[Harness]:
    # Accounts other tests left behind are not this test's to capture.
    async with harness.ctx.uow.begin() as tx:
        await tx.conn.exec_driver_sql("UPDATE social_accounts SET metrics_due_at = 'infinity'")
    yield harness
    harness.sim.clear_faults()


async def _x_accounts(h: Harness, n: int = 1) -> tuple[Org, list[tuple[str, str]]]:
    """`n` X accounts of one org (one app): (account id, simulated user id) each."""
    org = await h.org()
    await h.byok(org, "x")
    out = []
    for _ in range(n):
        user = h.sim.add_user("x")
        out.append(((await h.connect(org, "x"))["account_id"], user["id"]))
    return org, out


async def _metrics(h: Harness, org: Org, account_id: str, **more: object) -> api.AccountMetrics:
    return await metrics.account_metrics(h.ctx, api.MetricsRequest(**org.scoped(), id=account_id, **more))  # type: ignore[arg-type]


def _metric_reads(h: Harness) -> list[dict[str, object]]:
    return [r for r in h.sim.requests("x", "me") if r["query"].get("user.fields") == "public_metrics"]


async def _snapshots(h: Harness, account_id: str) -> list[object]:
    return await h.rows("SELECT * FROM account_metrics WHERE account_id = :a ORDER BY captured_at", a=account_id)


async def test_live_read_falls_back_to_the_latest_snapshot_and_then_to_nothing(h: Harness) -> None:
    org, [(account, user)] = await _x_accounts(h)
    expected = figures("x", user)

    h.sim.fault("x", "me", "server_error")
    empty = await _metrics(h, org, account)
    assert (empty.social_account_id, empty.current, empty.series) == (account, None, None)

    live = (await _metrics(h, org, account)).current
    assert live is not None and live.source == "live"
    assert (live.followers, live.following, live.posts_count) == (
        expected["followers"],
        expected["following"],
        expected["posts"],
    )
    assert (live.impressions, live.reach, live.profile_views) == (None, None, None)
    assert live.raw["public_metrics"]["followers_count"] == expected["followers"]

    assert await capture_due(h.ctx) == {"captured": 1}
    h.sim.fault("x", "me", "rate_limit", retry_after=0)
    fallback = (await _metrics(h, org, account)).current
    assert fallback is not None and fallback.source == "snapshot"
    assert (fallback.followers, fallback.raw) == (live.followers, live.raw)


async def test_another_orgs_account_is_not_found(h: Harness) -> None:
    _, [(account, _)] = await _x_accounts(h)
    stranger = await h.org()
    with pytest.raises(NotFound):
        await _metrics(h, stranger, account)


async def test_the_collector_captures_each_due_account_once_across_collectors(h: Harness) -> None:
    org, accounts = await _x_accounts(h, 3)
    ids = [a for a, _ in accounts]
    asked_before = len(_metric_reads(h))
    # Two collectors sweep at the same moment: the claim gives each account to one of them.
    first, second = await asyncio.gather(capture_due(h.ctx), capture_due(h.ctx))
    assert first["captured"] + second["captured"] == 3
    assert await capture_due(h.ctx) == {}  # nothing due until the interval has passed
    assert [len(await _snapshots(h, a)) for a in ids] == [1, 1, 1]
    assert len(_metric_reads(h)) == asked_before + 3

    [due_at] = await h.rows("SELECT metrics_due_at FROM social_accounts WHERE id = :a", a=ids[0])
    [captured] = await _snapshots(h, ids[0])
    # Daily, give or take the jitter (10 %).
    assert timedelta(days=0.9) <= due_at.metrics_due_at - captured.captured_at <= timedelta(days=1.1)

    h.clock.offset += timedelta(seconds=1.1 * DAY)
    assert await capture_due(h.ctx) == {"captured": 3}
    series = await _metrics(h, org, ids[0], series=True)
    assert series.series is not None and [s.source for s in series.series] == ["snapshot", "snapshot"]
    assert series.series[0].captured_at < series.series[1].captured_at


async def test_a_capture_cut_short_is_taken_again_once_its_lease_runs_out(h: Harness) -> None:
    _, [(account, _)] = await _x_accounts(h)
    # A collector claims the account and dies before capturing it.
    async with h.ctx.uow.begin() as tx:
        [claimed] = await store.claim_due(tx.conn, h.ctx.now(), lease_s=LEASE_S, limit=10)
    assert claimed.id == account
    assert await capture_due(h.ctx) == {}  # its successor leaves it alone while the lease holds
    h.clock.offset += timedelta(seconds=LEASE_S + 1)
    assert await capture_due(h.ctx) == {"captured": 1}
    assert len(await _snapshots(h, account)) == 1


async def test_a_rate_limit_puts_the_account_and_its_apps_other_accounts_back(h: Harness) -> None:
    _, accounts = await _x_accounts(h, 2)
    h.sim.fault("x", "me", "rate_limit", retry_after=900)
    before = len(h.sim.requests("x", "me"))
    # One at a time, so the second account's turn comes after the first one's 429.
    outcomes = await capture_due(with_settings(h, account_metrics_concurrency=1).ctx)
    assert outcomes == {"failed": 1, "deferred": 1}
    # The second account was not asked: the app had just been told to wait.
    assert len(h.sim.requests("x", "me")) == before + 1
    rows = await h.rows(
        "SELECT metrics_due_at, metrics_failures FROM social_accounts WHERE id = ANY(:ids) ORDER BY metrics_failures",
        ids=[a for a, _ in accounts],
    )
    assert [r.metrics_failures for r in rows] == [0, 1]
    for row in rows:
        assert row.metrics_due_at >= h.ctx.now() + timedelta(seconds=850)
    assert await capture_due(h.ctx) == {}
    h.clock.offset += timedelta(seconds=901)
    assert await capture_due(h.ctx) == {"captured": 2}


async def test_snapshots_past_the_retention_are_forgotten(h: Harness) -> None:
    _, [(account, _)] = await _x_accounts(h)
    assert await capture_due(h.ctx) == {"captured": 1}
    h.clock.offset += timedelta(days=h.ctx.settings.account_metrics_retention_days - 1)
    await forget_expired_snapshots(h.ctx)
    assert len(await _snapshots(h, account)) == 1
    h.clock.offset += timedelta(days=2)
    assert await forget_expired_snapshots(h.ctx) >= 1
    assert await _snapshots(h, account) == []


async def test_the_series_is_paged_oldest_first_within_its_window(h: Harness) -> None:
    org, [(account, _)] = await _x_accounts(h)
    start = h.ctx.now()
    for _ in range(3):
        assert await capture_due(h.ctx, random.Random(1)) == {"captured": 1}
        h.clock.offset += timedelta(days=2)
    every = await _metrics(h, org, account, series=True, since=start)
    assert every.series is not None and len(every.series) == 3 and every.next_cursor is None
    first = await _metrics(h, org, account, series=True, since=start, limit=2)
    assert first.series is not None and len(first.series) == 2 and first.next_cursor
    rest = await _metrics(h, org, account, series=True, since=start, limit=2, cursor=first.next_cursor)
    assert [s.captured_at for s in first.series + (rest.series or [])] == [s.captured_at for s in every.series]
    window = await _metrics(h, org, account, series=True, until=every.series[1].captured_at)
    assert window.series is not None and [s.captured_at for s in window.series] == [
        s.captured_at for s in every.series[:2]
    ]
    with pytest.raises(Invalid):
        await _metrics(h, org, account, series=True, since=h.ctx.now(), until=start)


# -- post engagement ------------------------------------------------------------------------------


async def _tweet(h: Harness, org: Org, account: str, text: str) -> str:
    token = await credentials.account_token(h.ctx, api.TokenRequest(**org.scoped(), account_id=account))  # type: ignore[arg-type]
    r = await h.http.post(
        f"{h.sim.base_url}/x/2/tweets", json={"text": text}, headers={"Authorization": f"Bearer {token.access_token}"}
    )
    assert r.status_code == 201, r.text
    return str(r.json()["data"]["id"])


async def _engagement(h: Harness, org: Org, account: str, tweet: str, **more: object) -> api.TargetEngagement:
    target = api.EngagementTarget(target_id=f"tgt-{tweet}", account_id=account, platform_post_id=tweet)
    asked = api.EngagementRequest(**org.scoped(), post_id="post-1", targets=[target], **more)  # type: ignore[arg-type]
    [found] = (await engagement.post_engagement_of(h.ctx, asked)).targets
    return found


def _tweet_reads(h: Harness) -> int:
    return len(h.sim.requests("x", "tweet"))


async def test_a_posts_engagement_is_read_live_then_cached_then_the_latest_reading(h: Harness) -> None:
    org, [(account, _)] = await _x_accounts(h)
    tweet = await _tweet(h, org, account, "engagement, please")
    expected = post_engagement("x", tweet)

    live = await _engagement(h, org, account, tweet)
    assert (live.source, live.network, live.error_code) == ("live", "x", None)
    assert (live.likes, live.reposts, live.replies, live.impressions) == (
        expected["likes"],
        expected["reposts"],
        expected["replies"],
        expected["impressions"],
    )
    assert live.raw["public_metrics"]["like_count"] == expected["likes"]

    asked = _tweet_reads(h)
    cached = await _engagement(h, org, account, tweet)
    assert (cached.source, cached.likes, cached.captured_at) == ("cached", live.likes, live.captured_at)
    assert _tweet_reads(h) == asked  # the platform was not asked again

    h.sim.fault("x", "tweet", "server_error")
    fallback = await _engagement(h, org, account, tweet, fresh_for_s=0)
    assert (fallback.source, fallback.likes, fallback.error_code) == ("snapshot", live.likes, "platform_unavailable")

    stranger = await h.org()
    refused = await _engagement(h, stranger, account, tweet)
    assert (refused.source, refused.likes, refused.error_code) == ("unavailable", None, "account_disconnected")


async def test_the_periodic_capture_stores_one_reading_per_target_and_period(h: Harness) -> None:
    org, [(account, _)] = await _x_accounts(h)
    tweet = await _tweet(h, org, account, "captured once an hour")
    sweeps = [_engagement(h, org, account, tweet, fresh_for_s=0, capture_every_s=3600.0) for _ in range(3)]
    await asyncio.gather(*sweeps)
    await _engagement(h, org, account, tweet, fresh_for_s=0, capture_every_s=3600.0)
    rows = await h.rows("SELECT slot FROM post_engagement WHERE target_id = :t", t=f"tgt-{tweet}")
    assert len(rows) == 1 and rows[0].slot is not None
