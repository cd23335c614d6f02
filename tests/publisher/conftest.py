from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.kit.bus import Bus
from crier.kit.db import create_engine
from tests.support.stack import Infra, Services, start_services


@pytest.fixture(scope="module")
def delivery_services(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """The scheduler and a `--platform all` publisher, against a fresh database and namespace."""
    services = start_services(infra, tmp_path_factory.mktemp("publisher"), ["scheduler", "publisher"])
    yield services
    services.supervisor.stop_all()


@pytest.fixture
async def bus(infra: Infra, delivery_services: Services) -> AsyncIterator[Bus]:
    bus = await Bus.connect(infra.nats_url, namespace=delivery_services.namespace)
    await bus.ensure_streams()
    yield bus
    await bus.close()


@pytest.fixture
async def db(delivery_services: Services) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(delivery_services.database_url, "publisher", pool_size=2)
    yield engine
    await engine.dispose()
