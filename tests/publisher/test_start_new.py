"""A target the publisher has never seen starts in one statement committed by itself (its row, its
first attempt, its publishing event), shared with the new targets starting beside it; a redelivery,
or a target canceled before its command came, is decided in a transaction under the target's lock,
as before."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts.commands import PublishTarget
from crier.contracts.events import TargetPublishing
from crier.kit.bus.outbox import OutboxMessage
from crier.kit.uow import UnitOfWork
from crier.publisher.adapters import targets
from crier.publisher.handlers.delivery import deliver
from tests.publisher.factories import attempts, command, target_row
from tests.publisher.scripted import ScriptedPlatform, context, subjects
from tests.support.recording_uow import RecordingUnitOfWork


async def test_a_new_target_starts_in_one_statement_and_a_redelivery_under_its_lock(engine: AsyncEngine) -> None:
    uow = RecordingUnitOfWork(engine, consumer="publisher")
    platform = ScriptedPlatform()
    ctx = dataclasses.replace(context(engine, platform), uow=uow)
    cmd = command("hello", mode="live")
    assert await deliver(ctx, cmd) is None
    # started at once; then the container's send marker; then its result with the success: three
    # statements, each committed by itself
    assert uow.made == ["autocommit", "autocommit", "autocommit"]
    assert await subjects(engine, cmd.target_id) == ["publishing", "published"]
    assert [(a.number, a.outcome) for a in await attempts(engine, cmd.target_id)] == [(1, "published")]

    uow.made.clear()
    assert await deliver(ctx, cmd) is None  # the same command again: finished, nothing more
    assert uow.made == ["autocommit", "transaction"]
    assert platform.posts[0] == 1 and await subjects(engine, cmd.target_id) == ["publishing", "published"]


async def test_a_target_canceled_before_its_command_is_not_started(engine: AsyncEngine) -> None:
    uow = RecordingUnitOfWork(engine, consumer="publisher")
    ctx = dataclasses.replace(context(engine, ScriptedPlatform()), uow=uow)
    cmd = command("too late", mode="live")
    async with uow.begin() as tx:
        await targets.record_cancellations(tx.conn, cmd.post_id, [cmd.target_id])
    uow.made.clear()
    assert await deliver(ctx, cmd) is None
    assert uow.made == ["autocommit", "transaction"]
    row = await target_row(engine, cmd.target_id)
    assert row is not None and row.status == "canceled"
    assert await attempts(engine, cmd.target_id) == []
    assert await subjects(engine, cmd.target_id) == []


async def test_new_targets_delivered_at_once_start_together_in_one_statement(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    starts: list[int] = []
    successes: list[int] = []

    async def start_new(uow: UnitOfWork, made: list[targets.NewStart]) -> list[bool]:
        starts.append(len(made))
        return await real_start_new(uow, made)

    async def record_successes(uow: UnitOfWork, made: list[targets.Success]) -> list[bool]:
        successes.append(len(made))
        return await real_record_successes(uow, made)

    real_start_new, real_record_successes = targets.start_new, targets.record_successes
    monkeypatch.setattr(targets, "start_new", start_new)
    monkeypatch.setattr(targets, "record_successes", record_successes)
    ctx = context(engine, ScriptedPlatform())
    cmds = [command(f"together {n}", mode="live") for n in range(8)]
    assert await asyncio.gather(*(deliver(ctx, cmd) for cmd in cmds)) == [None] * 8
    assert starts == [8]  # the eight start in one statement
    assert sum(successes) == 8  # and each success is recorded once, with those recorded beside it
    for cmd in cmds:
        assert await subjects(engine, cmd.target_id) == ["publishing", "published"]
        assert [(a.number, a.outcome) for a in await attempts(engine, cmd.target_id)] == [(1, "published")]


async def test_a_shared_start_writes_only_for_the_targets_it_starts(engine: AsyncEngine) -> None:
    uow = UnitOfWork(engine, consumer="publisher")
    seen, canceled, fresh = (command(name, mode="live") for name in ("seen", "canceled", "fresh"))
    assert await targets.start_new(uow, [targets.NewStart.of(seen, [_publishing(seen)])]) == [True]
    async with uow.begin() as tx:
        await targets.record_cancellations(tx.conn, canceled.post_id, [canceled.target_id])
    starts = [targets.NewStart.of(c, [_publishing(c)]) for c in (seen, canceled, fresh)]
    assert await targets.start_new(uow, starts) == [False, False, True]
    assert await subjects(engine, seen.target_id) == ["publishing"]  # not announced twice
    assert await subjects(engine, canceled.target_id) == [] and await target_row(engine, canceled.target_id) is None
    assert await subjects(engine, fresh.target_id) == ["publishing"]
    assert [a.number for a in await attempts(engine, fresh.target_id)] == [1]


def _publishing(cmd: PublishTarget) -> OutboxMessage:
    event = TargetPublishing(
        id=str(uuid.uuid4()),
        occurred_at=datetime.now(UTC),
        org_id=cmd.org_id,
        mode=cmd.mode,
        post_id=cmd.post_id,
        target_id=cmd.target_id,
        platform=cmd.platform,
        attempt=1,
    )
    return OutboxMessage(subject="evt.target.publishing", message=event)
