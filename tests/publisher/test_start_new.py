"""A target the publisher has never seen starts in one statement committed by itself (its row, its
first attempt, its publishing event); a redelivery, or a target canceled before its command came,
is decided in a transaction under the target's lock, as before."""

from __future__ import annotations

import dataclasses

from sqlalchemy.ext.asyncio import AsyncEngine

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
