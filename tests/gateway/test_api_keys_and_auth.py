"""API keys: hashed at rest, shown once, scoped, revocable at once; 401 and 403 in the error shape."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from crier.gateway.entrypoints import admin
from tests.gateway.conftest import Gateway, Org


def error_code(r) -> str:  # type: ignore[no-untyped-def]
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details", "request_id"}
    assert body["error"]["request_id"] == r.headers["x-request-id"]
    return body["error"]["code"]


@pytest.mark.parametrize("header", [None, "Bearer", "Basic abc", "Bearer sk_live_nope", "Bearer " + "x" * 50])
def test_missing_or_invalid_key_is_401(gateway: Gateway, header: str | None) -> None:
    with gateway.client() as c:
        r = c.get("/posts", headers={"Authorization": header} if header else {})
    assert r.status_code == 401 and error_code(r) == "unauthorized"
    assert r.headers["www-authenticate"] == "Bearer"


def test_create_list_revoke_key(gateway: Gateway, org: Org) -> None:
    with org.live() as c:
        r = c.post("/api-keys", json={"name": "ci", "mode": "live", "scopes": ["view"]})
        assert r.status_code == 201, r.text
        created = r.json()
        secret = created["key"]
        assert secret.startswith("sk_live_") and len(secret) >= 40
        assert created["prefix"] == secret[:12] and created["scopes"] == ["view"] and created["revoked_at"] is None
        listed = c.get("/api-keys").json()["data"]
        assert created["id"] in [k["id"] for k in listed]
        assert all("key" not in k for k in listed) and secret not in str(listed)
    with gateway.client(secret) as mine:
        assert mine.get("/posts").status_code == 200
        r = mine.post("/posts", json={"content": "x", "accounts": ["a"]})
        assert r.status_code == 403 and error_code(r) == "insufficient_scope"
        assert r.json()["error"]["details"]["required_scope"] == "publish"
        r = mine.get("/api-keys")
        assert r.status_code == 403 and error_code(r) == "insufficient_scope"
    with org.live() as c:
        r = c.delete(f"/api-keys/{created['id']}")
        assert r.status_code == 200 and r.json() == {"id": created["id"], "revoked": True}
        assert c.delete("/api-keys/no-such-key").status_code == 404
    with gateway.client(secret) as mine:
        r = mine.get("/posts")
        assert r.status_code == 401 and error_code(r) == "unauthorized"


def test_a_route_needs_its_controllers_scope_and_its_own(gateway: Gateway, org: Org) -> None:
    """Registering a platform app needs `view` (every route of its controller) and `manage` (its
    own): each alone is refused, naming the scope it lacks, and both are let through."""
    secrets = {}
    with org.live() as c:
        for scopes in (["manage"], ["view"], ["view", "manage"]):
            r = c.post("/api-keys", json={"name": "+".join(scopes), "mode": "live", "scopes": scopes})
            assert r.status_code == 201, r.text
            secrets["+".join(scopes)] = r.json()["key"]
    body = {"platform": "linkedin", "client_id": "id", "client_secret": "secret"}
    for scopes, lacking in (("manage", "view"), ("view", "manage")):
        with gateway.client(secrets[scopes]) as c:
            r = c.post("/social-networks", json=body)
            assert r.status_code == 403 and error_code(r) == "insufficient_scope", r.text
            assert r.json()["error"]["details"] == {"required_scope": lacking, "granted_scopes": [scopes]}
    with gateway.client(secrets["view+manage"]) as c:
        # Let through (what answers next, the connect service, is not part of this fixture).
        for r in (c.post("/social-networks", json=body), c.get("/social-networks")):
            assert r.status_code not in (401, 403), r.text


def test_keys_are_stored_only_as_hashes(gateway: Gateway, org: Org) -> None:
    async def stored() -> list[str]:
        conn = await asyncpg.connect(gateway.database_url)
        try:
            rows = await conn.fetch("SELECT key_hash, prefix FROM gateway.api_keys WHERE org_id = $1", org.id)
        finally:
            await conn.close()
        return [f"{r['key_hash']} {r['prefix']}" for r in rows]

    rows = asyncio.run(stored())
    assert len(rows) == 2
    for secret in (org.live_key, org.test_key):
        assert not any(secret in row for row in rows)
        assert not any(secret[12:20] in row for row in rows)


def test_key_validation(gateway: Gateway, org: Org) -> None:
    with org.live() as c:
        for body in (
            {"name": "k", "mode": "live", "scopes": ["fly"]},
            {"name": "k", "mode": "prod", "scopes": ["view"]},
            {"name": "k", "mode": "live", "scopes": []},
            {"name": "", "mode": "live", "scopes": ["view"]},
            {"mode": "live", "scopes": ["view"]},
        ):
            r = c.post("/api-keys", json=body)
            assert r.status_code == 422 and error_code(r) == "validation_error", body


def test_test_keys_cannot_issue_live_keys_or_see_them(gateway: Gateway, org: Org) -> None:
    with org.test() as c:
        r = c.post("/api-keys", json={"name": "x", "mode": "live", "scopes": ["view"]})
        assert r.status_code == 403 and error_code(r) == "live_mode_required"
        r = c.post("/api-keys", json={"name": "x", "mode": "test", "scopes": ["view"]})
        assert r.status_code == 201 and r.json()["key"].startswith("sk_test_")
        assert {k["mode"] for k in c.get("/api-keys").json()["data"]} == {"test"}
        live_id = next(k["id"] for k in org.live().get("/api-keys").json()["data"] if k["mode"] == "live")
        assert c.delete(f"/api-keys/{live_id}").status_code == 404


def test_other_orgs_keys_are_invisible(gateway: Gateway, org: Org) -> None:
    other = gateway.new_org("other")
    other_ids = {k["id"] for k in other.live().get("/api-keys").json()["data"]}
    with org.live() as c:
        assert other_ids.isdisjoint(k["id"] for k in c.get("/api-keys").json()["data"])
        for key_id in other_ids:
            assert c.delete(f"/api-keys/{key_id}").status_code == 404


def test_admin_create_key_by_org_name_and_scopes(gateway: Gateway) -> None:
    org = admin.create_org(gateway.database_url, "named-org-for-keys")
    key = admin.create_api_key(gateway.database_url, org="named-org-for-keys", name="cli", mode="test", scopes=["view"])
    assert key["org_id"] == org["id"] and key["scopes"] == ["view"] and key["key"].startswith("sk_test_")
    with gateway.client(key["key"]) as c:
        assert c.get("/posts").status_code == 200
        assert c.post("/sandbox/social-accounts", json={"platform": "x", "username": "u"}).status_code == 403


def test_bootstrap_admin_key_is_reused_while_valid(gateway: Gateway, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "admin-key"
    first = admin.bootstrap_admin_key(gateway.database_url, path)
    assert path.stat().st_mode & 0o777 == 0o600 and path.read_text().strip() == first
    assert admin.bootstrap_admin_key(gateway.database_url, path) == first
    with gateway.client(first) as c:
        key_id = next(k["id"] for k in c.get("/api-keys").json()["data"] if k["prefix"] == first[:12])
        assert c.delete(f"/api-keys/{key_id}").status_code == 200
    second = admin.bootstrap_admin_key(gateway.database_url, path)
    assert second != first and path.read_text().strip() == second
    with gateway.client(second) as c:
        assert c.get("/api-keys").status_code == 200
