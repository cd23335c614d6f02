"""The HTTP layer in-process: an unexpected failure is a 500 in the error shape, with no internals."""

from __future__ import annotations

from typing import Any

import httpx

from crier.gateway.entrypoints.http.app import asgi
from crier.gateway.entrypoints.http.state import Gateway
from crier.gateway.handlers.context import Context
from crier.gateway.settings import GatewaySettings
from crier.kit.uow import UnitOfWork


class BrokenEngine:
    def connect(self) -> Any:
        raise RuntimeError("database exploded: password=hunter2 at /srv/secret.py line 12")


def client() -> httpx.AsyncClient:
    ctx = Context(uow=UnitOfWork(BrokenEngine(), consumer="gateway"))  # type: ignore[arg-type]
    gateway = Gateway(settings=GatewaySettings(), bus=None, ctx=ctx)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi(gateway)), base_url="http://gateway.test")


async def test_unexpected_failure_is_a_bare_500() -> None:
    async with client() as c:
        r = await c.get(
            "/api/v1/posts", headers={"Authorization": "Bearer sk_live_" + "a" * 43, "X-Request-Id": "boom-1"}
        )
    assert r.status_code == 500
    assert r.json() == {
        "error": {
            "code": "internal_error",
            "details": {},
            "request_id": "boom-1",
            "message": "an internal error occurred; quote the request_id when reporting it",
        }
    }
    assert "hunter2" not in r.text and "Traceback" not in r.text


async def test_readyz_reports_the_database_down() -> None:
    async with client() as c:
        r = await c.get("/readyz")
    assert r.status_code == 503 and r.json()["error"]["details"]["missing"][0] == "database"


async def test_healthz_needs_nothing() -> None:
    async with client() as c:
        r = await c.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"} and len(r.headers["x-request-id"]) == 32
