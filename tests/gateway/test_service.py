"""Probes, the OpenAPI description, and readiness that depends on the other services."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.gateway.conftest import Gateway, start_gateway
from tests.support.stack import Infra, Services, start_services, wait_for


def test_probes(gateway: Gateway) -> None:
    r = httpx.get(f"{gateway.api_url}/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"} and r.headers["x-request-id"]
    r = httpx.get(f"{gateway.api_url}/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ready", "services": {"database": True}}


def test_openapi_document_and_docs(gateway: Gateway) -> None:
    r = httpx.get(f"{gateway.api_url}/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "sk_live_… or sk_test_…",
        "description": "An API key. Test keys (sk_test_) see only sandbox data.",
    }
    assert doc["security"] == [{"bearerAuth": []}]
    operations = {op["operationId"] for path in doc["paths"].values() for op in path.values() if "operationId" in op}
    assert {
        "createPost",
        "listPosts",
        "getPost",
        "listPostTargets",
        "cancelPost",
        "createApiKey",
        "listApiKeys",
        "revokeApiKey",
        "listSocialAccounts",
        "getSocialAccount",
        "createSandboxAccount",
        "healthz",
        "readyz",
    } <= operations
    create = doc["paths"]["/api/v1/posts"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in create["parameters"])
    assert create["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/InvalidBody")
    assert create["responses"]["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    details = doc["components"]["schemas"]["InvalidDetails"]["properties"]
    by_account, unknown = details["accounts"]["oneOf"]
    assert by_account["additionalProperties"]["items"]["$ref"].endswith("/ProblemDetail")
    assert unknown == {"type": "array", "items": {"type": "string"}}
    assert "platform_not_supported" in details["accounts"]["description"]
    docs = httpx.get(f"{gateway.api_url}/api/v1/docs")
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]


@pytest.fixture(scope="module")
def unready(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gateway that requires a service nobody runs."""
    from crier.kit.embedded import free_port

    port = free_port()
    services: Services = start_services(
        infra,
        tmp_path_factory.mktemp("unready"),
        ["gateway"],
        extra_env={"CRIER_GATEWAY_PORT": str(port), "CRIER_REQUIRED_SERVICES": "scheduler,ghost"},
    )
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _status(f"{url}/healthz") == 200, what="gateway up")
    yield url
    services.supervisor.stop_all()


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=3).status_code
    except httpx.HTTPError:
        return 0


def test_readyz_names_missing_services(unready: str) -> None:
    r = httpx.get(f"{unready}/readyz", timeout=5)
    assert r.status_code == 503
    error = r.json()["error"]
    assert error["code"] == "not_ready" and error["details"]["missing"] == ["scheduler", "ghost"]
    assert error["details"]["services"] == {"database": True, "scheduler": False, "ghost": False}
    assert httpx.get(f"{unready}/healthz").status_code == 200


def test_with_the_real_connect_service(infra: Infra, tmp_path: Path) -> None:
    """The sandbox endpoint against connect itself, and readiness that waits for it."""
    from crier.gateway.entrypoints import admin

    services, api_url = start_gateway(infra, tmp_path, extra=["connect"])
    try:
        org = admin.create_org(services.database_url, "with-connect")
        key = admin.create_api_key(services.database_url, org=org["id"], name="t", mode="test", scopes=None)["key"]
        with httpx.Client(base_url=f"{api_url}/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=15) as c:
            r = c.post("/sandbox/social-accounts", json={"platform": "x", "username": "alice", "tenant_id": "u1"})
            assert r.status_code == 201, r.text
            account = r.json()
            assert (account["username"], account["tenant_id"], account["status"]) == ("alice", "u1", "active")
            assert c.post("/posts", json={"content": "hi", "accounts": [account["id"]]}).status_code == 201
            # The read model already holds what connect replied; its later account event is a no-op.
            assert c.get(f"/social-accounts/{account['id']}").json() == account
        assert httpx.get(f"{api_url}/readyz").json()["services"] == {"database": True, "connect": True}
        services.supervisor.processes["connect"].terminate()
        wait_for(lambda: httpx.get(f"{api_url}/readyz").status_code == 503, what="readyz to notice connect left")
    finally:
        services.supervisor.stop_all()
