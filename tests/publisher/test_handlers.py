"""The delivery use case in-process, against real Postgres and scripted fake platforms (no bus)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.platforms.base import PlatformError, TransientError
from crier.publisher.handlers.delivery import RetryIn, deliver
from tests.publisher.factories import command
from tests.publisher.scripted import ScriptedPlatform, context, forget_backoff, outbox, subjects


async def test_retry_resumes_after_the_last_container_that_reached_the_platform(engine: AsyncEngine) -> None:
    platform = ScriptedPlatform({(1, 1): TransientError("503 on the reply")})
    ctx = context(engine, platform)
    cmd = command("root", "reply", "another", mode="live")
    # Base 2 s · 2^0, half of it by the fixed jitter.
    assert await deliver(ctx, cmd) == RetryIn(1.0)
    await forget_backoff(engine, cmd.target_id)
    assert await deliver(ctx, cmd) is None
    assert platform.calls == [(1, 0, None), (1, 1, "x_0"), (2, 1, "x_0"), (2, 2, "x_1")]
    assert await subjects(engine, cmd.target_id) == ["publishing", "attempt_failed", "publishing", "published"]
    published = (await outbox(engine, cmd.target_id))[-1][1]
    assert published["attempt"] == 2 and published["container_ids"] == ["x_0", "x_1", "x_2"]


async def test_redelivery_during_backoff_is_not_an_attempt(engine: AsyncEngine) -> None:
    platform = ScriptedPlatform({(1, 0): TransientError("503")})
    ctx = context(engine, platform)
    cmd = command("root", mode="live")
    assert isinstance(await deliver(ctx, cmd), RetryIn)
    early = await deliver(ctx, cmd)
    assert isinstance(early, RetryIn) and 0 < early.delay_s <= 1.0
    assert len(platform.calls) == 1
    assert await subjects(engine, cmd.target_id) == ["publishing", "attempt_failed"]


async def test_an_adapter_bug_dead_letters_instead_of_looping(engine: AsyncEngine) -> None:
    platform = ScriptedPlatform({(n, 0): KeyError("boom") for n in range(1, 6)})
    ctx = context(engine, platform)
    cmd = command("root", mode="live")
    for _ in range(4):
        assert isinstance(await deliver(ctx, cmd), RetryIn)
        await forget_backoff(engine, cmd.target_id)
    assert await deliver(ctx, cmd) is None
    assert await deliver(ctx, cmd) is None  # finished: a later delivery is settled without the platform
    assert len(platform.calls) == 5
    events = await outbox(engine, cmd.target_id)
    assert [s for s, _ in events][-2:] == ["dead.publish.x", "evt.target.dead_lettered"]
    assert events[-1][1]["error_code"] == "adapter_error" and events[-1][1]["attempt"] == 5
    async with engine.connect() as conn:
        copies = await conn.scalar(
            sa.text("SELECT count(*) FROM outbox WHERE subject = 'dead.publish.x' AND msg_id = :m"),
            {"m": f"{cmd.target_id}:dead"},
        )
    assert copies == 1


async def test_permanent_error_fails_at_once(engine: AsyncEngine) -> None:
    platform = ScriptedPlatform({(1, 0): PlatformError("you may not post here", code="forbidden")})
    cmd = command("root", mode="live")
    assert await deliver(context(engine, platform), cmd) is None
    assert await subjects(engine, cmd.target_id) == ["publishing", "failed"]
    assert (await outbox(engine, cmd.target_id))[-1][1]["error_code"] == "forbidden"
