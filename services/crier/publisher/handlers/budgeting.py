"""Publish budgets in a delivery: a live delivery takes one post per container it still has to
send from each of its account's and its app's budgets (`adapters.budgets`), in the transaction that
starts its attempt; when one has no room, it learns how long to wait instead."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from crier.contracts.commands import PublishTarget
from crier.kit.log import get
from crier.publisher.adapters import budgets, containers
from crier.publisher.domain.budget import budgets_for
from crier.publisher.handlers.context import Context

log = get(__name__)

# Never a busy loop, however soon a budget says it has room.
MIN_WAIT_S = 0.1


def budgets_apply(ctx: Context, cmd: PublishTarget) -> bool:
    """Whether the delivery has budgets to take from: a live one, with budgets on, on a platform
    (or an operator's override) that has some."""
    policy = ctx.budgets
    if not policy.enabled or cmd.mode != "live":
        return False
    return bool(budgets_for(cmd.platform, account_id=cmd.account_id, org_id=cmd.org_id, overrides=policy.overrides))


async def budget_wait(ctx: Context, cmd: PublishTarget, conn: AsyncConnection) -> float | None:
    """None when the delivery may go (its posts taken from its budgets, or none apply); otherwise
    how long to wait for room. Those waiting for one account come back spread over a slot of the
    budget, not all at the moment room opens."""
    policy = ctx.budgets
    if not budgets_apply(ctx, cmd):
        return None
    spent = budgets_for(cmd.platform, account_id=cmd.account_id, org_id=cmd.org_id, overrides=policy.overrides)
    if not spent:
        return None
    posted = await containers.progress_of(conn, cmd.target_id)
    need = max(1, len(cmd.containers) - len(posted.posted))
    wait_s = await budgets.spend(conn, spent, need=need, target_id=cmd.target_id, slack_s=policy.slack_s)
    if wait_s is None:
        return None
    slot_s = min(b.window_s / b.posts for b in spent)
    wait_s = max(MIN_WAIT_S, wait_s + slot_s * ctx.jitter())
    log.info("publisher.budget_wait", retry_in_s=round(wait_s, 3))
    return wait_s
