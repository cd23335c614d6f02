from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.kit.bus import Bus
from crier.kit.db import create_engine
from tests.support.stack import Infra, Services, start_services


@pytest.fixture(scope="module")
def scheduler_service(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    services = start_services(infra, tmp_path_factory.mktemp("scheduler"), ["scheduler"])
    yield services
    services.supervisor.stop_all()


@pytest.fixture
async def bus(infra: Infra, scheduler_service: Services) -> AsyncIterator[Bus]:
    bus = await Bus.connect(infra.nats_url, namespace=scheduler_service.namespace)
    await bus.ensure_streams()
    yield bus
    await bus.close()


@pytest.fixture
async def db(scheduler_service: Services) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(scheduler_service.database_url, "scheduler", pool_size=2)
    yield engine
    await engine.dispose()
