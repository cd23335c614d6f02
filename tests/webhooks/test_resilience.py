"""Failure over time, with the schedule scaled down 100 000×: a day of retries runs in about a
second and the five-day disable window in about four. And a SIGKILL in the middle of a batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Iterator

import pytest

from crier.contracts import webhooks as api
from crier.kit.bus import Bus
from crier.webhooks.domain.delivery import MAX_ATTEMPTS
from tests.support.stack import Infra, Services, start_services, wait_services_ready
from tests.webhooks.conftest import SERVICE_ENV
from tests.webhooks.support import (
    Receiver,
    Reply,
    call,
    deliveries_of,
    eventually,
    new_endpoint,
    new_org,
    publish,
    target_published,
)

ENV = {
    **SERVICE_ENV,
    "CRIER_WEBHOOKS_RETRY_SCALE": "0.00001",
    "CRIER_WEBHOOKS_LEASE_S": "1",  # at least timeout + 1 s: 2 s
    "CRIER_WEBHOOKS_ACK_WAIT_S": "2",
}


@pytest.fixture(scope="module")
def service(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    services = start_services(infra, tmp_path_factory.mktemp("webhooks-resilience"), ["webhooks"], ENV)
    yield services
    services.supervisor.stop_all()


@pytest.fixture
async def rbus(infra: Infra, service: Services) -> AsyncIterator[Bus]:
    bus = await Bus.connect(infra.nats_url, namespace=service.namespace)
    yield bus
    await bus.close()


async def test_gives_up_after_the_last_scheduled_attempt(rbus: Bus, receiver: Receiver) -> None:
    org = new_org()
    path = receiver.new_path(default=Reply(500))
    endpoint = await new_endpoint(rbus, org, receiver.url(path))
    await publish(rbus, "evt.target.published", target_published(org, "tgt_x"))

    async def failed() -> api.Delivery | None:
        found = await deliveries_of(rbus, org, endpoint.id)
        return found[0] if found and found[0].status == "failed" else None

    delivery = await eventually(failed, what="the delivery to fail")
    assert len(delivery.attempts) == MAX_ATTEMPTS and delivery.next_attempt_at is None
    assert len(receiver.received(path)) == MAX_ATTEMPTS
    assert len({r.webhook_id for r in receiver.received(path)}) == 1


async def test_disables_an_endpoint_failing_for_five_days(rbus: Bus, receiver: Receiver, service: Services) -> None:
    org = new_org()
    path = receiver.new_path(default=Reply(503))
    endpoint = await new_endpoint(rbus, org, receiver.url(path))
    ref = api.EndpointRef(org_id=org, mode="live", id=endpoint.id)
    sent = 0

    async def disabled_while_failing() -> api.Endpoint | None:
        nonlocal sent
        got = await call(rbus, api.WEBHOOKS_GET, ref, api.Endpoint)
        if not got.is_active:
            return got
        # Keep it failing: each event's day of retries takes about a second here.
        if all(d.status == "failed" for d in await deliveries_of(rbus, org, endpoint.id)):
            sent += 1
            await publish(rbus, "evt.target.published", target_published(org, f"tgt_d{sent}"))
        return None

    got = await eventually(disabled_while_failing, timeout=30, what="the endpoint to be disabled")
    assert got.disabled_reason and "http_503" in got.disabled_reason
    assert "webhooks.endpoint_disabled" in service.logs()
    assert 3 <= sent < 20

    deliveries_before = len(await deliveries_of(rbus, org, endpoint.id))
    await publish(rbus, "evt.target.published", target_published(org, "tgt_after"))
    events = api.EventList(org_id=org, mode="live", limit=100)
    await eventually(lambda: _has_target(rbus, events, "tgt_after"), what="the event to be stored")
    assert len(await deliveries_of(rbus, org, endpoint.id)) == deliveries_before
    enabled = await call(
        rbus, api.WEBHOOKS_UPDATE, {"org_id": org, "mode": "live", "id": endpoint.id, "is_active": True}, api.Endpoint
    )
    assert enabled.is_active and enabled.disabled_reason is None


async def test_sigkill_mid_batch_loses_nothing(infra: Infra, rbus: Bus, receiver: Receiver, service: Services) -> None:
    org = new_org()
    # Slow enough answers that the kill lands mid-batch (asserted below), no slower.
    paths = [receiver.new_path(default=Reply(delay_s=0.03)) for _ in range(3)]
    for path in paths:
        await new_endpoint(rbus, org, receiver.url(path), ["post.published"])
    events = [target_published(org, f"tgt_k{n}") for n in range(100)]
    for event in events:
        await publish(rbus, "evt.target.published", event)

    def unique() -> int:
        return sum(len({r.webhook_id for r in receiver.received(p)}) for p in paths)

    await eventually(lambda: _at_least(unique, 30), what="some deliveries before the kill")
    service.supervisor.processes["webhooks"].kill()
    assert unique() < 300, "the batch finished before the kill"
    service.supervisor.processes["webhooks"].start()
    await wait_services_ready(infra.nats_url, service.namespace, ["webhooks"], supervisor=service.supervisor)

    await eventually(lambda: _at_least(unique, 300), timeout=40, what="every delivery after the restart")
    for path in paths:
        bodies: dict[str, set[bytes]] = defaultdict(set)
        for r in receiver.received(path):
            bodies[r.webhook_id].add(r.body)
        # A duplicate is only ever a repeat of the same message.
        assert all(len(b) == 1 for b in bodies.values())
        targets = sorted(r.json()["data"]["target_id"] for r in receiver.received(path))
        assert sorted(set(targets)) == sorted(e.target_id for e in events)


async def _at_least(count: object, n: int) -> bool:
    return count() >= n  # type: ignore[operator]


async def _has_target(bus: Bus, request: api.EventList, target_id: str) -> bool:
    page = await call(bus, api.WEBHOOKS_EVENTS, request, api.EventPage)
    return any(e.data.get("target_id") == target_id for e in page.data)
