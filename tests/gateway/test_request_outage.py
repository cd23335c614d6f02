"""A database outage seen by the HTTP layer, in-process against real PostgreSQL: every request that
needs the database answers 503 in the error shape, and the log says so twice, when the outage
begins and when it ends (with the count), not once per request. A probe or an unknown path that
answers meanwhile does not end it; the first request the database answers again does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from crier.cli.services import migrations_dir
from crier.gateway.entrypoints.http.app import asgi
from crier.gateway.entrypoints.http.state import Gateway
from crier.gateway.handlers.context import Context
from crier.gateway.settings import SCHEMA, GatewaySettings
from crier.kit.db import create_engine
from crier.kit.migrations import upgrade
from crier.kit.uow import UnitOfWork
from tests.support.stack import Infra

KEY = {"Authorization": "Bearer sk_live_" + "a" * 43}


class SwitchedEngine:
    """PostgreSQL, or a refused connection while `down`: what the pool meets when the server is away."""

    def __init__(self, engine: Any) -> None:
        self.engine, self.down = engine, False

    def connect(self) -> AbstractAsyncContextManager[Any]:
        self._check()
        return self.engine.connect()  # type: ignore[no-any-return]

    def begin(self) -> AbstractAsyncContextManager[Any]:
        self._check()
        return self.engine.begin()  # type: ignore[no-any-return]

    def _check(self) -> None:
        if self.down:
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")


@pytest.fixture(scope="module")
def database_url(infra: Infra) -> Iterator[str]:
    url = infra.create_database()
    upgrade(migrations_dir("gateway"), url)
    yield url


@pytest.fixture
async def switched(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, SwitchedEngine]]:
    engine = SwitchedEngine(create_engine(database_url, SCHEMA, pool_size=2))
    ctx = Context(uow=UnitOfWork(engine, consumer="gateway"))  # type: ignore[arg-type]
    gateway = Gateway(settings=GatewaySettings(), bus=None, ctx=ctx)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=asgi(gateway))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        yield client, engine
    await engine.engine.dispose()


def _outage_lines(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in logs if "outage" in e["event"] and e["log_level"] != "debug"]


async def test_an_outage_is_two_lines_and_every_request_meanwhile_a_503(
    switched: tuple[httpx.AsyncClient, SwitchedEngine],
) -> None:
    client, engine = switched
    with capture_logs() as logs:
        engine.down = True
        failed = [await client.get("/api/v1/posts", headers={**KEY, "X-Request-Id": f"away-{n}"}) for n in range(5)] + [
            await client.post("/api/v1/posts", headers=KEY, json={"content": "hi", "accounts": []})
        ]
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/no/such/path")).status_code == 404
        during = _outage_lines(logs)
        engine.down = False
        back = await client.get("/api/v1/posts", headers=KEY)

    assert [r.status_code for r in failed] == [503] * 6
    assert failed[0].headers["Retry-After"] == "2"
    assert failed[0].json() == {
        "error": {
            "code": "service_unavailable",
            "message": "a service this request needs is unavailable; retry shortly",
            "details": {},
            "request_id": "away-0",
        }
    }
    # An unknown key is refused by the database, which has answered: the outage is over.
    assert back.status_code == 401
    began, ended = _outage_lines(logs)
    assert during == [began], "the probe and the unknown path answered, but the database was still away"
    assert began["event"] == "http.outage_began" and began["log_level"] == "warning"
    assert began["error"] == "ConnectionRefusedError" and began["route"] == "/api/v1/posts"
    assert ended["event"] == "http.outage_ended" and ended["failures"] == 6


async def test_no_outage_no_line(switched: tuple[httpx.AsyncClient, SwitchedEngine]) -> None:
    client, _ = switched
    with capture_logs() as logs:
        assert (await client.get("/api/v1/posts", headers=KEY)).status_code == 401
    assert _outage_lines(logs) == []
