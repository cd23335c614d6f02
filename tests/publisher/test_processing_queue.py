"""A processing wait through the publisher's JetStream consumer: the command is re-queued with the
platform's delay, freeing its slot (with one slot, another target goes out meanwhile), and never
counts towards the consumer's failures; media is read from the stack's own media store."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts.common import Container
from crier.kit.bus import Bus, streams
from crier.kit.media.store import open_store
from crier.kit.settings import CommonSettings
from tests.publisher.factories import attempts, command, outcome, sandbox_posts, send, subjects, target_row
from tests.publisher.uploading import platform_taking_images
from tests.support.bus import eventually, read_stream
from tests.support.media_files import media_ref, png
from tests.support.stack import Infra, Services, start_services


@pytest.fixture(scope="module")
def one_slot(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """A publisher that works on one target at a time."""
    services = start_services(
        infra, tmp_path_factory.mktemp("one-slot"), ["publisher"], {"CRIER_PUBLISHER_CONCURRENCY": "1"}
    )
    yield services
    services.supervisor.stop_all()


@pytest.fixture
async def bus(one_slot: Services) -> AsyncIterator[Bus]:
    async with one_slot.bus() as bus:
        yield bus


@pytest.fixture
async def db(one_slot: Services) -> AsyncIterator[AsyncEngine]:
    async with one_slot.database("publisher") as engine:
        yield engine


async def test_processing_rounds_are_waits_not_failures(bus: Bus, db: AsyncEngine) -> None:
    cmd = command("[sandbox:processing=2] a video", "its first comment")
    await send(bus, cmd)
    events = await eventually(lambda: outcome(bus, cmd.target_id), what="publication")
    assert subjects(events) == ["publishing", "published"] and events[-1][1].attempt == 1
    # Three deliveries of one attempt: two ended in a wait, the third published.
    assert [(a.number, a.deliveries, a.outcome) for a in await attempts(db, cmd.target_id)] == [(1, 3, "published")]
    row = await target_row(db, cmd.target_id)
    assert (row.failed_attempts, row.processing_since is not None) == (0, True)
    assert [p.container_index for p in await sandbox_posts(db, cmd.target_id)] == [0, 1]


async def test_a_waiting_target_frees_its_slot(bus: Bus, db: AsyncEngine) -> None:
    """Fifteen rounds of 0.2 s: had the wait held the only slot, the other target would go out after."""
    slow = command("[sandbox:processing=15] a long video")
    quick = command("just text")
    await send(bus, slow)

    async def waiting() -> bool:
        row = await target_row(db, slow.target_id)
        return row is not None and row.waiting_on_processing

    await eventually(waiting, what="the first target waiting on processing")
    await send(bus, quick)
    await eventually(lambda: outcome(bus, quick.target_id), what="the other target's publication")
    assert await outcome(bus, slow.target_id) is None, "the waiting target was done first: nothing was shown"
    events = await eventually(lambda: outcome(bus, slow.target_id), timeout=30, what="the waiting target's publication")
    assert subjects(events) == ["publishing", "published"]
    assert [(a.deliveries, a.outcome) for a in await attempts(db, slow.target_id)] == [(16, "published")]
    # Never a consumer failure: nothing of either went to the DEAD stream.
    dead = await read_stream(bus, streams.DEAD)
    assert not [m for m in dead if slow.target_id.encode() in m.data or quick.target_id.encode() in m.data]


async def test_a_sandbox_post_reads_its_media_from_the_stacks_store(bus: Bus, db: AsyncEngine) -> None:
    platform = platform_taking_images()
    if platform is None:
        pytest.skip("no platform's rules take images yet")
    data = png(80, 60)
    ref = media_ref(data, alt_text="a red rectangle")
    store = await open_store(CommonSettings(), bus)
    await store.put(ref.key, io.BytesIO(data), size=len(data), mime=ref.mime)
    missing = media_ref(png(8, 8))
    cmd, gone = (
        msgspec.structs.replace(
            command(platform=platform), containers=[Container(content="[sandbox:processing=1] look", media=[m])]
        )
        for m in (ref, missing)
    )
    await send(bus, cmd)
    await send(bus, gone)
    events = await eventually(lambda: outcome(bus, cmd.target_id), what="publication")
    assert subjects(events) == ["publishing", "published"]
    assert [p.media for p in await sandbox_posts(db, cmd.target_id)] == [[ref.id]]
    failed = await eventually(lambda: outcome(bus, gone.target_id), what="failure")
    assert subjects(failed) == ["publishing", "failed"] and failed[-1][1].error_code == "media_missing"
