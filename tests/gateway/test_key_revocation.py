"""A key revoked through one gateway replica stops working on another within the key cache's
bound (CRIER_API_KEY_CACHE_S), though the other replica had just verified it."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx

from crier.gateway.entrypoints import admin
from crier.kit.embedded import free_port
from tests.gateway.conftest import _ready, start_gateway
from tests.support.stack import Infra, wait_for


def test_revoked_on_one_replica_refused_by_the_other(infra: Infra, tmp_path: Path) -> None:
    services, a = start_gateway(infra, tmp_path, env={"CRIER_API_KEY_CACHE_S": "1"})
    try:
        b_port = free_port()
        b = f"http://127.0.0.1:{b_port}"
        services.supervisor.add("gateway-b", ["gateway"], {"CRIER_GATEWAY_PORT": str(b_port)}).start()
        wait_for(lambda: _ready(b), timeout=30, what="second gateway")
        org = admin.create_org(services.database_url, f"rev-{secrets.token_hex(3)}")
        admin_key = admin.create_api_key(services.database_url, org=org["id"], name="a", mode="live", scopes=None)
        doomed = admin.create_api_key(services.database_url, org=org["id"], name="d", mode="live", scopes=["view"])

        def get(base: str, secret: str) -> int:
            headers = {"Authorization": f"Bearer {secret}"}
            return httpx.get(f"{base}/api/v1/posts", headers=headers, timeout=15).status_code

        assert get(b, doomed["key"]) == 200  # B now trusts the key for a while
        r = httpx.delete(
            f"{a}/api/v1/api-keys/{doomed['id']}", headers={"Authorization": f"Bearer {admin_key['key']}"}, timeout=15
        )
        assert r.status_code == 200, r.text
        assert get(a, doomed["key"]) == 401
        wait_for(lambda: get(b, doomed["key"]) == 401, timeout=10, what="the other replica to refuse the key")
    finally:
        services.supervisor.stop_all()
