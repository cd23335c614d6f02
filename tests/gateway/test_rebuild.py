"""Projections are disposable: rebuilding them from post_events gives the same tables, row for row."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from crier.contracts import events as contract
from crier.gateway.entrypoints import admin
from crier.gateway.handlers.context import Context
from crier.gateway.handlers.housekeeping import Purged, purge
from crier.gateway.settings import SCHEMA
from crier.kit.db import create_engine
from crier.kit.uow import UnitOfWork
from tests.gateway.conftest import Gateway, Org
from tests.support.stack import wait_for


def dump(database_url: str) -> tuple[list[Any], list[Any], int]:
    async def read() -> tuple[list[Any], list[Any], int]:
        conn = await asyncpg.connect(database_url)
        try:
            posts = await conn.fetch("SELECT * FROM gateway.posts ORDER BY id")
            targets = await conn.fetch("SELECT * FROM gateway.post_targets ORDER BY id")
            count = await conn.fetchval("SELECT count(DISTINCT post_id) FROM gateway.post_events")
        finally:
            await conn.close()
        return [tuple(r.items()) for r in posts], [tuple(r.items()) for r in targets], count

    return asyncio.run(read())


def test_rebuild_gives_identical_projections(gateway: Gateway, sandbox: Org) -> None:
    accounts = list(sandbox.accounts.values())
    with sandbox.test() as c:

        def created(body: dict[str, Any]) -> dict[str, Any]:
            r = c.post("/posts", json=body)
            assert r.status_code == 201, r.text
            return dict(r.json())

        made = [
            created({"content": "now", "accounts": accounts}),
            created(
                {
                    "containers": [{"content": "a"}, {"content": "b"}],
                    "accounts": accounts[:1],
                    "external_ref": f"r-{uuid.uuid4()}",
                    "config": {"x": {}},
                    "targets": [{"account_id": accounts[0], "override_body": "a, as x has it"}],
                    "scheduled_at": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
                }
            ),
            created({"content": "draft", "accounts": accounts, "is_draft": True}),
        ]
        assert c.delete(f"/posts/{made[2]['id']}").status_code == 200
    first = made[0]
    for i, target in enumerate(first["targets"]):
        common = {
            "id": str(uuid.uuid4()),
            "occurred_at": datetime.now(UTC),
            "org_id": sandbox.id,
            "mode": "test",
            "post_id": first["id"],
            "target_id": target["id"],
            "platform": target["platform"],
        }
        gateway.driver.publish(contract.TargetPublishing(**common, attempt=1))
        common["id"] = str(uuid.uuid4())
        if i == 0:
            gateway.driver.publish(contract.TargetPublished(**common, attempt=1, platform_post_id="p1"))
        else:
            gateway.driver.publish(contract.TargetFailed(**common, attempt=1, error_code="e", error_message="m"))
    wait_for(lambda: sandbox.test().get(f"/posts/{first['id']}").json()["status"] == "partial", what="partial")
    # The failed target is redriven, and its new delivery reports attempt 1 of generation 1.
    failed = first["targets"][1]
    with sandbox.test() as c:
        assert c.post(f"/posts/{first['id']}/targets/{failed['id']}/retry").status_code == 200
    gateway.driver.publish(
        contract.TargetPublishing(
            id=str(uuid.uuid4()),
            occurred_at=datetime.now(UTC),
            org_id=sandbox.id,
            mode="test",
            post_id=first["id"],
            target_id=failed["id"],
            platform=failed["platform"],
            attempt=1,
            redrive=1,
        )
    )

    def redriven_and_publishing() -> bool:
        target = sandbox.test().get(f"/posts/{first['id']}").json()["targets"][1]
        return (target["status"], target["attempts"]) == ("publishing", 1)

    wait_for(redriven_and_publishing, what="the redriven target publishing")

    before = dump(gateway.database_url)
    rebuilt = admin.rebuild_projections(gateway.database_url)
    after = dump(gateway.database_url)
    assert rebuilt == before[2] and rebuilt >= 3
    assert after[0] == before[0]
    assert after[1] == before[1]
    assert [dict(t)["redrive"] for t in before[1] if dict(t)["id"] == failed["id"]] == [1]
    with sandbox.test() as c:
        assert [c.get(f"/posts/{p['id']}").status_code for p in made] == [200, 200, 200]


def test_housekeeping_forgets_expired_idempotency_keys(gateway: Gateway, sandbox: Org) -> None:
    with sandbox.test() as c:
        body = {"content": "k", "accounts": [sandbox.accounts["x"]]}
        first = c.post("/posts", json=body, headers={"Idempotency-Key": "old-key"})
        assert first.status_code == 201

    async def age_and_purge() -> Purged:
        conn = await asyncpg.connect(gateway.database_url)
        try:
            await conn.execute(
                "UPDATE gateway.idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'old-key'"
            )
        finally:
            await conn.close()
        engine = create_engine(gateway.database_url, SCHEMA, pool_size=1)
        try:
            return await purge(Context(uow=UnitOfWork(engine, consumer="gateway")))
        finally:
            await engine.dispose()

    assert asyncio.run(age_and_purge()).idempotency_keys >= 1
    with sandbox.test() as c:
        # The key is forgotten: the same key now makes a new post.
        again = c.post("/posts", json=body, headers={"Idempotency-Key": "old-key"})
        assert again.status_code == 201 and again.json()["id"] != first.json()["id"]
