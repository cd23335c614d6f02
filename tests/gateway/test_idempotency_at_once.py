"""A create without media to fetch claims its Idempotency-Key in the transaction that writes the
post: repeats racing it wait for its commit and replay it, and a key used with an external_ref
already taken keeps answering with that post."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from tests.gateway.conftest import Gateway, Org


async def test_concurrent_repeats_wait_for_the_first_and_replay_it(gateway: Gateway, sandbox: Org) -> None:
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}", "Authorization": f"Bearer {sandbox.test_key}"}
    body = {"content": "at once", "accounts": list(sandbox.accounts.values())}
    limits = httpx.Limits(max_connections=20)
    async with httpx.AsyncClient(base_url=f"{gateway.api_url}/api/v1", timeout=20, limits=limits) as c:
        responses = await asyncio.gather(*(c.post("/posts", json=body, headers=key) for _ in range(20)))
    assert sorted(r.status_code for r in responses) == [200] * 19 + [201], [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1


def test_a_key_answered_by_an_external_ref_keeps_that_answer(gateway: Gateway, sandbox: Org) -> None:
    ref = f"ref-{uuid.uuid4()}"
    with sandbox.test() as c:
        first = c.post("/posts", json={"content": "first", "accounts": [sandbox.accounts["x"]], "external_ref": ref})
        assert first.status_code == 201, first.text
        key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
        body = {"content": "second", "accounts": [sandbox.accounts["x"]], "external_ref": ref}
        answered = c.post("/posts", json=body, headers=key)
        assert answered.status_code == 200 and answered.json()["id"] == first.json()["id"]
        # The post is canceled, freeing its external_ref; the key still replays what it answered.
        assert c.delete(f"/posts/{first.json()['id']}").status_code in (200, 204)
        again = c.post("/posts", json=body, headers=key)
        assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
        other = c.post("/posts", json={**body, "content": "other"}, headers=key)
        assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
