"""The metrics the webhooks, scheduler and connect services record, scraped from each process's
own CRIER_METRICS_PORT after real work arrived over the bus: webhook attempts by outcome and the
endpoints disabled, the scheduler's lateness and the posts still waiting, token refreshes by
platform, and every service's outbox backlog and consumer lag. And the gateway's media bytes
stored, after an upload over its HTTP API."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from crier.cli.services import migrations_dir
from crier.contracts import connect as connect_api
from crier.contracts import webhooks as webhooks_api
from crier.contracts.common import Container
from crier.contracts.events import PostCreated, TargetSpec
from crier.kit.bus import Bus, rpc
from crier.kit.embedded import free_port
from crier.kit.migrations import upgrade
from tests.gateway.conftest import Gateway
from tests.gateway.test_media_api import new_media_org, start_media_gateway, stop_media_gateway, upload
from tests.support import media_files
from tests.support.bus import eventually, publish
from tests.support.simulator import Simulator, start_simulator
from tests.support.stack import Infra, Services, start_services, wait_services_ready
from tests.webhooks.support import Receiver, Reply, call, deliveries_of, new_endpoint, new_org, target_published

PUBLIC_URL = "https://crier.test"
CALLBACK = f"{PUBLIC_URL}/api/v1/connect/callback"
CUSTOMER = "https://customer.test/connected"
# Per process, beside its own metrics port.
ENV = {
    # A day of webhook retries in about a second, the five-day disable window in about four.
    "webhooks": {"CRIER_WEBHOOKS_RETRY_SCALE": "0.00001", "CRIER_WEBHOOKS_TIMEOUT_S": "1"},
    "scheduler": {},
    "connect": {"CRIER_PUBLIC_URL": PUBLIC_URL, "CRIER_REFRESH_INTERVAL_S": "0.2"},
}


@dataclass
class Running:
    services: Services
    ports: dict[str, int]
    sim: Simulator
    receiver: Receiver


@pytest.fixture(scope="module")
def running(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    sim, receiver = start_simulator(), Receiver()
    services = start_services(infra, tmp_path_factory.mktemp("metrics"), [], {"CRIER_PLATFORM_BASE_URL": sim.base_url})
    ports = {name: free_port() for name in ENV}
    for name, extra in ENV.items():
        upgrade(migrations_dir(name), services.database_url)
        services.supervisor.add(name, [name], {**extra, "CRIER_METRICS_PORT": str(ports[name])}).start()
    try:
        asyncio.run(wait_services_ready(infra.nats_url, services.namespace, list(ENV), supervisor=services.supervisor))
        yield Running(services, ports, sim, receiver)
    finally:
        services.supervisor.stop_all()
        receiver.close()
        sim.stop()


async def scraped(port: int, name: str, **labels: str) -> float | None:
    """One sample of a process's /metrics, None while it is not there."""
    async with httpx.AsyncClient(timeout=5) as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None


async def settles_at(port: int, name: str, value: float, **labels: str) -> None:
    async def reached() -> bool:
        return await scraped(port, name, **labels) == value

    await eventually(reached, timeout=20, what=f"{name}{labels} == {value}")


async def test_webhook_attempts_by_outcome(running: Running) -> None:
    """The first test of the module: the webhooks process has recorded nothing before it."""
    port, receiver = running.ports["webhooks"], running.receiver
    async with running.services.bus() as bus:
        # One org each, so each event is delivered to its own endpoint only.
        flaky, refusing = new_org(), new_org()
        await new_endpoint(bus, flaky, receiver.url(receiver.new_path(Reply(503))))
        await new_endpoint(bus, refusing, receiver.url(receiver.new_path(default=Reply(410))))
        await publish(bus, "evt.target.published", target_published(flaky, "tgt_flaky"))
        await publish(bus, "evt.target.published", target_published(refusing, "tgt_refused"))

        await settles_at(port, "crier_webhook_deliveries_total", 1.0, outcome="delivered")
        await settles_at(port, "crier_webhook_deliveries_total", 1.0, outcome="gave_up")
    assert await scraped(port, "crier_webhook_deliveries_total", outcome="failed") == 1.0
    for outcome in ("delivered", "failed", "gave_up"):
        assert await scraped(port, "crier_webhook_delivery_duration_seconds_count", outcome=outcome) == 1.0
    await settles_at(port, "crier_consumer_pending_messages", 0.0, stream="EVENTS", consumer="webhooks")
    await settles_at(port, "crier_outbox_backlog_messages", 0.0)


async def test_endpoints_the_dispatcher_disabled(running: Running) -> None:
    port, receiver = running.ports["webhooks"], running.receiver
    async with running.services.bus() as bus:
        # Turned off by its owner: not the dispatcher's doing, so not counted.
        owner = new_org()
        kept_off = await new_endpoint(bus, owner, receiver.url(receiver.new_path()))
        off = {"org_id": owner, "mode": "live", "id": kept_off.id, "is_active": False}
        await call(bus, webhooks_api.WEBHOOKS_UPDATE, off, webhooks_api.Endpoint)
        assert await scraped(port, "crier_webhook_endpoints_disabled") == 0.0

        org = new_org()
        failing = await new_endpoint(bus, org, receiver.url(receiver.new_path(default=Reply(503))))
        ref = webhooks_api.EndpointRef(org_id=org, mode="live", id=failing.id)
        sent = 0

        async def disabled() -> bool:
            nonlocal sent
            if not (await call(bus, webhooks_api.WEBHOOKS_GET, ref, webhooks_api.Endpoint)).is_active:
                return True
            # Keep it failing: each event's day of retries takes about a second here.
            if all(d.status == "failed" for d in await deliveries_of(bus, org, failing.id)):
                sent += 1
                await publish(bus, "evt.target.published", target_published(org, f"tgt_d{sent}"))
            return False

        await eventually(disabled, timeout=30, what="the dispatcher to disable the failing endpoint")
    assert await scraped(port, "crier_webhook_endpoints_disabled") == 1.0


