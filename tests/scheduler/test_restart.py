"""Crashes and restarts: every due target fires exactly once, whatever moment the scheduler dies."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts.commands import PublishTarget
from crier.contracts.events import TargetQueued
from crier.kit.bus import Bus, streams
from tests.scheduler.test_firing import new_post
from tests.support.bus import eventually, publish, read_stream
from tests.support.stack import Infra, Services, start_services, wait_services_ready


@pytest.fixture
def own_scheduler(infra: Infra, tmp_path: Path) -> Iterator[Services]:
    services = start_services(infra, tmp_path, ["scheduler"])
    yield services
    services.supervisor.stop_all()


@pytest.fixture
async def bus(own_scheduler: Services) -> AsyncIterator[Bus]:
    async with own_scheduler.bus() as bus:
        yield bus


@pytest.fixture
async def db(own_scheduler: Services) -> AsyncIterator[AsyncEngine]:
    async with own_scheduler.database("scheduler") as engine:
        yield engine


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
async def test_due_targets_fire_exactly_once_across_a_restart(
    infra: Infra, own_scheduler: Services, bus: Bus, db: AsyncEngine, how: str
) -> None:
    process = own_scheduler.supervisor.processes["scheduler"]
    # A backlog larger than one firing batch, so the crash can land between two batches.
    now = datetime.now(UTC)
    posts = [
        new_post(1500),
        new_post(20, at=now + timedelta(seconds=1)),
        new_post(20, at=now + timedelta(seconds=2)),
    ]
    for post in posts:
        await publish(bus, "evt.post.created", post)
    expected = {t.target_id for p in posts for t in p.targets}

    async def fired_count() -> int:
        async with db.connect() as conn:
            return await conn.scalar(sa.text("SELECT count(*) FROM timetable WHERE fired_at IS NOT NULL"))

    await eventually(fired_count, what="firing to begin")
    process.kill() if how == "sigkill" else process.terminate()

    async def all_due_while_down() -> bool:
        async with db.connect() as conn:
            return bool(await conn.scalar(sa.text("SELECT clock_timestamp() > max(due_at) FROM timetable")))

    await eventually(all_due_while_down, what="every target to be due")
    async with db.connect() as conn:
        left = await conn.scalar(sa.text("SELECT count(*) FROM timetable WHERE fired_at IS NULL"))
    assert left > 0, "the scheduler fired everything before it stopped; the test proves nothing"
    process.start()
    await wait_services_ready(infra.nats_url, own_scheduler.namespace, ["scheduler"])

    async def everything_fired_and_sent() -> bool:
        async with db.connect() as conn:
            # A post event the killed process had fetched but not acked comes back only after
            # the consumer's ack wait, so its targets may not be on the timetable yet.
            rows = await conn.scalar(sa.text("SELECT count(*) FROM timetable"))
            waiting = await conn.scalar(sa.text("SELECT count(*) FROM timetable WHERE fired_at IS NULL"))
            unsent = await conn.scalar(sa.text("SELECT count(*) FROM outbox"))
        return rows == len(expected) and waiting == 0 and unsent == 0

    await eventually(everything_fired_and_sent, timeout=60, what="all targets fired and relayed")
    queued = Counter(
        msgspec.json.decode(m.data, type=TargetQueued).target_id
        for m in await read_stream(bus, streams.EVENTS, "evt.target.queued")
    )
    sent = Counter(
        msgspec.json.decode(m.data, type=PublishTarget).target_id
        for m in await read_stream(bus, streams.PUBLISH, "cmd.publish.>")
    )
    assert set(queued) == expected and set(queued.values()) == {1}
    assert set(sent) == expected and set(sent.values()) == {1}
