"""A platform still processing a container's media: the delivery is re-queued with the platform's
delay, the attempt stays open and unannounced, the next delivery resumes from the adapter's stage,
and the processing deadline fails the target (use case in-process, real Postgres)."""

from __future__ import annotations

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.kit.uow import UnitOfWork
from crier.publisher.adapters.containers import progress_of
from crier.publisher.adapters.stages import TargetStage
from crier.publisher.handlers.delivery import RetryIn, deliver
from tests.publisher.factories import attempts, command, target_row
from tests.publisher.scripted import context, forget_backoff, outbox, subjects
from tests.publisher.uploading import PROCESSING_RETRY_S, UploadingPlatform


async def _stages(engine: AsyncEngine, target_id: str) -> dict[int, dict[str, object]]:
    async with engine.connect() as conn:
        return (await progress_of(conn, target_id)).stages


async def test_a_saved_stage_is_durable_at_once_and_loaded_by_the_next_delivery(engine: AsyncEngine) -> None:
    platform = UploadingPlatform(rounds=1)
    cmd = command("root", mode="live")
    assert await deliver(context(engine, platform), cmd) == RetryIn(PROCESSING_RETRY_S)
    assert await _stages(engine, cmd.target_id) == {0: {"rounds": 1}}
    # A stage of its own, as the next delivery builds it: what was loaded, then what it saves.
    stage = TargetStage(UnitOfWork(engine, consumer="publisher"), cmd.target_id, await _stages(engine, cmd.target_id))
    got = stage.get(0)
    got["rounds"] = 99  # the adapter's copy, not what is saved
    assert stage.get(0) == {"rounds": 1} and stage.get(1) == {}
    await stage.save(1, {"container": "c_1", "ids": ["m_1", "m_2"], "nested": {"n": 1.5}})
    assert stage.get(1)["ids"] == ["m_1", "m_2"]
    assert (await _stages(engine, cmd.target_id))[1] == {
        "container": "c_1",
        "ids": ["m_1", "m_2"],
        "nested": {"n": 1.5},
    }
    await stage.save(1, {"container": "c_2"})
    assert (await _stages(engine, cmd.target_id))[1] == {"container": "c_2"}


async def test_a_processing_wait_requeues_without_a_failure_and_the_attempt_continues(engine: AsyncEngine) -> None:
    platform = UploadingPlatform(rounds=2)
    ctx = context(engine, platform)
    cmd = command("root", "reply", mode="live")
    assert await deliver(ctx, cmd) == RetryIn(PROCESSING_RETRY_S)
    row = await target_row(engine, cmd.target_id)
    assert (row.status, row.failed_attempts, row.last_attempt, row.error_code) == ("publishing", 0, 1, None)
    # Redelivered before the platform's delay is up (an ack timeout): sent back to wait the rest.
    early = await deliver(ctx, cmd)
    assert isinstance(early, RetryIn) and 0 < early.delay_s <= PROCESSING_RETRY_S
    assert len(platform.resumed_from) == 1
    await forget_backoff(engine, cmd.target_id)
    assert await deliver(ctx, cmd) == RetryIn(PROCESSING_RETRY_S)
    await forget_backoff(engine, cmd.target_id)
    assert await deliver(ctx, cmd) is None
    # Each delivery after a wait looked for the post first (the send marker), then resumed from the stage.
    assert platform.finds == [(1, 0), (1, 0)]
    assert platform.resumed_from == [(0, {}), (0, {"rounds": 1}), (0, {"rounds": 2}), (1, {})]
    # One attempt, announced once, delivered three times; no failure anywhere.
    assert await subjects(engine, cmd.target_id) == ["publishing", "published"]
    published = (await outbox(engine, cmd.target_id))[-1][1]
    assert published["attempt"] == 1 and published["container_ids"] == ["up_0", "up_1"]
    assert [(a.number, a.deliveries, a.outcome, a.error_code) for a in await attempts(engine, cmd.target_id)] == [
        (1, 3, "published", None)
    ]
    row = await target_row(engine, cmd.target_id)
    assert (row.status, row.failed_attempts, row.waiting_on_processing) == ("published", 0, False)
    assert row.processing_since is not None
    # Published: nothing will resume from a stage again.
    assert await _stages(engine, cmd.target_id) == {}


async def test_processing_past_the_deadline_fails_the_target(engine: AsyncEngine) -> None:
    platform = UploadingPlatform(rounds=10)
    # No grace at all: only the first wait, which starts the clock, is waited out.
    ctx = context(engine, platform, processing_deadline_s=0.0)
    cmd = command("root", mode="live")
    assert await deliver(ctx, cmd) == RetryIn(PROCESSING_RETRY_S)
    await forget_backoff(engine, cmd.target_id)
    assert await deliver(ctx, cmd) is None
    assert await subjects(engine, cmd.target_id) == ["publishing", "failed"]
    failed = (await outbox(engine, cmd.target_id))[-1][1]
    assert (failed["attempt"], failed["error_code"]) == (1, "media_processing_timeout")
    assert "still processing" in failed["error_message"]
    row = await target_row(engine, cmd.target_id)
    assert (row.status, row.error_code) == ("failed", "media_processing_timeout")
    # Failed, not published: a redrive must find what was already sent to the platform.
    assert await _stages(engine, cmd.target_id) == {0: {"rounds": 2}}


async def test_a_redriven_target_resumes_from_its_stage_with_a_fresh_deadline(engine: AsyncEngine) -> None:
    platform = UploadingPlatform(rounds=2)
    cmd = command("root", mode="live")
    assert isinstance(await deliver(context(engine, platform, processing_deadline_s=0.0), cmd), RetryIn)
    await forget_backoff(engine, cmd.target_id)
    assert await deliver(context(engine, platform, processing_deadline_s=0.0), cmd) is None
    assert (await target_row(engine, cmd.target_id)).status == "failed"
    redriven = msgspec.structs.replace(cmd, redrive=1)
    # The platform finished processing meanwhile; the new generation's deadline starts afresh.
    assert await deliver(context(engine, platform, processing_deadline_s=3600.0), redriven) is None
    assert platform.resumed_from[-1] == (0, {"rounds": 2})
    assert (await target_row(engine, cmd.target_id)).status == "published"
    assert await _stages(engine, cmd.target_id) == {}
