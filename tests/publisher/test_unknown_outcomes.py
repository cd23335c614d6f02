"""No duplicate after an unknown outcome: a container whose call began without a recorded answer is
looked up on the platform and adopted before anything is posted again (in-process, real Postgres)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.platforms.base import OutcomeUnknown, TransientError
from crier.publisher.handlers.delivery import RetryIn, deliver
from tests.publisher.factories import attempts, command
from tests.publisher.scripted import AnswerLost, ScriptedPlatform, context, forget_backoff, outbox, subjects


class Crash(BaseException):
    """The publisher dies: nothing after the raise runs, like a SIGKILL."""


async def _sends(engine: AsyncEngine, target_id: str) -> list[tuple[int, int]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text("SELECT container_index, attempt FROM container_sends WHERE target_id = :t ORDER BY 1"),
            {"t": target_id},
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_an_unknown_outcome_is_adopted_instead_of_posted_again(engine: AsyncEngine) -> None:
    platform = ScriptedPlatform({(1, 1): AnswerLost(OutcomeUnknown("read timeout after sending"))})
    ctx = context(engine, platform)
    cmd = command("root", "reply", "another", mode="live")
    assert isinstance(await deliver(ctx, cmd), RetryIn)
    # The reply's send is on record without its answer; the root's marker gave way to its result.
    assert await _sends(engine, cmd.target_id) == [(1, 1)]
    await forget_backoff(engine, cmd.target_id)
    assert await deliver(ctx, cmd) is None
    assert platform.finds == [(2, 1)]
    assert platform.calls == [(1, 0, None), (1, 1, "x_0"), (2, 2, "x_1")]
    assert platform.posts == {0: 1, 1: 1, 2: 1}
    assert await _sends(engine, cmd.target_id) == []
    assert await subjects(engine, cmd.target_id) == ["publishing", "attempt_failed", "publishing", "published"]
    events = await outbox(engine, cmd.target_id)
    assert events[1][1]["error_code"] == "outcome_unknown"
    assert events[-1][1]["container_ids"] == ["x_0", "x_1", "x_2"]


async def test_an_unknown_outcome_not_found_on_the_platform_is_posted(engine: AsyncEngine) -> None:
    platform = ScriptedPlatform({(1, 0): OutcomeUnknown("connection reset")})
    ctx = context(engine, platform)
    cmd = command("root", mode="live")
    assert isinstance(await deliver(ctx, cmd), RetryIn)
    await forget_backoff(engine, cmd.target_id)
    assert await deliver(ctx, cmd) is None
    assert platform.finds == [(2, 0)]
    assert platform.calls == [(1, 0, None), (2, 0, None)]
    assert platform.posts == {0: 1}


async def test_a_crash_between_the_platforms_answer_and_its_record_adopts_the_post(engine: AsyncEngine) -> None:
    platform = ScriptedPlatform({(1, 0): AnswerLost(Crash())})
    ctx = context(engine, platform)
    cmd = command("root", "reply", mode="live")
    try:
        await deliver(ctx, cmd)
    except Crash:
        pass
    else:
        raise AssertionError("the scripted crash did not happen")
    # The redelivery continues attempt 1: the crash was not a failed attempt.
    assert await deliver(ctx, cmd) is None
    assert platform.finds == [(1, 0)]
    assert platform.calls == [(1, 0, None), (1, 1, "x_0")]
    assert platform.posts == {0: 1, 1: 1}
    assert await subjects(engine, cmd.target_id) == ["publishing", "publishing", "published"]
    assert [(a.number, a.deliveries, a.outcome) for a in await attempts(engine, cmd.target_id)] == [(1, 2, "published")]


async def test_a_5xx_leaves_the_send_on_record_so_the_next_attempt_looks_first(engine: AsyncEngine) -> None:
    # A 5xx may come from a proxy after the platform took the post: the marker stays for any failure.
    platform = ScriptedPlatform({(1, 0): TransientError("502 Bad Gateway")})
    ctx = context(engine, platform)
    cmd = command("root", mode="live")
    assert isinstance(await deliver(ctx, cmd), RetryIn)
    await forget_backoff(engine, cmd.target_id)
    assert await deliver(ctx, cmd) is None
    assert platform.finds == [(2, 0)] and platform.posts == {0: 1}
