"""One webhooks service shared by the API and delivery tests (each test uses its own
organization), and a loopback receiver for its deliveries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from crier.kit.bus import Bus
from tests.support.stack import Infra, Services, start_services
from tests.webhooks.support import Receiver

# Loopback is exempt from the SSRF guard only here; plain http is allowed for the same reason.
SERVICE_ENV = {
    "CRIER_WEBHOOKS_ALLOWED_NETWORKS": "127.0.0.1/32",
    "CRIER_WEBHOOKS_ALLOW_HTTP": "1",
    "CRIER_WEBHOOKS_RETRY_SCALE": "0.001",
    "CRIER_WEBHOOKS_TIMEOUT_S": "1",
    # An intake message that cannot be handled is dead-lettered after this many tries.
    "CRIER_CONSUMER_MAX_FAILURES": "3",
}


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def webhooks_service(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    services = start_services(infra, tmp_path_factory.mktemp("webhooks"), ["webhooks"], SERVICE_ENV)
    yield services
    services.supervisor.stop_all()


@pytest.fixture
async def bus(infra: Infra, webhooks_service: Services) -> AsyncIterator[Bus]:
    bus = await Bus.connect(infra.nats_url, namespace=webhooks_service.namespace)
    yield bus
    await bus.close()
