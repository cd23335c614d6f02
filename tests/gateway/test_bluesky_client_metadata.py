"""The client metadata document of Crier's atproto OAuth client, in-process: public (asked for
with no key; no database, no other service), named after the public URL, or after the address it was asked at when
none is configured. (tests/e2e/test_bluesky_oauth.py has an authorization server fetch it.)"""

from __future__ import annotations

from typing import Any

import httpx

from crier.gateway.entrypoints.http.app import asgi
from crier.gateway.entrypoints.http.state import Gateway
from crier.gateway.handlers.context import Context
from crier.gateway.settings import GatewaySettings
from crier.kit.uow import UnitOfWork

PATH = "/api/v1/connect/bluesky/client-metadata.json"


class NoDatabase:
    def connect(self) -> Any:
        raise AssertionError("the document needs no database")


def client(public_url: str) -> httpx.AsyncClient:
    ctx = Context(uow=UnitOfWork(NoDatabase(), consumer="gateway"))  # type: ignore[arg-type]
    gateway = Gateway(settings=GatewaySettings(public_url=public_url), bus=None, ctx=ctx)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi(gateway)), base_url="http://gateway.test")


async def test_the_document_names_the_public_url() -> None:
    async with client("https://crier.example/") as c:
        r = await c.get(PATH)
    assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=600"
    doc = r.json()
    assert doc["client_id"] == f"https://crier.example{PATH}" and doc["client_uri"] == "https://crier.example"
    assert doc["redirect_uris"] == ["https://crier.example/api/v1/connect/callback"]
    assert (doc["token_endpoint_auth_method"], doc["dpop_bound_access_tokens"]) == ("none", True)
    assert "atproto" in doc["scope"].split() and "client_secret" not in doc and "jwks" not in doc


async def test_without_a_public_url_it_names_the_address_it_was_asked_at() -> None:
    async with client("") as c:
        r = await c.get(PATH)
    assert r.status_code == 200 and r.json()["client_id"] == f"http://gateway.test{PATH}"
    assert r.json()["redirect_uris"] == ["http://gateway.test/api/v1/connect/callback"]


async def test_it_is_in_the_openapi_document() -> None:
    async with client("https://crier.example") as c:
        doc = (await c.get("/api/v1/openapi.json")).json()
    assert doc["paths"][PATH]["get"]["operationId"] == "getBlueskyClientMetadata"
