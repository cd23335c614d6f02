"""The metrics collector's sweep: capture every due account once, and forget old snapshots.

A sweep claims due accounts (leased, see `adapters.metrics`), reads each live a few at a time and
stores the snapshot together with the account's next due time. Rate budgets: a platform's 429 puts
the account back by at least its Retry-After, and, since read limits are often the app's as much as
the account's, the accounts of the same app (platform and BYOK app) still waiting in this sweep are
put back to the same moment without being asked. Other failures back off per account
(`domain.metrics.retry_after_failure`).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import datetime, timedelta

from crier.connect.adapters import engagement, metrics
from crier.connect.domain.metrics import next_capture, retry_after_failure
from crier.connect.handlers.context import Context
from crier.connect.handlers.metrics_live import Unreadable, read_now
from crier.kit.log import get
from crier.kit.transient import is_transient
from crier.platforms.account_metrics import FIGURES

log = get(__name__)
SWEEP_BATCH = 100
# Longer than a capture can take (the live timeout bounds it): a collector that dies mid-capture
# frees its accounts after this.
LEASE_S = 600.0
RETENTION_BATCH = 5_000


async def capture_due(ctx: Context, draw: random.Random | None = None) -> Counter[str]:
    """One sweep; how many accounts ended which way (captured, failed, deferred, crashed)."""
    draw = draw or random.Random()
    settings = ctx.settings
    async with ctx.uow.begin() as tx:
        due = await metrics.claim_due(tx.conn, ctx.now(), lease_s=LEASE_S, limit=SWEEP_BATCH)
    gate = asyncio.Semaphore(max(1, settings.account_metrics_concurrency))
    app_quiet_until: dict[tuple[str, str | None], datetime] = {}

    async def one(account: metrics.Due) -> str:
        async with gate:
            app = (account.platform, account.social_network_id)
            quiet = app_quiet_until.get(app)
            if quiet is not None and not account.sandbox and quiet > ctx.now():
                async with ctx.uow.begin() as tx:
                    await metrics.schedule(tx.conn, account.id, quiet, failures=account.failures)
                return "deferred"
            try:
                figures = await read_now(
                    ctx,
                    account_id=account.id,
                    org_id=account.org_id,
                    mode=account.mode,
                    platform=account.platform,  # type: ignore[arg-type]
                    sandbox=account.sandbox,
                )
            except Unreadable as exc:
                failures = account.failures + 1
                retry_at = retry_after_failure(
                    ctx.now(), failures, settings.account_metrics_interval_s, exc.retry_after_s
                )
                if exc.code == "rate_limited":
                    app_quiet_until[app] = ctx.now() + timedelta(seconds=exc.retry_after_s or 0)
                async with ctx.uow.begin() as tx:
                    await metrics.schedule(tx.conn, account.id, retry_at, failures=failures)
                log.info("connect.metrics_capture_failed", account_id=account.id, reason=exc.code, failures=failures)
                return "failed"
            at = ctx.now()
            async with ctx.uow.begin() as tx:
                values = {name: getattr(figures, name) for name in FIGURES}
                await metrics.store(tx.conn, account, values, figures.raw, at)
                next_at = next_capture(
                    at, settings.account_metrics_interval_s, settings.account_metrics_jitter, draw.random()
                )
                await metrics.schedule(tx.conn, account.id, next_at, failures=0)
            return "captured"

    async def guarded(account: metrics.Due) -> str:
        try:
            outcome = await one(account)
        except Exception as exc:  # one account's surprise must not stop the others
            if not is_transient(exc):
                log.exception("connect.metrics_capture_crashed", account_id=account.id, error=type(exc).__name__)
            outcome = "crashed"  # its lease runs out and a later sweep takes it again
        # Counted once the capture's transaction is over: a capture whose commit failed crashed.
        ctx.meters.account_metrics_captures.labels(platform=account.platform, outcome=outcome).inc()
        return outcome

    outcomes = Counter(await asyncio.gather(*(guarded(a) for a in due)))
    if due:
        log.info("connect.metrics_sweep", **outcomes)
    return outcomes


async def forget_expired_snapshots(ctx: Context) -> int:
    """Delete the account snapshots and post engagement readings older than the retention, a
    batch at a time; how many went."""
    cutoff = ctx.now() - timedelta(days=ctx.settings.account_metrics_retention_days)
    gone = 0
    for forget in (metrics.forget_before, engagement.forget_before):
        while True:
            async with ctx.uow.begin() as tx:
                deleted = await forget(tx.conn, cutoff, limit=RETENTION_BATCH)
            gone += deleted
            if deleted < RETENTION_BATCH:
                break
    return gone
