"""A success is recorded in one statement that checks the target as it locks it: the target
published, its attempt finished, its announcement queued and its stages dropped, or, when the
target was finished meanwhile or a redrive replaced the generation, none of that. The last
container's progress row (and its send marker's removal) goes in the same statement either way."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.kit.bus.outbox import OutboxMessage
from crier.kit.uow import UnitOfWork
from crier.platforms.base import PublishedContainer
from crier.platforms.sandbox import SandboxPost
from crier.publisher.adapters import containers, stages, targets
from tests.publisher.factories import attempts, command, sandbox_posts, target_row
from tests.publisher.scripted import subjects


class Announcement(msgspec.Struct):
    id: str
    target_id: str


async def _attempt_then(engine: AsyncEngine, meanwhile: str | None, *, posted: bool = False) -> tuple[str, bool]:
    """A target's first attempt, `meanwhile` run, then its success recorded; `posted`: with its one
    container's progress, sent under a marker, and a stage saved on the way."""
    uow = UnitOfWork(engine, consumer="publisher")
    cmd = command("hello")
    async with uow.begin() as tx:
        await targets.claim(tx.conn, cmd)
        await targets.start_attempt(tx, cmd.target_id, 0, 1)
        if posted:
            await containers.mark_sent(tx.conn, cmd.target_id, 0, 1)
            await stages.save(tx.conn, cmd.target_id, 0, {"upload": "u_1"})
    if meanwhile is not None:
        async with engine.begin() as conn:
            await conn.execute(sa.text(meanwhile), {"t": cmd.target_id})
    announcement = Announcement(id=f"{cmd.target_id}:published", target_id=cmd.target_id)
    success = targets.Success.of(
        cmd.target_id,
        PublishedContainer("x_1", "https://x.test/x_1"),
        redrive=0,
        attempt=1,
        announce=[OutboxMessage(subject="evt.target.published", message=announcement)],
        posted=containers.Posted(cmd.target_id, 0, PublishedContainer("x_1", "https://x.test/x_1")) if posted else None,
        staged=posted,
    )
    (marked,) = await targets.record_successes(uow, [success])
    return cmd.target_id, marked


async def _progress(engine: AsyncEngine, target_id: str) -> containers.Progress:
    async with engine.connect() as conn:
        return await containers.progress_of(conn, target_id)


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


async def test_the_last_containers_progress_goes_in_the_same_statement(engine: AsyncEngine) -> None:
    target_id, marked = await _attempt_then(engine, None, posted=True)
    assert marked
    progress = await _progress(engine, target_id)
    assert progress.posted == {0: PublishedContainer("x_1", "https://x.test/x_1")}
    assert progress.unsettled == {} and progress.stages == {}  # marker and stage gone with the success
    row = await target_row(engine, target_id)
    assert row is not None and row.status == "published"


async def test_the_progress_is_recorded_even_when_the_target_was_finished_meanwhile(engine: AsyncEngine) -> None:
    """The platform has the post whatever became of the target: that is recorded, the stages kept."""
    target_id, marked = await _attempt_then(
        engine, "UPDATE targets SET status = 'canceled' WHERE target_id = :t", posted=True
    )
    assert not marked
    progress = await _progress(engine, target_id)
    assert progress.posted == {0: PublishedContainer("x_1", "https://x.test/x_1")}
    assert progress.unsettled == {} and progress.stages == {0: {"upload": "u_1"}}
    assert await subjects(engine, target_id) == []


async def test_successes_recorded_together_write_each_its_own(engine: AsyncEngine) -> None:
    """One statement for three targets: one published plainly, one finished meanwhile (its last
    container's progress is kept, nothing else), one with its last container's progress, notes and
    the sandbox post that went with it."""
    uow = UnitOfWork(engine, consumer="publisher")
    plain, finished, posted = (command(name) for name in ("plain", "finished", "posted"))
    async with uow.begin() as tx:
        for cmd in (plain, finished, posted):
            await targets.claim(tx.conn, cmd)
            await targets.start_attempt(tx, cmd.target_id, 0, 1)
        await containers.mark_sent(tx.conn, finished.target_id, 0, 1)
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE targets SET status = 'canceled' WHERE target_id = :t"), {"t": finished.target_id}
        )

    def success(cmd: Any, last: containers.Posted | None = None) -> targets.Success:
        announcement = Announcement(id=f"{cmd.target_id}:published", target_id=cmd.target_id)
        return targets.Success.of(
            cmd.target_id,
            PublishedContainer(f"{cmd.target_id}-root", None),
            redrive=0,
            attempt=1,
            announce=[OutboxMessage(subject="evt.target.published", message=announcement)],
            posted=last,
        )

    kept = PublishedContainer("f_1", "https://x.test/f_1", notes=("first note",))
    sandbox_post = SandboxPost("sb_1", posted.target_id, 0, None, "posted", ("m_1", "m_2"))
    made = [
        success(plain),
        success(finished, containers.Posted(finished.target_id, 0, kept)),
        success(
            posted, containers.Posted(posted.target_id, 0, PublishedContainer("p_1", None), False, (sandbox_post,))
        ),
    ]
    assert await targets.record_successes(uow, made) == [True, False, True]
    for cmd, status in ((plain, "published"), (finished, "canceled"), (posted, "published")):
        row = await target_row(engine, cmd.target_id)
        assert row is not None and row.status == status
    assert await subjects(engine, plain.target_id) == ["published"]
    assert await subjects(engine, finished.target_id) == []
    assert [(a.number, a.outcome) for a in await attempts(engine, finished.target_id)] == [(1, None)]
    progress = await _progress(engine, finished.target_id)
    assert progress.posted == {0: kept} and progress.unsettled == {}  # kept whatever the target's state
    assert (await _progress(engine, posted.target_id)).posted == {0: PublishedContainer("p_1", None)}
    [stored] = await sandbox_posts(engine, posted.target_id)
    assert (stored.id, stored.content, list(stored.media)) == ("sb_1", "posted", ["m_1", "m_2"])
