"""Publish budgets shared by every replica of a platform's publishers, kept in PostgreSQL.

Why PostgreSQL and not NATS KV: a delivery takes its posts from the budgets in the transaction
that starts its attempt, with the target's row locked. In one database, the spend commits if and
only if the attempt starts — a crash between two stores can neither leak a spend nor start an
attempt that spent nothing — and every replica reads one clock, the database's. And a platform's
limit is a sliding window ("250 posts in a 24-hour moving period"): it needs the moment of each
spend, not one counter. A KV counter under compare-and-set gives fixed windows, which let twice
the limit through across a window's edge; a log of spends, one row per post indexed by
(budget, moment), counts exactly the posts in any window.

Each budget is serialized by a transaction-level advisory lock on its key, taken before its spends
are read, so two replicas spending from one account decide one after the other and N replicas
never pass the limit together. Locks are taken in key order (`domain.budget.budgets_for`), so two
deliveries never wait on each other. Spends older than their window are deleted as the budget is
read, so the log holds at most a window's worth of rows per budget.

A spend is counted from when the attempt starts, a moment before the post reaches the platform;
windows are widened by `slack_s` so that moment's delay cannot fit one post too many into the
platform's own window.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.publisher.adapters.tables import TS, budget_spends
from crier.publisher.domain.budget import Budget

_clock = sa.func.clock_timestamp(type_=TS)
_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


async def spend(
    conn: AsyncConnection, budgets: list[Budget], *, need: int, target_id: str, slack_s: float = 0.0
) -> float | None:
    """Takes `need` posts from every one of `budgets`, or from none: None when taken, otherwise the
    seconds until all of them would have room. The caller's transaction holds the budgets until it
    ends, so it should end soon."""
    for budget in budgets:
        await conn.execute(_LOCK, {"key": budget.key})
    full, wait_s = False, 0.0
    for budget in budgets:
        since = _clock - timedelta(seconds=budget.window_s + slack_s)
        mine = budget_spends.c.key == budget.key
        await conn.execute(sa.delete(budget_spends).where(mine, budget_spends.c.spent_at <= since))
        spent = await conn.scalar(sa.select(sa.func.count()).select_from(budget_spends).where(mine))
        leaving = budget.first_to_leave(int(spent or 0), need)
        if leaving is None:
            continue
        leaves_at = budget_spends.c.spent_at + timedelta(seconds=budget.window_s + slack_s)
        left_in = await conn.scalar(
            sa.select(sa.extract("epoch", leaves_at - _clock))
            .where(mine)
            .order_by(budget_spends.c.spent_at)
            .offset(leaving)
            .limit(1)
        )
        full, wait_s = True, max(wait_s, float(left_in or 0.0))
    if full:
        return wait_s
    rows = [{"key": b.key, "target_id": target_id} for b in budgets for _ in range(b.asked(need))]
    if rows:
        await conn.execute(sa.insert(budget_spends).values(spent_at=_clock), rows)
    return None
