"""A live delivery spends from its account's publish budget as its attempt starts; one that does
not fit waits for room without starting an attempt or announcing anything (use case in-process,
real Postgres)."""

from __future__ import annotations

from dataclasses import replace

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.publisher.domain.budget import BudgetPolicy, parse_overrides
from crier.publisher.handlers.context import Context
from crier.publisher.handlers.delivery import RetryIn, deliver
from tests.publisher.factories import attempts, command
from tests.publisher.scripted import ScriptedPlatform, context, subjects


def budgeted(engine: AsyncEngine, platform: ScriptedPlatform, limits: str) -> Context:
    policy = BudgetPolicy(enabled=True, overrides=parse_overrides(limits), slack_s=0.0)
    return replace(context(engine, platform), budgets=policy)


async def test_a_delivery_past_the_accounts_budget_waits_without_an_attempt(engine: AsyncEngine) -> None:
    platform = ScriptedPlatform()
    ctx = budgeted(engine, platform, "x.account=2/60")
    first, second, third = (
        msgspec.structs.replace(command(f"p{n}", mode="live"), account_id="acc_busy") for n in range(3)
    )
    assert await deliver(ctx, first) is None
    assert await deliver(ctx, second) is None
    waited = await deliver(ctx, third)
    # Until the first spend leaves the 60 s window, plus half a slot of the budget (jitter 0.5).
    assert isinstance(waited, RetryIn) and 30 < waited.delay_s <= 60 + 15
    assert await subjects(engine, third.target_id) == []
    assert await attempts(engine, third.target_id) == []
    assert len(platform.calls) == 2
    # Another account of the same organization has a budget of its own.
    other = msgspec.structs.replace(command("elsewhere", mode="live"), account_id="acc_quiet")
    assert await deliver(ctx, other) is None


async def test_each_container_still_to_send_is_one_post_of_the_budget(engine: AsyncEngine) -> None:
    ctx = budgeted(engine, ScriptedPlatform(), "x.account=3/60")
    thread, another = (
        msgspec.structs.replace(command("root", "reply", mode="live"), account_id="acc_threads") for _ in range(2)
    )
    assert await deliver(ctx, thread) is None
    assert isinstance(await deliver(ctx, another), RetryIn)


async def test_the_organizations_app_budget_holds_back_all_its_accounts(engine: AsyncEngine) -> None:
    ctx = budgeted(engine, ScriptedPlatform(), "x.app=1/60")
    one, two = (msgspec.structs.replace(command("hi", mode="live"), org_id="org_app") for _ in range(2))
    assert one.account_id != two.account_id
    assert await deliver(ctx, one) is None
    assert isinstance(await deliver(ctx, two), RetryIn)
