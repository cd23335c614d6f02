"""A rate limit is waited out as the platform asks, and counts as a failed attempt only once rate
limits have held the target back past the deadline (use case in-process, real Postgres)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from crier.platforms.base import RateLimited
from crier.publisher.handlers.delivery import RetryIn, deliver
from tests.publisher.factories import attempts, command, target_row
from tests.publisher.scripted import ScriptedPlatform, context, forget_backoff, outbox, subjects


async def test_six_rate_limits_then_success_is_published_not_dead(engine: AsyncEngine) -> None:
    platform = ScriptedPlatform({(n, 0): RateLimited("429", retry_after_s=7.5) for n in range(1, 7)})
    ctx = context(engine, platform, max_attempts=5)
    cmd = command("root", mode="live")
    for _ in range(6):
        # Exactly the platform's Retry-After: no backoff on top, no jitter below.
        assert await deliver(ctx, cmd) == RetryIn(7.5)
        await forget_backoff(engine, cmd.target_id)
    assert await deliver(ctx, cmd) is None
    assert await subjects(engine, cmd.target_id) == ["publishing", "attempt_failed"] * 6 + ["publishing", "published"]
    events = await outbox(engine, cmd.target_id)
    failures = [e for s, e in events if s == "evt.target.attempt_failed"]
    assert [(e["attempt"], e["error_code"], e["retry_in_seconds"]) for e in failures] == [
        (n, "rate_limited", 7.5) for n in range(1, 7)
    ]
    assert events[-1][1]["attempt"] == 7
    row = await target_row(engine, cmd.target_id)
    assert (row.status, row.failed_attempts) == ("published", 0)
    assert [a.outcome for a in await attempts(engine, cmd.target_id)] == ["retrying"] * 6 + ["published"]


async def test_rate_limits_past_the_deadline_count_and_dead_letter(engine: AsyncEngine) -> None:
    platform = ScriptedPlatform({(n, 0): RateLimited("429", retry_after_s=0.5) for n in range(1, 10)})
    # No grace at all: only the very first rate limit, when the clock starts, goes uncounted.
    ctx = context(engine, platform, max_attempts=3, rate_limit_deadline_s=0.0)
    cmd = command("root", mode="live")
    for _ in range(3):
        assert isinstance(await deliver(ctx, cmd), RetryIn)
        await forget_backoff(engine, cmd.target_id)
    assert await deliver(ctx, cmd) is None
    assert await subjects(engine, cmd.target_id) == ["publishing", "attempt_failed"] * 3 + [
        "publishing",
        "dead_lettered",
    ]
    dead = (await outbox(engine, cmd.target_id))[-1][1]
    assert (dead["attempt"], dead["error_code"]) == (4, "rate_limited")
    row = await target_row(engine, cmd.target_id)
    assert (row.status, row.failed_attempts) == ("dead", 3)


async def test_a_counted_failure_after_rate_limits_keeps_the_count_honest(engine: AsyncEngine) -> None:
    from crier.platforms.base import TransientError

    platform = ScriptedPlatform(
        {(1, 0): RateLimited("429", retry_after_s=1.0), (2, 0): TransientError("503"), (3, 0): RateLimited("429")}
    )
    ctx = context(engine, platform)
    cmd = command("root", mode="live")
    for _ in range(3):
        assert isinstance(await deliver(ctx, cmd), RetryIn)
        await forget_backoff(engine, cmd.target_id)
    assert await deliver(ctx, cmd) is None
    assert (await target_row(engine, cmd.target_id)).failed_attempts == 1
    assert (await outbox(engine, cmd.target_id))[-1][1]["attempt"] == 4
