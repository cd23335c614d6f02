"""A burst from one organisation does not hold back another's targets, nor a scheduled one falling due.

One publisher with two delivery slots, a slow platform (the sandbox told to take its time), and a
burst of one organisation's immediate targets queued ahead of a scheduled target falling due and a
second organisation's target. With a single first-come queue both would wait for the whole burst.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts.commands import PublishTarget, command_subject, lane_of
from crier.kit.bus import Bus, streams
from tests.publisher.factories import command, send
from tests.support.bus import eventually, publish, read_stream
from tests.support.stack import Infra, Services, start_services

BURST = 12
ORG_A = "org_burst"
# Any other organisation whose lane is not the burst's: sharing a lane, it would share its turn.
ORG_B = next(f"org_{n}" for n in range(100) if lane_of(f"org_{n}") != lane_of(ORG_A))


@pytest.fixture(scope="module")
def narrow_publisher(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    services = start_services(
        infra, tmp_path_factory.mktemp("fairness"), ["publisher"], {"CRIER_PUBLISHER_CONCURRENCY": "2"}
    )
    yield services
    services.supervisor.stop_all()


@pytest.fixture
async def bus(narrow_publisher: Services) -> AsyncIterator[Bus]:
    async with narrow_publisher.bus() as bus:
        yield bus


@pytest.fixture
async def db(narrow_publisher: Services) -> AsyncIterator[AsyncEngine]:
    async with narrow_publisher.database("publisher") as engine:
        yield engine


def slow(org_id: str, *, due: bool = False) -> PublishTarget:
    cmd = command("[sandbox:slow=400] hello")
    return msgspec.structs.replace(cmd, org_id=org_id, due_at=datetime.now(UTC) if due else None)


async def started(bus: Bus, targets: set[str]) -> list[str] | None:
    """The targets in the order their deliveries began, once every one of them was published."""
    order, done = [], set()
    for m in await read_stream(bus, streams.EVENTS, "evt.target.>"):
        target_id = msgspec.json.decode(m.data).get("target_id")
        if target_id in targets and m.subject == "evt.target.publishing" and target_id not in order:
            order.append(target_id)
        if target_id in targets and m.subject == "evt.target.published":
            done.add(target_id)
    return order if done == targets else None


async def test_the_due_target_and_another_organisation_go_ahead_of_a_burst(bus: Bus, db: AsyncEngine) -> None:
    burst = [slow(ORG_A) for _ in range(BURST)]
    due, other = slow(ORG_A, due=True), slow(ORG_B)
    for cmd in [*burst, due, other]:
        await publish(bus, command_subject(cmd), cmd, msg_id=cmd.target_id)
    everyone = {c.target_id for c in [*burst, due, other]}
    order = await eventually(lambda: started(bus, everyone), timeout=60, what="every target published")
    # Two slots are taken by the burst before the others are queued, and each lane's reader keeps
    # two more at hand; the next free slots go to the due lane, then to the other organisation.
    assert order.index(due.target_id) < BURST // 2, order
    assert order.index(other.target_id) < BURST // 2, order


async def test_a_command_on_the_queue_of_earlier_versions_is_still_delivered(bus: Bus, db: AsyncEngine) -> None:
    cmd = command("queued before an upgrade")
    await send(bus, cmd)  # cmd.publish.<platform>, the one queue an older scheduler wrote to
    order = await eventually(lambda: started(bus, {cmd.target_id}), what="the old queue's command published")
    assert order == [cmd.target_id]
