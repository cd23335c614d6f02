"""A published post's engagement on each platform it reached (`GET /posts/{id}/analytics`), and the
periodic capture of its first days.

Each target is read as the account that published it. A stored reading younger than the request's
`fresh_for_s` answers instead of the platform (`cached`): the short cache lives in the database,
so every replica shares it and a client polling the endpoint costs the platform one call a minute.
A fresh reading is stored; when the platform cannot answer, the latest stored one does
(`snapshot`), and with none the target says `unavailable` and why. A periodic capture
(`capture_every_s`) stores one reading per target per period, however many sweeps overlap.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from crier.connect.adapters import accounts, engagement
from crier.connect.domain.accounts import ACTIVE
from crier.connect.handlers.context import Context
from crier.connect.handlers.metrics_live import Unreadable, read_as
from crier.contracts import connect as api
from crier.kit.errors import Invalid
from crier.platforms import post_engagement
from crier.platforms.account_metrics import Reach
from crier.platforms.post_engagement import ENGAGEMENT, Engagement
from crier.platforms.post_engagement import sandbox as sandbox_engagement

MAX_TARGETS = 100
CONCURRENCY = 4


async def post_engagement_of(ctx: Context, r: api.EngagementRequest) -> api.PostEngagement:
    if len(r.targets) > MAX_TARGETS:
        raise Invalid.one("targets", "too_many", f"at most {MAX_TARGETS} targets at a time")
    now = ctx.now()
    slot = None if not r.capture_every_s else int(now.timestamp() // r.capture_every_s)
    ids = [t.target_id for t in r.targets]
    async with ctx.uow.read() as conn:
        stored = await engagement.latest(conn, r.org_id, r.mode, ids)
        done = await engagement.captured_in(conn, ids, slot) if slot is not None else set()
        owners = {t.account_id: await accounts.get(conn, r.org_id, r.mode, t.account_id) for t in r.targets}
    fresh_after = now - timedelta(seconds=max(0.0, r.fresh_for_s))
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(target: api.EngagementTarget) -> api.TargetEngagement:
        last = stored.get(target.target_id)
        account = owners.get(target.account_id)
        if account is None:  # not this organization's, or disconnected: nothing to read it as
            return _answer(target, "", last, "snapshot", "account_disconnected")
        if last is not None and (target.target_id in done or last.captured_at >= fresh_after):
            return _answer(target, account.platform, last, "cached", None)
        if account.status != ACTIVE:
            return _answer(target, account.platform, last, "snapshot", account.status)
        async with gate:
            try:
                read = await _read(ctx, account, target)
            except Unreadable as exc:
                return _answer(target, account.platform, last, "snapshot", exc.code)
        at = ctx.now()
        reading = {
            "org_id": r.org_id,
            "mode": r.mode,
            "post_id": r.post_id,
            "target_id": target.target_id,
            "account_id": target.account_id,
            "platform": account.platform,
            "platform_post_id": target.platform_post_id,
            "raw": read.raw,
            "captured_at": at,
            **{name: getattr(read, name) for name in ENGAGEMENT},
        }
        async with ctx.uow.begin() as tx:
            await engagement.store(tx.conn, reading, slot=slot)
        return api.TargetEngagement(
            target_id=target.target_id,
            account_id=target.account_id,
            network=account.platform,
            platform_post_id=target.platform_post_id,
            source="live",
            raw=read.raw,
            captured_at=at,
            **{name: getattr(read, name) for name in ENGAGEMENT},
        )

    answers = await asyncio.gather(*(one(t) for t in r.targets))
    for answer in answers:
        # An account no longer this organization's, never read, has no platform to name.
        platform = answer.network or "unknown"
        ctx.meters.post_engagement_reads.labels(platform=platform, source=answer.source).inc()
    return api.PostEngagement(post_id=r.post_id, targets=list(answers))


async def _read(ctx: Context, account: Any, target: api.EngagementTarget) -> Engagement:
    if account.sandbox:
        return sandbox_engagement.engagement(target.platform_post_id, target.published_at, ctx.now())

    async def counts(reach: Reach, token: api.AccountToken) -> Engagement:
        return await post_engagement.read(account.platform, reach, token, target.platform_post_id)

    return await read_as(
        ctx, account_id=account.id, org_id=account.org_id, mode=account.mode, platform=account.platform, read=counts
    )


def _answer(
    target: api.EngagementTarget, platform: str, row: Any, source: str, error_code: str | None
) -> api.TargetEngagement:
    if row is None:
        return api.TargetEngagement(
            target_id=target.target_id,
            account_id=target.account_id,
            network=platform,
            platform_post_id=target.platform_post_id,
            source="unavailable",
            error_code=error_code or "not_read_yet",
        )
    return api.TargetEngagement(
        target_id=target.target_id,
        account_id=target.account_id,
        network=row.platform,
        platform_post_id=target.platform_post_id,
        source=source,
        raw=dict(row.raw or {}),
        captured_at=row.captured_at,
        error_code=error_code,
        **{name: getattr(row, name) for name in ENGAGEMENT},
    )