def _post(*, at: datetime, targets: int = 1) -> PostCreated:
    post_id = f"post_{secrets.token_hex(6)}"
    return PostCreated(
        id=secrets.token_hex(8),
        occurred_at=datetime.now(UTC),
        org_id="org_1",
        mode="test",
        post_id=post_id,
        containers=[Container(content="hello")],
        targets=[
            TargetSpec(target_id=f"{post_id}_t{i}", account_id=f"acc_{i}", platform="x", account_username=f"u{i}")
            for i in range(targets)
        ],
        scheduled_at=at,
    )


async def test_scheduler_lateness_and_the_posts_still_waiting(running: Running) -> None:
    port = running.ports["scheduler"]
    assert await scraped(port, "crier_scheduler_lateness_seconds_count") == 0.0
    async with running.services.bus() as bus:
        # Two targets of one post an hour away: one post waiting, not two.
        await publish(bus, "evt.post.created", _post(at=datetime.now(UTC) + timedelta(hours=1), targets=2))
        await publish(bus, "evt.post.created", _post(at=datetime.now(UTC) + timedelta(seconds=0.5)))
        await settles_at(port, "crier_scheduler_lateness_seconds_count", 1.0)
        await settles_at(port, "crier_scheduler_pending_timers", 1.0)
    await settles_at(port, "crier_consumer_pending_messages", 0.0, stream="EVENTS", consumer="scheduler")
    # The fired commands left the outbox.
    await settles_at(port, "crier_outbox_backlog_messages", 0.0)


async def _connected_account(running: Running, bus: Bus, platform: str) -> str:
    """An account connected through connect's RPC API, the simulated platform's authorization page
    played by a plain HTTP client."""
    org = {"org_id": f"org_{secrets.token_hex(4)}", "mode": "live"}
    client_id, secret = f"cid-{secrets.token_hex(4)}", f"secret-{secrets.token_hex(12)}"
    running.sim.add_app(platform, client_id=client_id, client_secret=secret, redirect_uris=[CALLBACK])
    running.sim.add_user(platform)
    await rpc.call(
        bus,
        connect_api.REDIRECT_URIS_ADD,
        connect_api.RedirectUriAdd(**org, uri=CUSTOMER),
        connect_api.RedirectUri,
        timeout=10,
    )
    upsert = connect_api.NetworkUpsert(**org, platform=platform, client_id=client_id, client_secret=secret)
    await rpc.call(bus, connect_api.NETWORKS_UPSERT, upsert, connect_api.Network, timeout=10)
    start = connect_api.AuthUrlRequest(**org, platform=platform, redirect_uri=CUSTOMER, tenant_id="user_1")
    auth = await rpc.call(bus, connect_api.FLOWS_AUTH_URL, start, connect_api.AuthUrl, timeout=10)
    async with httpx.AsyncClient(timeout=10) as browser:
        back = await browser.get(auth.auth_url)
    assert back.status_code == 302 and back.headers["location"].startswith(CALLBACK), back.text
    query = {k: v[0] for k, v in parse_qs(urlsplit(back.headers["location"]).query).items()}
    callback = connect_api.Callback(state=query.get("state"), code=query.get("code"))
    outcome = await rpc.call(bus, connect_api.FLOWS_CALLBACK, callback, connect_api.Outcome, timeout=10)
    [account] = outcome.accounts
    return account.id


async def test_a_token_refresh_is_counted_by_platform(running: Running) -> None:
    port = running.ports["connect"]
    async with running.services.bus() as bus:
        account_id = await _connected_account(running, bus, "youtube")
    assert await scraped(port, "crier_token_refreshes_total", platform="youtube", outcome="refreshed") is None
    async with running.services.database("connect") as db, db.begin() as conn:
        # Due for renewal: the background refresher takes it at its next sweep.
        await conn.execute(
            sa.text("UPDATE social_accounts SET token_expires_at = now() + interval '2 minutes' WHERE id = :i"),
            {"i": account_id},
        )
    await settles_at(port, "crier_token_refreshes_total", 1.0, platform="youtube", outcome="refreshed")
    assert await scraped(port, "crier_token_refreshes_total", platform="youtube", outcome="failed") is None


@pytest.fixture(scope="module")
def media_gateway(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, int]]:
    port = free_port()
    gw = start_media_gateway(infra, tmp_path_factory.mktemp("metrics-media"), {"CRIER_METRICS_PORT": str(port)})
    yield gw, port
    stop_media_gateway(gw)


async def test_media_bytes_stored(media_gateway: tuple[Gateway, int]) -> None:
    gw, port = media_gateway
    assert await scraped(port, "crier_media_stored_bytes_total") == 0.0
    with new_media_org(gw).test() as client:
        stored = [upload(client, media_files.png(64 + n, 48), f"{n}.png", "image/png") for n in range(2)]
    assert [r.status_code for r in stored] == [201, 201], stored[0].text
    # What the store holds, after cleaning: the media objects' own sizes.
    assert await scraped(port, "crier_media_stored_bytes_total") == float(sum(r.json()["bytes"] for r in stored))
