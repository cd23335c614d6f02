"""A publisher killed mid-thread: the restarted one finishes it without posting the root twice."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.kit.bus import Bus
from tests.publisher.factories import attempts, command, outcome, sandbox_posts, send, subjects, target_row
from tests.support.bus import eventually
from tests.support.stack import Infra, Services, start_services, wait_services_ready


@pytest.fixture
def own_publisher(infra: Infra, tmp_path: Path) -> Iterator[Services]:
    services = start_services(infra, tmp_path, ["publisher"])
    yield services
    services.supervisor.stop_all()


@pytest.fixture
async def bus(own_publisher: Services) -> AsyncIterator[Bus]:
    async with own_publisher.bus() as bus:
        yield bus


@pytest.fixture
async def db(own_publisher: Services) -> AsyncIterator[AsyncEngine]:
    async with own_publisher.database("publisher") as engine:
        yield engine


async def test_sigkill_mid_target_resumes_after_the_root(
    infra: Infra, own_publisher: Services, bus: Bus, db: AsyncEngine
) -> None:
    process = own_publisher.supervisor.processes["publisher"]
    cmd = command("[sandbox:slow=1500] the root", "the reply")
    await send(bus, cmd)

    async def root_recorded() -> bool:
        async with db.connect() as conn:
            return bool(
                await conn.scalar(
                    sa.text("SELECT 1 FROM container_progress WHERE target_id = :t AND container_index = 0"),
                    {"t": cmd.target_id},
                )
            )

    await eventually(root_recorded, what="the root's progress row")
    process.kill()
    assert len(await sandbox_posts(db, cmd.target_id)) == 1, "killed too late: the reply was already posted"
    process.start()
    await wait_services_ready(infra.nats_url, own_publisher.namespace, ["publisher"])
    events = await eventually(lambda: outcome(bus, cmd.target_id), timeout=30, what="publication after restart")
    assert subjects(events)[-1] == "published" and "attempt_failed" not in subjects(events)
    assert events[-1][1].attempt == 1
    posts = await sandbox_posts(db, cmd.target_id)
    assert [p.container_index for p in posts] == [0, 1]
    assert posts[1].parent_id == posts[0].id
    # The crash is a second delivery of attempt 1, not a failed attempt.
    assert [(a.number, a.deliveries, a.outcome) for a in await attempts(db, cmd.target_id)] == [(1, 2, "published")]
    assert (await target_row(db, cmd.target_id)).failed_attempts == 0


async def test_slow_thread_outlasting_the_ack_wait_is_delivered_once(
    infra: Infra, own_publisher: Services, bus: Bus, db: AsyncEngine
) -> None:
    """Four containers at 1.5 s each outlast the 3 s ack wait: heartbeats keep the message ours."""
    cmd = command("[sandbox:slow=1500] one", "two", "three", "four")
    await send(bus, cmd)
    events = await eventually(lambda: outcome(bus, cmd.target_id), timeout=30, what="publication")
    assert subjects(events) == ["publishing", "published"]
    assert [(a.number, a.deliveries) for a in await attempts(db, cmd.target_id)] == [(1, 1)]
    assert len(await sandbox_posts(db, cmd.target_id)) == 4


async def test_a_processing_wait_survives_a_sigkill_without_starting_over(
    infra: Infra, own_publisher: Services, bus: Bus, db: AsyncEngine
) -> None:
    process = own_publisher.supervisor.processes["publisher"]
    cmd = command("[sandbox:processing=20] a video")
    await send(bus, cmd)

    async def rounds() -> int:
        async with db.connect() as conn:
            state = await conn.scalar(
                sa.text("SELECT state FROM container_stages WHERE target_id = :t AND container_index = 0"),
                {"t": cmd.target_id},
            )
        return int((state or {}).get("processing_rounds", 0))

    async def waited_three_rounds() -> bool:
        return await rounds() >= 3

    await eventually(waited_three_rounds, what="three rounds of processing")
    process.kill()
    process.start()
    await wait_services_ready(infra.nats_url, own_publisher.namespace, ["publisher"])
    events = await eventually(lambda: outcome(bus, cmd.target_id), timeout=30, what="publication after restart")
    assert subjects(events)[-1] == "published" and "attempt_failed" not in subjects(events)
    [attempt] = await attempts(db, cmd.target_id)
    # One delivery per round and one to publish; a delivery killed before it counted its round
    # makes one more. Rounds started over from the stage's loss would make at least three more.
    assert (attempt.number, attempt.outcome) == (1, "published") and 21 <= attempt.deliveries <= 22
    assert len(await sandbox_posts(db, cmd.target_id)) == 1
