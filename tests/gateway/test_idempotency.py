"""Idempotency-Key: a retried request gets the original post; a reused key with another body is refused."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from tests.gateway.conftest import Gateway, Org


def test_same_key_same_body_returns_the_original(gateway: Gateway, sandbox: Org) -> None:
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    body = {"content": "hello", "accounts": [sandbox.accounts["x"]]}
    with sandbox.test() as c:
        first = c.post("/posts", json=body, headers=key)
        # Same JSON, keys in another order and other whitespace: still the same request.
        again = c.post(
            "/posts",
            content=b'{ "accounts": ["%s"],  "content": "hello" }' % sandbox.accounts["x"].encode(),
            headers={**key, "content-type": "application/json"},
        )
        assert first.status_code == 201 and again.status_code == 200 and again.json() == first.json()
        reused = c.post("/posts", json={**body, "content": "changed"}, headers=key)
        assert reused.status_code == 422 and reused.json()["error"]["code"] == "idempotency_key_reused"
        assert len(c.get("/posts").json()["data"]) == 1
    with sandbox.live() as c:
        # Keys belong to one org and mode: the live side has never seen this one.
        r = c.post("/posts", json=body, headers=key)
        assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_account"


def test_a_failed_request_frees_its_key(gateway: Gateway, sandbox: Org) -> None:
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    with sandbox.test() as c:
        bad = c.post("/posts", json={"content": "hi", "accounts": ["missing"]}, headers=key)
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_account"
        fixed = c.post("/posts", json={"content": "hi", "accounts": [sandbox.accounts["x"]]}, headers=key)
        assert fixed.status_code == 201


def test_a_replay_gets_its_answer_even_after_the_scheduled_time_passed(gateway: Gateway, sandbox: Org) -> None:
    """The replay is answered from the stored post; it is not validated against the clock again."""
    from datetime import UTC, datetime, timedelta

    soon = (datetime.now(UTC) + timedelta(seconds=1.5)).isoformat()
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    body = {"content": "soon", "accounts": [sandbox.accounts["x"]], "scheduled_at": soon, "external_ref": None}
    with sandbox.test() as c:
        first = c.post("/posts", json=body, headers=key)
        assert first.status_code == 201, first.text
        from tests.support.stack import wait_for

        wait_for(lambda: datetime.now(UTC).isoformat() > soon, timeout=5, what="the scheduled time to pass")
        again = c.post("/posts", json=body, headers=key)
        assert again.status_code == 200 and again.json()["id"] == first.json()["id"]


async def test_concurrent_identical_requests_make_exactly_one_post(gateway: Gateway, sandbox: Org) -> None:
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}", "Authorization": f"Bearer {sandbox.test_key}"}
    body = {"content": "race", "accounts": list(sandbox.accounts.values())}
    limits = httpx.Limits(max_connections=20)
    async with httpx.AsyncClient(base_url=f"{gateway.api_url}/api/v1", timeout=20, limits=limits) as c:
        responses = await asyncio.gather(*(c.post("/posts", json=body, headers=key) for _ in range(20)))
        statuses = sorted(r.status_code for r in responses)
        assert statuses.count(201) == 1, statuses
        assert set(statuses) <= {200, 201, 409}, statuses
        ids = {r.json()["id"] for r in responses if r.status_code in (200, 201)}
        assert len(ids) == 1
        for r in responses:
            if r.status_code == 409:
                assert r.json()["error"]["code"] == "idempotency_in_progress"
        listed = (await c.get("/posts", headers=key)).json()["data"]
        assert [p["id"] for p in listed] == list(ids)
        again = await c.post("/posts", json=body, headers=key)
        assert again.status_code == 200 and again.json()["id"] in ids


async def test_concurrent_requests_with_one_external_ref_make_one_post(gateway: Gateway, sandbox: Org) -> None:
    headers = {"Authorization": f"Bearer {sandbox.test_key}"}
    body = {"content": "ref race", "accounts": [sandbox.accounts["x"]], "external_ref": f"ref-{uuid.uuid4()}"}
    async with httpx.AsyncClient(base_url=f"{gateway.api_url}/api/v1", timeout=20) as c:
        responses = await asyncio.gather(*(c.post("/posts", json=body, headers=headers) for _ in range(10)))
        assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
        assert len({r.json()["id"] for r in responses}) == 1
