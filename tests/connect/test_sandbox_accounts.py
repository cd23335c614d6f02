"""The connect service answers sandbox-account requests and announces each account on the bus."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import msgspec
import pytest

from crier.contracts.connect import SANDBOX_ACCOUNTS_CREATE, CreateSandboxAccount, SocialAccount
from crier.contracts.events import AccountConnected
from crier.kit.bus import Bus, rpc
from tests.support.stack import Infra, Services, start_services


@pytest.fixture(scope="module")
def connect(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    services = start_services(infra, tmp_path_factory.mktemp("connect"), ["connect"])
    yield services
    services.supervisor.stop_all()


@pytest.fixture
async def bus(infra: Infra, connect: Services) -> AsyncIterator[Bus]:
    bus = await Bus.connect(infra.nats_url, namespace=connect.namespace)
    yield bus
    await bus.close()


def _request(**kw: object) -> CreateSandboxAccount:
    base = {"org_id": "org_1", "mode": "test", "platform": "x", "username": "alice", "tenant_id": "user_42"}
    return CreateSandboxAccount(**{**base, **kw})  # type: ignore[arg-type]


async def test_creates_account_and_emits_connected_event(bus: Bus) -> None:
    sub = await bus.js.subscribe(bus.subject("evt.account.connected"), ordered_consumer=True)
    account = await rpc.call(bus, SANDBOX_ACCOUNTS_CREATE, _request(username="carol"), SocialAccount)
    assert account.platform == "x" and account.username == "carol" and account.status == "active"
    assert account.sandbox and account.tenant_id == "user_42" and account.mode == "test"
    while True:
        msg = await sub.next_msg(timeout=10)
        event = msgspec.json.decode(msg.data, type=AccountConnected)
        if event.account_id == account.id:
            break
    assert event.username == "carol" and event.org_id == "org_1"
    assert msg.headers and msg.headers.get("Nats-Msg-Id") == event.id


async def test_same_account_twice_is_the_same_account(bus: Bus) -> None:
    first = await rpc.call(bus, SANDBOX_ACCOUNTS_CREATE, _request(username="dave"), SocialAccount)
    again = await rpc.call(bus, SANDBOX_ACCOUNTS_CREATE, _request(username="dave"), SocialAccount)
    other_org = await rpc.call(bus, SANDBOX_ACCOUNTS_CREATE, _request(username="dave", org_id="org_2"), SocialAccount)
    assert first.id == again.id
    assert other_org.id != first.id


@pytest.mark.parametrize(
    ("overrides", "kind", "code"),
    [
        ({"mode": "live"}, "forbidden", "test_mode_only"),
        ({"platform": "myspace"}, "invalid", "validation_error"),
        ({"username": ""}, "invalid", "validation_error"),
        ({"username": "x" * 65}, "invalid", "validation_error"),
    ],
)
async def test_rejects_bad_requests(bus: Bus, overrides: dict, kind: str, code: str) -> None:
    with pytest.raises(rpc.RpcFailure) as failure:
        await rpc.call(bus, SANDBOX_ACCOUNTS_CREATE, _request(**overrides), SocialAccount)
    assert failure.value.error.kind == kind
    assert failure.value.error.code == code


async def test_every_problem_is_named_by_its_field(bus: Bus) -> None:
    with pytest.raises(rpc.RpcFailure) as failure:
        await rpc.call(
            bus, SANDBOX_ACCOUNTS_CREATE, _request(platform="myspace", username="", tenant_id=""), SocialAccount
        )
    fields = failure.value.error.details["fields"]
    assert [f["field"] for f in fields] == ["platform", "username", "tenant_id"]
    assert fields[0]["code"] == "unknown_platform"
