"""Unknown query parameters: a 400 naming them on every endpoint of the API description, so a filter
spelt wrong never widens a result."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import asyncpg
import httpx

from crier.gateway.entrypoints.http.query_guard import suggestion
from tests.gateway.conftest import Gateway, Org

# Routes that must take what a third party appends to them.
OPEN_ROUTES = {"/api/v1/connect/callback", "/api/v1/connect/bluesky/client-metadata.json"}


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    out = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                known = [p["name"] for p in op.get("parameters", []) if p["in"] == "query"]
                out.append((method.upper(), path, known))
    return out


def test_every_described_operation_refuses_an_unknown_parameter(gateway: Gateway, org: Org) -> None:
    spec = httpx.get(f"{gateway.api_url}/api/v1/openapi.json").json()
    operations = _operations(spec)
    assert len(operations) > 40  # the walk covers the whole API, not a handful
    with httpx.Client(base_url=gateway.api_url, headers={"Authorization": f"Bearer {org.test_key}"}) as c:
        for method, path, known in operations:
            if path in OPEN_ROUTES or not path.startswith("/api/v1/"):
                continue
            url = re.sub(r"\{[^}]+\}", "x1", path)
            r = c.request(method, url, params={"bogusFilter": "1"}, json={} if method != "GET" else None)
            assert r.status_code == 400, (method, path, r.status_code, r.text)
            error = r.json()["error"]
            assert error["code"] == "unknown_query_parameter", (method, path, error)
            assert error["details"]["unknown"] == ["bogusFilter"]
            # What the route does take is what its description documents.
            assert sorted(error["details"]["known"]) == sorted(known), (method, path)


def test_a_misspelt_filter_is_refused_with_the_name_it_meant(gateway: Gateway, sandbox: Org) -> None:
    with sandbox.test() as c:
        r = c.get("/posts", params={"externalUserId": "tenant-1", "tenantId": "tenant-1", "status": "queued"})
        assert r.status_code == 400
        error = r.json()["error"]
        assert error["details"]["unknown"] == ["externalUserId", "tenantId"]
        assert error["details"]["suggestions"] == {"externalUserId": "tenant_id", "tenantId": "tenant_id"}
        assert "tenant_id" in error["details"]["known"] and "status" in error["details"]["known"]
        assert "'externalUserId' (did you mean 'tenant_id'?)" in error["message"]
        # The names the route does take still filter.
        assert c.get("/posts", params={"tenant_id": "tenant-1", "limit": 5}).status_code == 200
        # Aliases a route declares are known names too.
        assert c.get("/social-accounts", params={"networkUniqueId": "n"}).status_code == 200
        assert c.get("/media", params={"type": "image"}).status_code == 200


def test_the_oauth_callback_takes_what_platforms_append(gateway: Gateway) -> None:
    r = httpx.get(f"{gateway.api_url}/api/v1/connect/callback", params={"state": "s", "authuser": "0", "prompt": "x"})
    assert r.status_code != 400 or "unknown_query_parameter" not in r.text


def test_outside_the_api_nothing_is_judged(gateway: Gateway) -> None:
    assert httpx.get(f"{gateway.api_url}/healthz", params={"probe": "1"}).status_code == 200


def test_suggestions() -> None:
    known = frozenset({"tenant_id", "created_after", "limit", "search"})
    assert suggestion("createdAfter", known) == "created_after"
    assert suggestion("tenat_id", known) == "tenant_id"
    assert suggestion("page_size", known) == "limit"
    assert suggestion("q", known) == "search"
    assert suggestion("color", known) is None


def test_search_finds_posts_by_their_containers_text(gateway: Gateway, sandbox: Org) -> None:
    x = sandbox.accounts["x"]
    with sandbox.test() as c:

        def create(*texts: str) -> str:
            body = {"containers": [{"content": t} for t in texts], "accounts": [x], "is_draft": True}
            r = c.post("/posts", json=body)
            assert r.status_code == 201, r.text
            return str(r.json()["id"])

        launch = create("Launch day at ACME Rockets", "Details: 50%_off for the first week")
        other = create("Nothing to see here")
        percent = create("Sale: 50% off everything")

        def found(text: str, **filters: str) -> list[str]:
            r = c.get("/posts", params={"search": text, **filters})
            assert r.status_code == 200, r.text
            return [p["id"] for p in r.json()["data"]]

        assert found("acme rockets") == [launch]  # any case
        assert found("FIRST WEEK") == [launch]  # the first comment's text counts too
        assert found("50%_off") == [launch]  # LIKE's wildcards are matched as themselves
        assert found("50%") == [percent, launch]
        assert found("here", status="draft") == [other]
        assert found("here", status="queued") == []
        assert found("no such words") == []
        assert len(found("   ")) >= 3  # blank: no filter
        r = c.get("/posts", params={"search": "a" * 201})
        assert r.status_code == 422
        assert r.json()["error"]["details"]["fields"][0]["field"] == "search"


def test_search_is_indexed_by_trigrams(gateway: Gateway) -> None:
    async def indexes() -> list[str]:
        conn = await asyncpg.connect(gateway.database_url)
        try:
            rows = await conn.fetch("SELECT indexdef FROM pg_indexes WHERE indexname = 'posts_text_trgm'")
        finally:
            await conn.close()
        return [r["indexdef"] for r in rows]

    [definition] = asyncio.run(indexes())
    assert "gin_trgm_ops" in definition and "post_text(containers)" in definition
