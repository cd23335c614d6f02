"""Connect's use cases in-process: a migrated database, the real platform providers pointed at the
platform simulator (in a thread of this process), and a browser stand-in that follows redirects."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa

from crier.connect.adapters.providers import Providers
from crier.connect.adapters.vault import Vault
from crier.connect.handlers import apps, flows
from crier.connect.handlers.context import Context
from crier.connect.settings import BLUESKY_APP_PASSWORDS, ConnectSettings
from crier.contracts import connect as api
from crier.kit.crypto import Keyring
from crier.kit.db import create_engine
from crier.kit.uow import UnitOfWork
from crier.platforms.base import PlatformSettings
from tests.support.simulator import Simulator, start_simulator
from tests.support.stack import Infra

PUBLIC_URL = "https://crier.test"
CALLBACK = f"{PUBLIC_URL}/api/v1/connect/callback"
CUSTOMER = "https://customer.test/connected"
KEYS = Keyring.generate_spec()


@pytest.fixture(scope="session")
def connect_db(infra: Infra) -> str:
    from crier.cli.services import migrations_dir
    from crier.kit.migrations import upgrade

    url = infra.create_database()
    upgrade(migrations_dir("connect"), url)
    return url


@pytest.fixture(scope="session")
def simulator() -> Iterator[Simulator]:
    sim = start_simulator()
    yield sim
    sim.stop()


class Clock:
    """Real time plus an offset a test can move forward; or, while `frozen` is set, that instant
    (a test that counts what is due at one moment and then lets a sweep find it)."""

    def __init__(self) -> None:
        self.offset = timedelta()
        self.frozen: datetime | None = None

    def __call__(self) -> datetime:
        return self.frozen if self.frozen is not None else datetime.now(UTC) + self.offset


@dataclass
class Org:
    """One organization (live mode) with the customer redirect allowlisted."""

    id: str
    mode: str = "live"
    apps: dict[str, api.Network] = field(default_factory=dict)

    def scoped(self) -> dict[str, str]:
        return {"org_id": self.id, "mode": self.mode}


@dataclass
class Harness:
    ctx: Context
    sim: Simulator
    clock: Clock
    # The browser: follows the platform's authorization page back to Crier's callback.
    http: httpx.AsyncClient

    async def org(self, mode: str = "live") -> Org:
        org = Org(f"org_{secrets.token_hex(4)}", mode)
        await apps.add_redirect_uri(self.ctx, api.RedirectUriAdd(**org.scoped(), uri=CUSTOMER))
        return org

    async def byok(self, org: Org, platform: str, **sim_app: Any) -> api.Network:
        """The org's own app, registered with the simulated platform too."""
        client_id, secret = f"cid-{secrets.token_hex(4)}", f"secret-{secrets.token_hex(12)}"
        self.sim.add_app(platform, client_id=client_id, client_secret=secret, redirect_uris=[CALLBACK], **sim_app)
        network = await apps.upsert(
            self.ctx,
            api.NetworkUpsert(
                **org.scoped(),
                platform=platform,
                client_id=client_id,
                client_secret=secret,
                display_name=f"{platform} app",
            ),
        )
        org.apps[platform] = network
        return network

    async def start(self, org: Org, platform: str, tenant_id: str | None = "user_1") -> str:
        reply = await flows.auth_url(
            self.ctx, api.AuthUrlRequest(**org.scoped(), platform=platform, redirect_uri=CUSTOMER, tenant_id=tenant_id)
        )
        return reply.auth_url

    async def authorize(self, auth_url: str) -> api.Callback:
        """The browser at the platform's authorization page, redirected back to Crier's callback."""
        resp = await self.http.get(auth_url)
        assert resp.status_code == 302, resp.text
        location = resp.headers["location"]
        assert location.startswith(CALLBACK), location
        query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        return api.Callback(
            state=query.get("state"), code=query.get("code"), error=query.get("error"), iss=query.get("iss")
        )

    async def connect(self, org: Org, platform: str, tenant_id: str | None = "user_1") -> dict[str, str]:
        """A whole flow; the query string the customer's redirect receives."""
        outcome = await flows.callback(self.ctx, await self.authorize(await self.start(org, platform, tenant_id)))
        return landing(outcome)

    async def rows(self, query: str, **params: Any) -> list[Any]:
        async with self.ctx.uow.read() as conn:
            return list((await conn.execute(sa.text(query), params)).all())

    async def outbox(self, subject: str) -> list[bytes]:
        return [bytes(r.payload) for r in await self.rows("SELECT payload FROM outbox WHERE subject = :s", s=subject)]


def landing(outcome: api.Outcome) -> dict[str, str]:
    assert outcome.location and outcome.location.startswith(CUSTOMER), outcome
    return {k: v[0] for k, v in parse_qs(urlsplit(outcome.location).query).items()}


@pytest.fixture
async def harness(connect_db: str, simulator: Simulator) -> AsyncIterator[Harness]:
    clock = Clock()
    settings = ConnectSettings(public_url=PUBLIC_URL, platform_base_url=simulator.base_url, encryption_keys=KEYS)
    engine = create_engine(connect_db, "connect", pool_size=4)
    async with httpx.AsyncClient(timeout=5) as http, httpx.AsyncClient(timeout=5) as browser:
        ctx = Context(
            uow=UnitOfWork(engine, consumer="connect"),
            vault=Vault(Keyring(KEYS)),
            settings=settings,
            providers=Providers(
                http, public_url=PUBLIC_URL, platforms=PlatformSettings(base_url_override=simulator.base_url)
            ),
            clock=clock,
        )
        yield Harness(ctx, simulator, clock, browser)
    await engine.dispose()
    simulator.clear_faults()


def with_settings(harness: Harness, **changes: Any) -> Harness:
    ctx = replace(harness.ctx, settings=replace(harness.ctx.settings, **changes))
    return Harness(ctx, harness.sim, harness.clock, harness.http)


def app_passwords(harness: Harness) -> Harness:
    """An https Crier is a Bluesky OAuth client of its own: this one's operator chose app passwords."""
    return with_settings(harness, managed_bluesky_client_id=BLUESKY_APP_PASSWORDS)
