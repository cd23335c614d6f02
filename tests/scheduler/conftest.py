from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.kit.bus import Bus
from tests.support.stack import Infra, Services, start_services


@pytest.fixture(scope="module")
def scheduler_service(
    request: pytest.FixtureRequest, infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Services]:
    """One scheduler per test module, with the module's `SCHEDULER_ENV` if it sets one."""
    env = getattr(request.module, "SCHEDULER_ENV", None)
    services = start_services(infra, tmp_path_factory.mktemp("scheduler"), ["scheduler"], env)
    yield services
    services.supervisor.stop_all()


@pytest.fixture
async def bus(scheduler_service: Services) -> AsyncIterator[Bus]:
    async with scheduler_service.bus() as bus:
        yield bus


@pytest.fixture
async def db(scheduler_service: Services) -> AsyncIterator[AsyncEngine]:
    async with scheduler_service.database("scheduler") as engine:
        yield engine
