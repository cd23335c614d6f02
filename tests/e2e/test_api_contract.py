"""Idempotency, tenant and mode isolation, and bad input over the real stack."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.conftest import create_post, in_seconds, sandbox_accounts
from tests.support.stack import Stack


def test_twenty_concurrent_identical_requests_make_one_post(shared_stack: Stack) -> None:
    org = shared_stack.new_org()
    with org.test() as client:
        [account] = sandbox_accounts(client, ["x"])
    body = {"content": "once", "accounts": [account["id"]]}

    def send(_: int) -> httpx.Response:
        with org.test() as c:
            return c.post("/posts", json=body, headers={"Idempotency-Key": "launch-1"})

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(send, range(20)))
    assert all(r.status_code in (200, 201, 409) for r in responses), [r.text for r in responses]
    assert sum(r.status_code == 201 for r in responses) == 1
    ids = {r.json()["id"] for r in responses if r.status_code in (200, 201)}
    assert len(ids) == 1
    with org.test() as client:
        listed = client.get("/posts").json()["data"]
        assert [p["id"] for p in listed] == list(ids)
        replay = client.post("/posts", json=body, headers={"Idempotency-Key": "launch-1"})
        assert replay.status_code == 200 and replay.json()["id"] in ids
        changed = client.post("/posts", json={**body, "content": "twice"}, headers={"Idempotency-Key": "launch-1"})
        assert changed.status_code == 422


def test_modes_and_organizations_never_see_each_other(shared_stack: Stack) -> None:
    org, other = shared_stack.new_org(), shared_stack.new_org()
    with org.test() as test_client, org.live() as live_client, other.test() as other_client:
        [account] = sandbox_accounts(test_client, ["x"])
        post = create_post(test_client, content="test mode", accounts=[account["id"]], scheduled_at=in_seconds(3600))
        assert test_client.get(f"/posts/{post['id']}").status_code == 200
        for client in (live_client, other_client):
            r = client.get(f"/posts/{post['id']}")
            assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
            assert client.delete(f"/posts/{post['id']}").status_code == 404
            assert post["id"] not in [p["id"] for p in client.get("/posts").json()["data"]]
        # A live key cannot target a test-mode account, nor another org's.
        r = live_client.post("/posts", json={"content": "x", "accounts": [account["id"]]})
        assert r.status_code == 422
        r = other_client.post("/posts", json={"content": "x", "accounts": [account["id"]]})
        assert r.status_code == 422
        assert live_client.post("/sandbox/social-accounts", json={"platform": "x", "username": "a"}).status_code == 403


def test_requests_without_a_valid_key_are_refused(shared_stack: Stack) -> None:
    with shared_stack.client() as anonymous, shared_stack.client("sk_live_notarealkey") as forged:
        for client in (anonymous, forged):
            r = client.get("/posts")
            assert r.status_code == 401
            assert set(r.json()["error"]) >= {"code", "message", "details", "request_id"}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"content": "x", "accounts": ["00000000-0000-0000-0000-000000000000"]}, 422),
        ({"content": "", "accounts": ["ACCOUNT"]}, 422),
        ({"accounts": ["ACCOUNT"]}, 422),
        ({"content": "x", "accounts": []}, 422),
        ({"content": "x", "accounts": ["ACCOUNT"], "scheduled_at": "DAYS31"}, 422),
        ({"content": "x", "accounts": ["ACCOUNT"], "scheduled_at": "2030-01-01T10:00:00"}, 422),
        ({"content": "x", "accounts": ["ACCOUNT"], "scheduled_at": "2020-01-01T10:00:00Z"}, 422),
        ({"content": "x", "accounts": ["ACCOUNT"], "scheduled_at": "tomorrow"}, 422),
        ({"content": 42, "accounts": ["ACCOUNT"]}, 422),
        ({"content": "x", "accounts": "ACCOUNT"}, 422),
        ({"content": "x", "accounts": ["ACCOUNT"], "is_draft": "yes"}, 422),
        ([1, 2, 3], 422),
    ],
)
def test_bad_input_gets_a_documented_4xx(shared_stack: Stack, body: object, status: int) -> None:
    org = shared_stack.new_org()
    with org.test() as client:
        [account] = sandbox_accounts(client, ["x"])
        if isinstance(body, dict):
            body = {
                k: ([account["id"] if a == "ACCOUNT" else a for a in v] if isinstance(v, list) else v)
                for k, v in body.items()
            }
            if body.get("scheduled_at") == "DAYS31":
                body["scheduled_at"] = in_seconds(31 * 24 * 3600)
        r = client.post("/posts", json=body)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] and error["message"] and error["request_id"]


def test_a_post_a_platform_refuses_is_refused_naming_the_account(shared_stack: Stack) -> None:
    org = shared_stack.new_org()
    with org.test() as client:
        x, linkedin = sandbox_accounts(client, ["x", "linkedin"])
        r = client.post(
            "/posts",
            json={
                "content": "a" * 10_001,
                "accounts": [x["id"], linkedin["id"]],
                "targets": [{"account_id": linkedin["id"], "override_body": "short enough"}],
                "config": {"x": {"no_such_option": 1}},
            },
        )
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["code"] == "validation_error" and error["details"]["fields"] == []
        assert [(p["field"], p["code"]) for p in error["details"]["accounts"][x["id"]]] == [
            ("config.x", "invalid_config"),
            ("containers[0].content", "too_long"),
        ]
        assert list(error["details"]["accounts"]) == [x["id"]]
        assert client.get("/posts").json()["data"] == []


def test_malformed_and_oversize_bodies(shared_stack: Stack) -> None:
    org = shared_stack.new_org()
    with org.test() as client:
        r = client.post("/posts", content=b"{not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["error"]["code"]
        r = client.post(
            "/posts", content=b'{"content": "' + b"a" * 2_000_000 + b'"}', headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 413 and r.json()["error"]["code"]
        r = client.get("/posts/not-a-post")
        assert r.status_code == 404
        r = client.get("/posts", params={"limit": 1000})
        assert r.status_code == 422
