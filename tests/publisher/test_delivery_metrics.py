"""What the delivery use case counts, in-process against real Postgres and a scripted platform: a
processing wait is a retried delivery without a concluded attempt, a canceled target a delivery of
its own, and a command that finds nothing to do (back before its backoff ended, or its target
finished) is no delivery at all."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts.events import PostCanceled
from crier.kit.metrics import Metrics
from crier.platforms.base import ContentRejected, StillProcessing
from crier.publisher.handlers.cancellations import record_cancellation
from crier.publisher.handlers.context import Context, Meters
from crier.publisher.handlers.delivery import RetryIn, deliver
from tests.publisher.factories import command
from tests.publisher.scripted import ScriptedPlatform, context, forget_backoff

COUNTERS = ("crier_deliveries_total", "crier_delivery_attempts_total", "crier_dead_letters_total")


def _measured(engine: AsyncEngine, platform: ScriptedPlatform) -> tuple[Context, Metrics]:
    metrics = Metrics("publisher", "x")
    return replace(context(engine, platform), meters=Meters.on(metrics)), metrics


def _counted(metrics: Metrics) -> dict[str, dict[str, float]]:
    """Each counter's non-zero series by their labels other than the platform (always x here)."""
    out: dict[str, dict[str, float]] = {}
    for family in metrics.registry.collect():
        for s in family.samples:
            if s.name in COUNTERS and s.value:
                assert s.labels["platform"] == "x"
                label = ",".join(v for k, v in sorted(s.labels.items()) if k != "platform")
                out.setdefault(s.name, {})[label] = s.value
    return out


async def test_a_processing_wait_is_a_retried_delivery_and_an_early_one_is_none(engine: AsyncEngine) -> None:
    ctx, metrics = _measured(engine, ScriptedPlatform({(1, 0): StillProcessing("transcoding", retry_after_s=1.0)}))
    cmd = command("root", mode="live")
    assert await deliver(ctx, cmd) == RetryIn(1.0)
    early = await deliver(ctx, cmd)  # an ack timeout brings it back before the platform's delay is up
    assert isinstance(early, RetryIn)
    await forget_backoff(engine, cmd.target_id)
    assert await deliver(ctx, cmd) is None
    assert await deliver(ctx, cmd) is None  # finished: settled without a delivery
    assert _counted(metrics) == {
        "crier_deliveries_total": {"retried": 1, "published": 1},
        # One attempt, waited on once, concluded once.
        "crier_delivery_attempts_total": {"none": 1},
    }
    durations = metrics.registry.get_sample_value(
        "crier_delivery_duration_seconds_count", {"platform": "x", "outcome": "retried"}
    )
    assert durations == 1


async def test_a_canceled_target_and_a_rejected_one(engine: AsyncEngine) -> None:
    ctx, metrics = _measured(engine, ScriptedPlatform({(1, 0): ContentRejected("too long")}))
    canceled, rejected = command("never mind", mode="live"), command("too long", mode="live")
    await record_cancellation(
        ctx,
        PostCanceled(
            id=secrets.token_hex(8),
            occurred_at=datetime.now(UTC),
            org_id=canceled.org_id,
            mode="live",
            post_id=canceled.post_id,
            target_ids=[canceled.target_id],
        ),
    )
    assert await deliver(ctx, canceled) is None
    assert await deliver(ctx, rejected) is None
    assert _counted(metrics) == {
        "crier_deliveries_total": {"canceled": 1, "failed": 1},
        "crier_delivery_attempts_total": {"content_rejected": 1},
    }
