"""Sandbox accounts (through connect's RPC) and the read-only social-accounts endpoints."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crier.gateway.entrypoints import admin
from crier.kit.errors import Conflict
from tests.gateway.conftest import Gateway, Org

ACCOUNT_FIELDS = {
    "id",
    "platform",
    "username",
    "display_name",
    "network_unique_id",
    "tenant_id",
    "account_type",
    "status",
    "created_at",
    "updated_at",
    "social_network_id",
    "profile_image_url",
    "scopes",
    "token_expires_at",
    "last_synced_at",
}


def test_sandbox_account_is_usable_at_once(gateway: Gateway, org: Org) -> None:
    account = gateway.sandbox_account(org, "bluesky", username="alice", tenant_id="user_42")
    assert set(account) == ACCOUNT_FIELDS
    assert (account["platform"], account["username"], account["tenant_id"], account["status"]) == (
        "bluesky",
        "alice",
        "user_42",
        "active",
    )
    with org.test() as c:
        assert c.get(f"/social-accounts/{account['id']}").json() == account
        assert c.post("/posts", json={"content": "hi", "accounts": [account["id"]]}).status_code == 201


def test_sandbox_rules(gateway: Gateway, org: Org) -> None:
    with org.live() as c:
        r = c.post("/sandbox/social-accounts", json={"platform": "x", "username": "u"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "test_mode_only"
    with org.test() as c:
        for body in (
            {"platform": "myspace", "username": "u"},
            {"platform": "x"},
            {"platform": "x", "username": ""},
            {"platform": 3, "username": "u"},
        ):
            r = c.post("/sandbox/social-accounts", json=body)
            assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", body
    viewer = admin.create_api_key(gateway.database_url, org=org.id, name="v", mode="test", scopes=["view"])
    with gateway.client(viewer["key"]) as c:
        r = c.post("/sandbox/social-accounts", json={"platform": "x", "username": "u"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_scope"


@pytest.fixture
def failing_connect(gateway: Gateway) -> Iterator[None]:
    gateway.driver.sandbox_failure = Conflict("username_taken", "taken", {"username": "u"})
    yield
    gateway.driver.sandbox_failure = None


def test_connect_errors_pass_through(gateway: Gateway, org: Org, failing_connect: None) -> None:
    with org.test() as c:
        r = c.post("/sandbox/social-accounts", json={"platform": "x", "username": "u"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "username_taken" and r.json()["error"]["details"] == {"username": "u"}


def test_listing_filters_and_pagination(gateway: Gateway, org: Org) -> None:
    made = [
        gateway.sandbox_account(org, "x" if i % 2 else "threads", username=f"u{i}", tenant_id=f"t{i % 3}")
        for i in range(7)
    ]
    with org.test() as c:
        seen: list[str] = []
        cursor = None
        while True:
            page = c.get("/social-accounts", params={"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
            seen += [a["id"] for a in page["data"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == [a["id"] for a in reversed(made)]

        def ids(**params: str) -> set[str]:
            return {a["id"] for a in c.get("/social-accounts", params=params).json()["data"]}

        assert ids(platform="threads") == {a["id"] for a in made if a["platform"] == "threads"}
        assert ids(tenant_id="t1") == {a["id"] for a in made if a["tenant_id"] == "t1"}
        assert ids(username="u3") == {made[3]["id"]}
        assert ids(network_unique_id=made[4]["network_unique_id"]) == {made[4]["id"]}
        assert ids(id=made[5]["id"]) == {made[5]["id"]}
        assert c.get("/social-accounts/nope").status_code == 404
        r = c.get("/social-accounts", params={"limit": 500})
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    with gateway.new_org("stranger").test() as c:
        assert c.get(f"/social-accounts/{made[0]['id']}").status_code == 404
        assert c.get("/social-accounts").json()["data"] == []
