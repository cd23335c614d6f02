"""Token refreshes as the metrics count them, by platform and outcome: renewed, refused for now
(tried again later), and revoked. Connect's use cases in-process, the platforms simulated."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from crier.connect.handlers import accounts
from crier.connect.handlers.context import Meters
from crier.contracts import connect as api
from crier.kit.metrics import Metrics

from .conftest import Harness
from .test_tokens import _connected, _near_expiry, _row


def _refreshes(metrics: Metrics, platform: str, outcome: str) -> float | None:
    return metrics.registry.get_sample_value("crier_token_refreshes_total", {"platform": platform, "outcome": outcome})


async def test_each_refresh_is_counted_by_platform_and_outcome(harness: Harness) -> None:
    metrics = Metrics("connect")
    h = Harness(replace(harness.ctx, meters=Meters.on(metrics)), harness.sim, harness.clock, harness.http)
    renewed_org, renewed = await _connected(h, "x")
    revoked_org, revoked = await _connected(h, "youtube")
    failing_org, failing = await _connected(h, "pinterest")
    h.sim.revoke_grants("youtube")
    h.sim.fault("pinterest", "token", "unavailable")
    for org, account_id in ((renewed_org, renewed), (revoked_org, revoked), (failing_org, failing)):
        _near_expiry(h, await _row(h, account_id))
        await accounts.health(h.ctx, api.AccountRef(**org.scoped(), id=account_id))

    assert _refreshes(metrics, "x", "refreshed") == 1.0
    assert _refreshes(metrics, "youtube", "revoked") == 1.0
    assert _refreshes(metrics, "pinterest", "failed") == 1.0
    # A health check of a token far from expiry renews nothing, and counts nothing.
    h.clock.offset = timedelta()
    await accounts.health(h.ctx, api.AccountRef(**renewed_org.scoped(), id=renewed))
    assert _refreshes(metrics, "x", "refreshed") == 1.0
