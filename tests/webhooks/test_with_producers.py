"""Against a real producer: the connect service's outbox announces an account, and the webhook
for it arrives signed, exactly as the events contract defines it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from standardwebhooks.webhooks import Webhook

from crier.contracts.connect import SANDBOX_ACCOUNTS_CREATE, CreateSandboxAccount, SocialAccount
from crier.kit.bus import Bus
from tests.support.stack import Infra, Services, start_services
from tests.webhooks.conftest import SERVICE_ENV
from tests.webhooks.support import Receiver, call, eventually, new_endpoint, new_org


@pytest.fixture(scope="module")
def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    services = start_services(infra, tmp_path_factory.mktemp("webhooks-connect"), ["connect", "webhooks"], SERVICE_ENV)
    yield services
    services.supervisor.stop_all()


@pytest.fixture
async def pbus(infra: Infra, stack: Services) -> AsyncIterator[Bus]:
    bus = await Bus.connect(infra.nats_url, namespace=stack.namespace)
    yield bus
    await bus.close()


async def test_account_connected_reaches_the_endpoint(pbus: Bus, receiver: Receiver) -> None:
    org = new_org()
    path = receiver.new_path()
    endpoint = await new_endpoint(pbus, org, receiver.url(path), ["account.connected"], mode="test")
    request = CreateSandboxAccount(org_id=org, mode="test", platform="bluesky", username="dora", tenant_id="u_7")
    account = await call(pbus, SANDBOX_ACCOUNTS_CREATE, request, SocialAccount)

    async def arrived() -> list | None:
        return receiver.received(path) or None

    [delivery] = await eventually(arrived, what="the account.connected webhook")
    payload = Webhook(endpoint.signing_secret).verify(delivery.body, delivery.headers)
    assert payload["type"] == "account.connected"
    assert payload["data"]["account_id"] == account.id and payload["data"]["tenant_id"] == "u_7"
    assert payload["data"]["sandbox"] is True and payload["data"]["username"] == "dora"
