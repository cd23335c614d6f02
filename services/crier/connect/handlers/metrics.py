"""`GET /social-accounts/{id}/metrics`: the account's figures read live, the latest stored
snapshot when the platform cannot answer, nothing when neither exists; or, with a window, the
stored series oldest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crier.connect.adapters import accounts, metrics
from crier.connect.domain.accounts import ACTIVE
from crier.connect.handlers.context import Context
from crier.connect.handlers.metrics_live import Unreadable, read_now
from crier.contracts import connect as api
from crier.kit.errors import Invalid, NotFound
from crier.kit.log import get
from crier.kit.pages import MAX_LIMIT
from crier.platforms.account_metrics import FIGURES, Figures

log = get(__name__)


async def account_metrics(ctx: Context, r: api.MetricsRequest) -> api.AccountMetrics:
    async with ctx.uow.read() as conn:
        row = await accounts.get(conn, r.org_id, r.mode, r.id)
    if row is None:
        raise NotFound.of("social account", r.id)
    if r.series:
        return await _series(ctx, r, row.id)
    if row.status == ACTIVE:
        try:
            figures = await read_now(
                ctx, account_id=row.id, org_id=row.org_id, mode=row.mode, platform=row.platform, sandbox=row.sandbox
            )
            return api.AccountMetrics(social_account_id=row.id, current=live(row, figures, ctx.now()))
        except Unreadable as exc:
            log.info("connect.metrics_live_unavailable", account_id=row.id, platform=row.platform, reason=exc.code)
    async with ctx.uow.read() as conn:
        stored = await metrics.latest(conn, row.id)
    return api.AccountMetrics(social_account_id=row.id, current=None if stored is None else snapshot(stored))


async def _series(ctx: Context, r: api.MetricsRequest, account_id: str) -> api.AccountMetrics:
    if r.since is not None and r.until is not None and r.since > r.until:
        raise Invalid.one("since", "after_until", "since must not be later than until")
    if not 1 <= r.limit <= MAX_LIMIT:
        raise Invalid.one("limit", "out_of_range", f"must be between 1 and {MAX_LIMIT}")
    async with ctx.uow.read() as conn:
        rows, next_cursor = await metrics.series(
            conn, account_id, since=r.since, until=r.until, limit=r.limit, cursor=r.cursor
        )
    return api.AccountMetrics(social_account_id=account_id, series=[snapshot(x) for x in rows], next_cursor=next_cursor)


def live(row: Any, figures: Figures, at: datetime) -> api.MetricsSnapshot:
    return api.MetricsSnapshot(
        social_account_id=row.id,
        network=row.platform,
        source="live",
        raw=figures.raw,
        captured_at=at,
        **{name: getattr(figures, name) for name in FIGURES},
    )


def snapshot(row: Any) -> api.MetricsSnapshot:
    return api.MetricsSnapshot(
        social_account_id=row.account_id,
        network=row.platform,
        source="snapshot",
        raw=dict(row.raw or {}),
        captured_at=row.captured_at,
        **{name: getattr(row, name) for name in FIGURES},
    )
