from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.cli.services import migrations_dir
from crier.kit.bus import Bus
from crier.kit.db import create_engine
from crier.kit.migrations import upgrade
from tests.support.stack import Infra, Services, start_services


@pytest.fixture(scope="module")
def delivery_services(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """The scheduler and a `--platform all` publisher, against a fresh database and namespace."""
    services = start_services(infra, tmp_path_factory.mktemp("publisher"), ["scheduler", "publisher"])
    yield services
    services.supervisor.stop_all()


@pytest.fixture
async def bus(delivery_services: Services) -> AsyncIterator[Bus]:
    async with delivery_services.bus() as bus:
        yield bus


@pytest.fixture
async def db(delivery_services: Services) -> AsyncIterator[AsyncEngine]:
    async with delivery_services.database("publisher") as engine:
        yield engine


@pytest.fixture(scope="module")
def database_url(infra: Infra) -> str:
    """A fresh database with the publisher's schema, for the use case run in-process."""
    url = infra.create_database()
    upgrade(migrations_dir("publisher"), url)
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, "publisher", pool_size=2)
    yield engine
    await engine.dispose()
