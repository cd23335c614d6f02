"""Publish budgets: the arithmetic of a window, the limits table and its overrides, and the shared
store under concurrent spenders on a real PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts.common import PLATFORMS
from crier.kit.db import create_engine
from crier.platforms.posting_limits import POSTING_LIMITS, Limit
from crier.publisher.adapters import budgets
from crier.publisher.domain.budget import Budget, budgets_for, parse_overrides


def test_a_delivery_fits_until_the_window_holds_the_limit() -> None:
    budget = Budget("k", posts=3, window_s=60)
    assert budget.first_to_leave(0, 1) is None
    assert budget.first_to_leave(2, 1) is None
    # Full: the oldest spend must leave first; two more posts need the two oldest gone.
    assert budget.first_to_leave(3, 1) == 0
    assert budget.first_to_leave(2, 3) == 1


def test_a_target_with_more_containers_than_a_window_holds_waits_for_an_empty_window() -> None:
    budget = Budget("k", posts=3, window_s=60)
    assert budget.asked(10) == 3
    assert budget.first_to_leave(0, 10) is None
    assert budget.first_to_leave(1, 10) == 0


def test_every_platform_has_documented_limits() -> None:
    assert set(POSTING_LIMITS) == set(PLATFORMS)
    assert all(limit.posts > 0 and limit.window_s > 0 for limits in POSTING_LIMITS.values() for limit in limits)


def test_budgets_are_per_account_and_per_organizations_app_in_one_order() -> None:
    found = budgets_for("x", account_id="acc1", org_id="org1")
    assert [b.key for b in found] == sorted(b.key for b in found)
    assert {b.key.split("/")[1] for b in found} == {"account", "app"}
    assert all("/acc1/" in b.key for b in found if "/account/" in b.key)
    assert all("/org1/" in b.key for b in found if "/app/" in b.key)
    assert budgets_for("x", account_id="acc2", org_id="org1")[0].key != found[0].key


def test_overrides_replace_a_scopes_limits() -> None:
    overrides = parse_overrides("mastodon.account=3/2, x.app=10/60,x.app=20/600")
    assert overrides[("mastodon", "account")] == (Limit("account", 3, 2.0),)
    assert len(overrides[("x", "app")]) == 2
    [only] = budgets_for("mastodon", account_id="a", org_id="o", overrides=overrides)
    assert (only.posts, only.window_s) == (3, 2.0)
    for bad in ("mastodon=3/2", "nowhere.account=1/1", "x.account=0/10", "x.user=1/1"):
        with pytest.raises(ValueError):
            parse_overrides(bad)


async def test_concurrent_spenders_never_take_more_than_the_budget(database_url: str) -> None:
    """Twelve deliveries at once, each on its own connection (as replicas are): three fit, the
    others are told to wait until the oldest spend leaves the window."""
    engines = [create_engine(database_url, "publisher", pool_size=1) for _ in range(12)]
    budget = Budget("mastodon/account/burst/60", posts=3, window_s=60)

    async def spend(engine: AsyncEngine, n: int) -> float | None:
        async with engine.begin() as conn:
            return await budgets.spend(conn, [budget], need=1, target_id=f"t{n}")

    try:
        waits = await asyncio.gather(*(spend(e, n) for n, e in enumerate(engines)))
    finally:
        for engine in engines:
            await engine.dispose()
    assert sum(1 for w in waits if w is None) == 3
    assert all(w is not None and 0 < w <= 60 for w in waits if w is not None)


async def test_a_spend_takes_from_every_budget_or_from_none(engine: AsyncEngine) -> None:
    roomy = Budget("x/account/both/60", posts=10, window_s=60)
    tight = Budget("x/app/both/60", posts=1, window_s=60)
    async with engine.begin() as conn:
        assert await budgets.spend(conn, [roomy, tight], need=1, target_id="a") is None
        assert await budgets.spend(conn, [roomy, tight], need=1, target_id="b") is not None
        # The refused spend took nothing from the roomy budget: nine posts still fit there.
        for n in range(9):
            assert await budgets.spend(conn, [roomy], need=1, target_id=f"c{n}") is None
        assert await budgets.spend(conn, [roomy], need=1, target_id="d") is not None
