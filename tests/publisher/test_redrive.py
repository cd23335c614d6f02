"""A redriven target: its command comes back with a higher generation, the target starts afresh,
and what already reached the platform is never posted again."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts.commands import PublishTarget
from crier.contracts.common import Container
from crier.contracts.events import PostCreated, PostRedriven, TargetSpec
from crier.kit.bus import Bus, streams
from crier.platforms.base import RateLimited, TransientError
from crier.publisher.handlers.delivery import RetryIn, deliver
from tests.publisher.factories import attempts, command, outcome, target_row
from tests.publisher.scripted import AnswerLost, ScriptedPlatform, context, forget_backoff, outbox, subjects
from tests.support.bus import eventually, publish, read_stream, target_events


def redriven(cmd: PublishTarget, redrive: int = 1) -> PublishTarget:
    return msgspec.structs.replace(cmd, redrive=redrive)


async def dead_copies(engine: AsyncEngine, target_id: str) -> list[tuple[str, dict[str, str]]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text("SELECT msg_id, headers FROM outbox WHERE subject LIKE 'dead.publish.%' AND msg_id LIKE :t"),
            {"t": f"{target_id}:%"},
        )
        return [(r.msg_id, json.loads(r.headers)) for r in rows]


async def test_a_redriven_thread_resumes_after_the_last_container_on_the_platform(engine: AsyncEngine) -> None:
    # The reply fails on every attempt; the fifth time the platform posts it and the answer is lost.
    platform = ScriptedPlatform(
        {
            **{(n, 1): TransientError("503 on the reply") for n in range(1, 5)},
            (5, 1): AnswerLost(TransientError("timed out")),
        }
    )
    ctx = context(engine, platform)
    cmd = command("root", "reply", "another", mode="live")
    for _ in range(4):
        assert isinstance(await deliver(ctx, cmd), RetryIn)
        await forget_backoff(engine, cmd.target_id)
    assert await deliver(ctx, cmd) is None
    assert (await target_row(engine, cmd.target_id)).status == "dead"
    assert platform.posts == {0: 1, 1: 1}
    calls_before = len(platform.calls)

    assert await deliver(ctx, redriven(cmd)) is None
    # The root was recorded and is skipped; the reply's unsettled send is looked up and adopted;
    # only the third part is posted.
    assert platform.calls[calls_before:] == [(1, 2, "x_1")]
    assert platform.finds[-1] == (1, 1)
    assert platform.posts == {0: 1, 1: 1, 2: 1}
    events = await outbox(engine, cmd.target_id)
    redrive_events = [(s, p) for s, p in events if s.startswith("evt.target.") and p["redrive"] == 1]
    assert [(s, p["attempt"]) for s, p in redrive_events] == [
        ("evt.target.publishing", 1),
        ("evt.target.published", 1),
    ]
    assert redrive_events[-1][1]["container_ids"] == ["x_0", "x_1", "x_2"]
    row = await target_row(engine, cmd.target_id)
    assert (row.status, row.redrive, row.failed_attempts, row.last_attempt) == ("published", 1, 0, 1)
    assert sorted((a.redrive, a.number, a.outcome) for a in await attempts(engine, cmd.target_id)) == [
        (0, 1, "retrying"),
        (0, 2, "retrying"),
        (0, 3, "retrying"),
        (0, 4, "retrying"),
        (0, 5, "dead"),
        (1, 1, "published"),
    ]
    [(msg_id, headers)] = await dead_copies(engine, cmd.target_id)
    assert msg_id == f"{cmd.target_id}:dead"
    assert (headers["Crier-Error-Code"], headers["Crier-Error"]) == ("platform_unavailable", "timed out")

    # A late command of the generation the redrive replaced is settled without effect.
    seen = len(events)
    assert await deliver(ctx, cmd) is None
    assert len(platform.calls) == calls_before + 1 and len(await outbox(engine, cmd.target_id)) == seen
    # And a replay of the redriven command finds the target finished.
    assert await deliver(ctx, redriven(cmd)) is None
    assert len(platform.calls) == calls_before + 1 and len(await outbox(engine, cmd.target_id)) == seen


async def test_a_redrive_starts_a_fresh_count_and_forgets_the_rate_limit(engine: AsyncEngine) -> None:
    platform = ScriptedPlatform(
        {
            # Generation 0: rate limited once (not counted), then five counted failures.
            # Generation 1: its attempt 1 fails once more, its attempt 2 goes through.
            (1, 0): [RateLimited("slow down", retry_after_s=1), TransientError("503 again")],
            **{(n, 0): TransientError("503") for n in range(2, 7)},
        }
    )
    ctx = context(engine, platform)
    cmd = command("root", mode="live")
    for _ in range(6):
        await deliver(ctx, cmd)
        await forget_backoff(engine, cmd.target_id)
    row = await target_row(engine, cmd.target_id)
    assert (row.status, row.failed_attempts, row.last_attempt) == ("dead", 5, 6)
    assert row.rate_limited_since is not None

    # Counted afresh: one failure of five allowed, with the first backoff (2 s · 2^0 · jitter ½).
    assert await deliver(ctx, redriven(cmd)) == RetryIn(1.0)
    row = await target_row(engine, cmd.target_id)
    assert (row.status, row.redrive, row.failed_attempts, row.last_attempt) == ("retrying", 1, 1, 1)
    assert row.rate_limited_since is None
    await forget_backoff(engine, cmd.target_id)
    assert await deliver(ctx, redriven(cmd)) is None
    assert (await target_row(engine, cmd.target_id)).status == "published"
    assert platform.posts == {0: 1}
    names = await subjects(engine, cmd.target_id)
    assert names[-5:] == ["dead_lettered", "publishing", "attempt_failed", "publishing", "published"]


async def test_a_sandbox_target_dead_again_after_a_redrive_gets_five_fresh_attempts(bus: Bus) -> None:
    """Through the real scheduler and publisher: the post's redrive refires the command, and the
    target fails five more times before it is dead again, each death kept on the DEAD stream."""
    post_id = f"post_{secrets.token_hex(6)}"
    spec = TargetSpec(target_id=f"{post_id}_x", account_id="acc_x", platform="x", account_username="x_user")
    envelope = {"occurred_at": datetime.now(UTC), "org_id": "org_1", "mode": "test", "post_id": post_id}
    containers = [Container(content="down [sandbox:fail]"), Container(content="reply"), Container(content="more")]
    await publish(
        bus, "evt.post.created", PostCreated(id=secrets.token_hex(8), **envelope, containers=containers, targets=[spec])
    )
    first = await eventually(lambda: outcome(bus, spec.target_id), what="the first death")
    assert first[-1][0] == "evt.target.dead_lettered" and first[-1][1].redrive == 0
    await publish(
        bus,
        "evt.post.redriven",
        PostRedriven(id=secrets.token_hex(8), **envelope, target_ids=[spec.target_id], redrive=1),
    )

    async def second_death() -> list | None:
        events = [(s, e) for s, e in await target_events(bus, spec.target_id) if e.redrive == 1]
        return events if events and events[-1][0] == "evt.target.dead_lettered" else None

    events = await eventually(second_death, timeout=30, what="the redriven target's death")
    assert [s.removeprefix("evt.target.") for s, _ in events] == [
        "queued",
        *["publishing", "attempt_failed"] * 4,
        "publishing",
        "dead_lettered",
    ]
    assert [e.attempt for s, e in events if s == "evt.target.publishing"] == [1, 2, 3, 4, 5]

    async def copies() -> list | None:
        held = [m for m in await read_stream(bus, streams.DEAD, "dead.publish.x") if spec.target_id in m.data.decode()]
        return held if len(held) == 2 else None

    held = await eventually(copies, what="both deaths on the DEAD stream")
    assert [m.headers["Nats-Msg-Id"] for m in held] == [f"{spec.target_id}:dead", f"{spec.target_id}:r1:dead"]
    assert [msgspec.json.decode(m.data, type=PublishTarget).redrive for m in held] == [0, 1]
    assert {m.headers["Crier-Error-Code"] for m in held} == {"platform_unavailable"}
