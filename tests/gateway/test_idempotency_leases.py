"""An Idempotency-Key is held by a lease: a request that died lets its key go once the lease runs
out, a request that runs long keeps renewing it, and of the retries racing for an expired key
exactly one takes it over. A gateway of its own with a two-second lease, on real PostgreSQL."""

from __future__ import annotations

import asyncio
import http.server
import json
import math
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.gateway.adapters import idempotency
from crier.gateway.adapters.tables import idempotency_keys as keys
from crier.gateway.entrypoints.http.posts import request_hash
from crier.gateway.settings import SCHEMA
from crier.kit.db import create_engine
from tests.gateway.conftest import BusDriver, Gateway, Org, start_gateway
from tests.support import media_files
from tests.support.bus import eventually
from tests.support.stack import Infra

# Short, so the tests wait little, yet renewed (every third) with a second of slack on a busy machine.
LEASE = timedelta(seconds=2)


@pytest.fixture(scope="module")
def leased(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    services, api_url = start_gateway(
        infra,
        tmp_path_factory.mktemp("idempotency-leases"),
        env={
            "CRIER_IDEMPOTENCY_LEASE_S": str(LEASE.total_seconds()),
            "CRIER_MEDIA_FETCH_ALLOWED_NETWORKS": "127.0.0.1/32",
        },
    )
    driver = BusDriver(infra.nats_url, services.namespace)
    driver.serve_fake_connect()
    yield Gateway(services, api_url, driver)
    driver.close()
    services.supervisor.stop_all()


@pytest.fixture(scope="module")
async def db(leased: Gateway) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(leased.database_url, SCHEMA, pool_size=10)
    yield engine
    await engine.dispose()


class SlowImage:
    """A loopback server whose one image is sent only once the test says so: a request that
    fetches it runs as long as the test needs."""

    def __init__(self) -> None:
        self.asked, self.release = threading.Event(), threading.Event()
        asked, release, image = self.asked, self.release, media_files.png()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                asked.set()
                release.wait(60)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(image)))
                self.end_headers()
                self.wfile.write(image)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slow.png"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow_image() -> Iterator[SlowImage]:
    served = SlowImage()
    yield served
    served.close()


def new_org(gw: Gateway) -> Org:
    org = gw.new_org("leases")
    org.accounts["x"] = gw.sandbox_account(org, "x")["id"]
    return org


def client(gw: Gateway, org: Org) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"{gw.api_url}/api/v1",
        headers={"Authorization": f"Bearer {org.test_key}"},
        timeout=30,
        limits=httpx.Limits(max_connections=10),
    )


async def lease_of(db: AsyncEngine, org_id: str, key: str) -> Any:
    """The key's row as stored, with the database's own clock."""
    async with db.connect() as conn:
        query = sa.select(keys, sa.func.now().label("db_now")).where(keys.c.org_id == org_id, keys.c.key == key)
        return (await conn.execute(query)).one_or_none()


async def expired(db: AsyncEngine, org_id: str, key: str) -> bool:
    row = await lease_of(db, org_id, key)
    return row is not None and row.lease_expires_at < row.db_now


async def test_a_key_whose_request_died_is_taken_over_once_its_lease_runs_out(leased: Gateway, db: AsyncEngine) -> None:
    org = new_org(leased)
    body = {"content": "after a crash", "accounts": [org.accounts["x"]]}
    key = f"k-{uuid.uuid4()}"
    # The request that died: it claimed the key as a gateway with this lease does, then never
    # renewed, finished or released it (its process was killed).
    async with db.begin() as conn:
        dead = await idempotency.claim(conn, org.id, "test", key, request_hash(json.dumps(body).encode()), LEASE)
    assert dead.won
    await eventually(lambda: expired(db, org.id, key), timeout=10, what="the dead request's lease to run out")
    async with client(leased, org) as c:
        answers = await asyncio.gather(
            *(c.post("/posts", json=body, headers={"Idempotency-Key": key}) for _ in range(8))
        )
        statuses = sorted(r.status_code for r in answers)
        # One retry takes the key over and makes the post; the others wait for it or replay it.
        assert statuses.count(201) == 1 and set(statuses) <= {200, 201, 409}, statuses
        made = {r.json()["id"] for r in answers if r.status_code in (200, 201)}
        assert len(made) == 1
        assert [p["id"] for p in (await c.get("/posts")).json()["data"]] == list(made)
        again = await c.post("/posts", json=body, headers={"Idempotency-Key": key})
        assert again.status_code == 200 and again.json()["id"] in made


