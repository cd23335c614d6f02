"""The post lifecycle through the API: rescheduling by cancel-and-recreate, publishing a draft,
editing a draft or a scheduled post."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from tests.gateway.conftest import Gateway, Org


def later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def test_a_canceled_post_gives_its_external_ref_back(gateway: Gateway, sandbox: Org) -> None:
    ref = f"launch-{uuid.uuid4()}"
    body = {
        "content": "launch",
        "accounts": [sandbox.accounts["x"]],
        "scheduled_at": later(days=2),
        "external_ref": ref,
    }
    with sandbox.test() as c:
        first = c.post("/posts", json=body, headers={"Idempotency-Key": f"k-{ref}"})
        assert first.status_code == 201
        assert c.post("/posts", json=body).json()["id"] == first.json()["id"]
        assert c.delete(f"/posts/{first.json()['id']}").status_code == 200
        moved = {**body, "scheduled_at": later(days=3), "content": "launch, a day later"}
        second = c.post("/posts", json=moved)
        assert second.status_code == 201, second.text
        assert second.json()["id"] != first.json()["id"] and second.json()["external_ref"] == ref
        # From now on the reference names the new post; the canceled one keeps it for the record.
        again = c.post("/posts", json=moved)
        assert (again.status_code, again.json()["id"]) == (200, second.json()["id"])
        original = c.get(f"/posts/{first.json()['id']}").json()
        assert (original["status"], original["external_ref"]) == ("canceled", ref)
        # The Idempotency-Key still answers with the post it made, whatever became of it.
        replay = c.post("/posts", json=body, headers={"Idempotency-Key": f"k-{ref}"})
        assert (replay.status_code, replay.json()["id"], replay.json()["status"]) == (
            200,
            first.json()["id"],
            "canceled",
        )


def test_two_posts_that_are_not_canceled_never_share_an_external_ref(gateway: Gateway, sandbox: Org) -> None:
    """The database itself refuses a second live holder of a reference, whatever path wrote it."""
    ref = f"r-{uuid.uuid4()}"
    with sandbox.test() as c:
        made = c.post("/posts", json={"content": "a", "accounts": [sandbox.accounts["x"]], "external_ref": ref})
        assert made.status_code == 201

    async def copies() -> tuple[str, int]:
        conn = await asyncpg.connect(gateway.database_url)
        try:
            await conn.execute("CREATE TEMP TABLE copy AS SELECT * FROM gateway.posts WHERE id = $1", made.json()["id"])
            await conn.execute("UPDATE copy SET id = 'copy-' || id")
            refused = ""
            try:
                await conn.execute("INSERT INTO gateway.posts SELECT * FROM copy")
            except asyncpg.UniqueViolationError as exc:
                refused = str(exc.constraint_name)
            # A canceled copy may keep the reference beside the live post.
            await conn.execute("UPDATE copy SET canceled_at = now(), status = 'canceled'")
            await conn.execute("INSERT INTO gateway.posts SELECT * FROM copy")
            kept = await conn.fetchval(
                "SELECT count(*) FROM gateway.posts WHERE org_id = $1 AND external_ref = $2", sandbox.id, ref
            )
            await conn.execute("DELETE FROM gateway.posts WHERE id = 'copy-' || $1", made.json()["id"])
            return refused, kept
        finally:
            await conn.close()

    assert asyncio.run(copies()) == ("posts_external_ref_key", 2)
