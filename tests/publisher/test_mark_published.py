"""A success is recorded in one statement that checks the target as it locks it: the target
published, its attempt finished and its announcement queued, or, when the target was finished
meanwhile or a redrive replaced the generation, nothing written at all."""

from __future__ import annotations

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.kit.bus.outbox import OutboxMessage
from crier.kit.uow import UnitOfWork
from crier.platforms.base import PublishedContainer
from crier.publisher.adapters import targets
from tests.publisher.factories import attempts, command, target_row
from tests.publisher.scripted import subjects


class Announcement(msgspec.Struct):
    id: str
    target_id: str


async def _attempt_then(engine: AsyncEngine, meanwhile: str | None) -> tuple[str, bool]:
    uow = UnitOfWork(engine, consumer="publisher")
    cmd = command("hello")
    async with uow.begin() as tx:
        await targets.claim(tx.conn, cmd)
        await targets.start_attempt(tx, cmd.target_id, 0, 1)
    if meanwhile is not None:
        async with engine.begin() as conn:
            await conn.execute(sa.text(meanwhile), {"t": cmd.target_id})
    announcement = Announcement(id=f"{cmd.target_id}:published", target_id=cmd.target_id)
    async with uow.begin() as tx:
        marked = await targets.mark_published(
            tx,
            cmd.target_id,
            PublishedContainer("x_1", "https://x.test/x_1"),
            redrive=0,
            attempt=1,
            announce=[OutboxMessage(subject="evt.target.published", message=announcement)],
        )
    return cmd.target_id, marked


async def test_a_success_is_recorded_whole(engine: AsyncEngine) -> None:
    target_id, marked = await _attempt_then(engine, None)
    assert marked
    row = await target_row(engine, target_id)
    assert row is not None and (row.status, row.platform_post_id) == ("published", "x_1")
    assert [(a.number, a.outcome) for a in await attempts(engine, target_id)] == [(1, "published")]
    assert await subjects(engine, target_id) == ["published"]


@pytest.mark.parametrize(
    "meanwhile",
    [
        "UPDATE targets SET status = 'canceled' WHERE target_id = :t",
        "UPDATE targets SET redrive = 1 WHERE target_id = :t",
    ],
    ids=["finished", "redriven"],
)
async def test_a_success_for_a_finished_or_replaced_target_writes_nothing(engine: AsyncEngine, meanwhile: str) -> None:
    target_id, marked = await _attempt_then(engine, meanwhile)
    assert not marked
    row = await target_row(engine, target_id)
    assert row is not None and row.status != "published" and row.platform_post_id is None
    assert [(a.number, a.outcome) for a in await attempts(engine, target_id)] == [(1, None)]
    assert await subjects(engine, target_id) == []