async def test_a_request_that_runs_past_its_lease_keeps_its_key(
    leased: Gateway, db: AsyncEngine, slow_image: SlowImage
) -> None:
    org = new_org(leased)
    body = {
        "containers": [{"content": "slow media", "media": [{"url": slow_image.url}]}],
        "accounts": [org.accounts["x"]],
    }
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    async with client(leased, org) as c:
        first = asyncio.create_task(c.post("/posts", json=body, headers=key))
        await eventually(lambda: asyncio.to_thread(slow_image.asked.is_set), what="the gateway to fetch the image")
        claimed = await lease_of(db, org.id, key["Idempotency-Key"])
        # Two whole leases past the first one's end, the request is still fetching.
        await eventually(
            lambda: _past(db, org.id, key["Idempotency-Key"], claimed.lease_expires_at + 2 * LEASE),
            timeout=15,
            what="two leases to pass",
        )
        retry = await c.post("/posts", json=body, headers=key)
        held = await lease_of(db, org.id, key["Idempotency-Key"])
        assert held.holder == claimed.holder and held.lease_expires_at > claimed.lease_expires_at + LEASE
        assert retry.status_code == 409 and retry.json()["error"]["code"] == "idempotency_in_progress", retry.text
        assert 1 <= int(retry.headers["retry-after"]) <= math.ceil(LEASE.total_seconds())
        details = retry.json()["error"]["details"]
        assert details["retry_after_s"] == int(retry.headers["retry-after"])
        assert datetime.fromisoformat(details["lease_expires_at"]) > claimed.lease_expires_at + LEASE
        assert details["lease_expires_at"] in retry.json()["error"]["message"]
        assert details["lease_expires_at"].endswith("+00:00")
        assert not first.done()
        slow_image.release.set()
        made = await first
        assert made.status_code == 201, made.text
        replayed = await c.post("/posts", json=body, headers=key)
        assert replayed.status_code == 200 and replayed.json()["id"] == made.json()["id"]
        assert len((await c.get("/posts")).json()["data"]) == 1


async def _past(db: AsyncEngine, org_id: str, key: str, when: datetime) -> bool:
    row = await lease_of(db, org_id, key)
    return bool(row.db_now > when)


async def test_of_the_retries_racing_for_an_expired_key_exactly_one_wins(db: AsyncEngine) -> None:
    org_id, key = f"org-{uuid.uuid4()}", "raced"
    async with db.begin() as conn:
        stalled = await idempotency.claim(conn, org_id, "test", key, "h", timedelta(milliseconds=100))
    await eventually(lambda: expired(db, org_id, key), what="the stalled claim's lease to run out")

    async def retry() -> idempotency.Claim:
        async with db.begin() as conn:
            return await idempotency.claim(conn, org_id, "test", key, "h", timedelta(seconds=30))

    claims = await asyncio.gather(*(retry() for _ in range(8)))
    winners = [c for c in claims if c.won]
    assert len(winners) == 1, claims
    assert {c.hold.holder for c in claims} == {winners[0].hold.holder}
    # The stalled request wakes up: it can neither finish nor release the key its successor holds.
    with pytest.raises(idempotency.LeaseLost):
        async with db.begin() as conn:
            await idempotency.finish(conn, stalled.hold, "post-of-the-stalled-request")
    async with db.begin() as conn:
        await idempotency.release(conn, stalled.hold)
        assert not await idempotency.renew(conn, stalled.hold, LEASE)
    row = await lease_of(db, org_id, key)
    assert (row.holder, row.status, row.post_id) == (winners[0].hold.holder, idempotency.IN_PROGRESS, None)
