"""The collector's captures and the engagement answers as the metrics count them: captures by
platform and outcome (captured, failed, deferred), engagement answers by platform and where they
came from (live, cached, snapshot, unavailable). Connect's use cases in-process, the platforms
simulated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest

from crier.connect.handlers.context import Meters
from crier.connect.handlers.metrics_capture import capture_due
from crier.kit.metrics import Metrics

from .conftest import Harness, with_settings
from .test_account_metrics import _engagement, _tweet, _x_accounts


@pytest.fixture
def metrics() -> Metrics:
    """A registry of the test's own: no other test's counts in it."""
    return Metrics("connect")


@pytest.fixture
async def h(harness: Harness, metrics: Metrics) -> AsyncIterator[Harness]:
    # Accounts other tests left behind are not this test's to capture.
    async with harness.ctx.uow.begin() as tx:
        await tx.conn.exec_driver_sql("UPDATE social_accounts SET metrics_due_at = 'infinity'")
    yield Harness(replace(harness.ctx, meters=Meters.on(metrics)), harness.sim, harness.clock, harness.http)
    harness.sim.clear_faults()


def _captures(metrics: Metrics, outcome: str) -> float:
    labels = {"platform": "x", "outcome": outcome}
    return metrics.registry.get_sample_value("crier_account_metrics_captures_total", labels) or 0.0


def _reads(metrics: Metrics, platform: str, source: str) -> float:
    labels = {"platform": platform, "source": source}
    return metrics.registry.get_sample_value("crier_post_engagement_reads_total", labels) or 0.0


async def test_each_capture_is_counted_by_platform_and_outcome(h: Harness, metrics: Metrics) -> None:
    await _x_accounts(h, 2)
    h.sim.fault("x", "me", "rate_limit", retry_after=900)
    # One at a time: the first account's 429 puts its app's other account back unasked.
    assert await capture_due(with_settings(h, account_metrics_concurrency=1).ctx) == {"failed": 1, "deferred": 1}
    assert (_captures(metrics, "failed"), _captures(metrics, "deferred"), _captures(metrics, "captured")) == (
        1.0,
        1.0,
        0.0,
    )
    h.clock.offset += timedelta(seconds=901)
    assert await capture_due(h.ctx) == {"captured": 2}
    assert (_captures(metrics, "failed"), _captures(metrics, "deferred"), _captures(metrics, "captured")) == (
        1.0,
        1.0,
        2.0,
    )


async def test_each_engagement_answer_is_counted_by_platform_and_source(h: Harness, metrics: Metrics) -> None:
    org, [(account, _)] = await _x_accounts(h)
    tweet = await _tweet(h, org, account, "count me")
    assert (await _engagement(h, org, account, tweet)).source == "live"
    assert (await _engagement(h, org, account, tweet)).source == "cached"
    h.sim.fault("x", "tweet", "server_error")
    assert (await _engagement(h, org, account, tweet, fresh_for_s=0)).source == "snapshot"
    stranger = await h.org()
    assert (await _engagement(h, stranger, account, tweet)).source == "unavailable"
    counted = {source: _reads(metrics, "x", source) for source in ("live", "cached", "snapshot")}
    assert counted == {"live": 1.0, "cached": 1.0, "snapshot": 1.0}
    # Another organization's account is read as nobody: no platform to name.
    assert _reads(metrics, "unknown", "unavailable") == 1.0
