"""Integration fixtures: the gateway as its own process on real PostgreSQL and NATS, plus a stand-in
for the connect service (answering its RPC) and a way to publish the events other services emit."""

from __future__ import annotations

import asyncio
import secrets
import threading
import uuid
from collections.abc import Awaitable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import msgspec
import pytest

from crier.contracts import events as contract
from crier.contracts.connect import SANDBOX_ACCOUNTS_CREATE, CreateSandboxAccount, SocialAccount
from crier.kit.bus import Bus, rpc
from crier.kit.embedded import free_port
from crier.kit.errors import Failure
from tests.support.stack import Infra, Services, start_services, wait_for

T = TypeVar("T")


class BusDriver:
    """An event loop on a thread, so synchronous tests can talk NATS."""

    def __init__(self, nats_url: str, namespace: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.bus: Bus = self.run(self._connect(nats_url, namespace))
        self.sandbox_failure: Failure | None = None
        self.announced: list[tuple[str, Any]] = []
        self.subscriptions: list[Any] = [self.run(self._listen("evt.post.>"))]

    async def _listen(self, subject: str) -> Any:
        async def collect(msg: Any) -> None:
            name = self.bus.unprefix(msg.subject)
            self.announced.append((name, msgspec.json.decode(msg.data, type=contract.EVENT_SUBJECTS[name])))

        return await self.bus.js.subscribe(self.bus.subject(subject), cb=collect, ordered_consumer=True)

    def announcements(self, post_id: str, subject: str) -> list[Any]:
        """What the gateway has announced about one post on `subject`, in stream order."""
        return [m for name, m in list(self.announced) if name == subject and m.post_id == post_id]

    async def _connect(self, url: str, namespace: str) -> Bus:
        bus = await Bus.connect(url, namespace=namespace, name="gateway-tests")
        await bus.ensure_streams()
        return bus

    def run(self, coro: Awaitable[T], timeout: float = 20) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]
        return future.result(timeout)

    def publish(self, message: contract.Message, *, msg_id: str | None = None) -> None:
        """`msg_id` other than the event id slips a duplicate past JetStream's own dedupe window,
        as a redelivery after the window would."""
        subject = contract.SUBJECT_OF[type(message)]
        self.run(
            self.bus.js.publish(
                self.bus.subject(subject), msgspec.json.encode(message), headers={"Nats-Msg-Id": msg_id or message.id}
            )
        )

    def serve_fake_connect(self) -> Any:
        async def create(request: CreateSandboxAccount | None) -> SocialAccount:
            assert request is not None
            if self.sandbox_failure is not None:
                raise self.sandbox_failure
            now = datetime.now(UTC)
            return SocialAccount(
                id=str(uuid.uuid4()),
                org_id=request.org_id,
                mode=request.mode,
                platform=request.platform,
                username=request.username,
                display_name=request.username.title(),
                network_unique_id=f"sbx-{secrets.token_hex(4)}",
                tenant_id=request.tenant_id,
                account_type="account",
                status="active",
                sandbox=True,
                created_at=now,
                updated_at=now,
            )

        return self.run(
            rpc.serve(self.bus, SANDBOX_ACCOUNTS_CREATE, CreateSandboxAccount, create, queue="fake-connect")
        )

    def close(self) -> None:
        async def shutdown() -> None:
            for sub in self.subscriptions:
                await sub.unsubscribe()
            await self.bus.close()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        self.run(shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@dataclass
class Org:
    gateway: Gateway
    id: str
    live_key: str
    test_key: str
    accounts: dict[str, str] = field(default_factory=dict)

    def live(self) -> httpx.Client:
        return self.gateway.client(self.live_key)

    def test(self) -> httpx.Client:
        return self.gateway.client(self.test_key)


@dataclass
class Gateway:
    services: Services
    api_url: str
    driver: BusDriver

    @property
    def database_url(self) -> str:
        return self.services.database_url

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=f"{self.api_url}/api/v1", headers=headers, timeout=15)

    def new_org(self, name: str = "acme") -> Org:
        from crier.gateway.entrypoints import admin

        org = admin.create_org(self.database_url, f"{name}-{secrets.token_hex(3)}")
        live = admin.create_api_key(self.database_url, org=org["id"], name="live", mode="live", scopes=None)
        test = admin.create_api_key(self.database_url, org=org["id"], name="test", mode="test", scopes=None)
        return Org(self, org["id"], live["key"], test["key"])

    def sandbox_account(
        self, org: Org, platform: str = "x", username: str | None = None, tenant_id: str | None = "tenant-1"
    ) -> dict[str, Any]:
        with org.test() as c:
            r = c.post(
                "/sandbox/social-accounts",
                json={
                    "platform": platform,
                    "username": username or f"user{secrets.token_hex(3)}",
                    "tenant_id": tenant_id,
                },
            )
        assert r.status_code == 201, r.text
        return r.json()

    def live_account(
        self, org: Org, platform: str = "linkedin", tenant_id: str | None = "tenant-1", **facts: Any
    ) -> str:
        """A live account arrives the way connect announces one: an account.connected event
        (`facts`: more of its fields, e.g. `account_type`, `limits`)."""
        account_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        self.driver.publish(
            contract.AccountConnected(
                id=str(uuid.uuid4()),
                occurred_at=now,
                org_id=org.id,
                mode="live",
                account_id=account_id,
                platform=platform,
                username=f"live{secrets.token_hex(3)}",
                network_unique_id=secrets.token_hex(6),
                tenant_id=tenant_id,
                updated_at=now,
                **facts,
            )
        )
        with org.live() as c:
            wait_for(lambda: c.get(f"/social-accounts/{account_id}").status_code == 200, what="live account")
        return account_id

    def logs(self) -> str:
        return self.services.logs()

    def full_log(self) -> str:
        return (self.services.log_dir / "gateway.log").read_text(errors="replace")


def start_gateway(
    infra: Infra, tmp: Path, extra: list[str] | None = None, env: dict[str, str] | None = None
) -> tuple[Services, str]:
    port = free_port()
    api_url = f"http://127.0.0.1:{port}"
    services = start_services(
        infra,
        tmp,
        ["gateway", *(extra or [])],
        extra_env={
            "CRIER_GATEWAY_PORT": str(port),
            "CRIER_PUBLIC_URL": api_url,
            "CRIER_REQUIRED_SERVICES": ",".join(extra or []),
            **(env or {}),
        },
    )
    try:
        wait_for(lambda: _ready(api_url), timeout=30, what="gateway /readyz")
    except AssertionError:
        services.supervisor.stop_all()
        raise RuntimeError(f"gateway did not become ready:\n{services.logs()}") from None
    return services, api_url


def _ready(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="session")
def gateway(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    services, api_url = start_gateway(infra, tmp_path_factory.mktemp("gateway"))
    driver = BusDriver(infra.nats_url, services.namespace)
    driver.serve_fake_connect()
    yield Gateway(services, api_url, driver)
    driver.close()
    services.supervisor.stop_all()


@pytest.fixture
def org(gateway: Gateway) -> Org:
    return gateway.new_org()


@pytest.fixture
def sandbox(gateway: Gateway, org: Org) -> Org:
    """An org with two sandbox accounts (x, linkedin) for its test key."""
    org.accounts["x"] = gateway.sandbox_account(org, "x")["id"]
    org.accounts["linkedin"] = gateway.sandbox_account(org, "linkedin", tenant_id="tenant-2")["id"]
    return org
