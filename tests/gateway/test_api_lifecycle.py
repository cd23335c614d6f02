"""The post lifecycle through the API: rescheduling by cancel-and-recreate, publishing a draft,
editing a draft or a scheduled post."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from crier.contracts import events as contract
from crier.contracts.common import AccountLimits
from tests.gateway.conftest import Gateway, Org
from tests.support.stack import wait_for


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


def announced(gateway: Gateway, post_id: str, subject: str, count: int = 1) -> list[Any]:
    return wait_for(
        lambda: (found := gateway.driver.announcements(post_id, subject)) and len(found) >= count and found,
        what=subject,
    )


def made(c: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    r = c.post("/posts", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def error(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    return dict(r.json()["error"])


def test_a_far_off_draft_is_scheduled_once_its_time_is_within_the_window(gateway: Gateway, sandbox: Org) -> None:
    accounts = [sandbox.accounts["x"], sandbox.accounts["linkedin"]]
    with sandbox.test() as c:
        draft = made(c, {"content": "far off", "accounts": accounts, "is_draft": True, "scheduled_at": later(days=45)})
        assert draft["status"] == "draft"
        too_far = error(c.post(f"/posts/{draft['id']}/publish", json={"scheduled_at": later(days=31)}), 422)
        assert [f["code"] for f in too_far["details"]["fields"]] == ["too_far_ahead"]
        when = later(days=20)
        r = c.post(f"/posts/{draft['id']}/publish", json={"scheduled_for": when})
        assert r.status_code == 200, r.text
        post = r.json()
        assert (post["status"], post["is_draft"]) == ("scheduled", False)
        assert datetime.fromisoformat(post["scheduled_at"]) == datetime.fromisoformat(when)
        assert [t["status"] for t in post["targets"]] == ["pending", "pending"]
        assert [t["id"] for t in post["targets"]] == [t["id"] for t in draft["targets"]]
        assert c.get(f"/posts/{draft['id']}").json() == post
        again = error(c.post(f"/posts/{draft['id']}/publish", json={}), 409)
        assert again["code"] == "post_not_draft" and again["details"] == {"status": "scheduled"}
    update = announced(gateway, draft["id"], "evt.post.updated")[0]
    assert update.draft_published and not update.is_draft and update.status == "scheduled"
    assert update.scheduled_at == datetime.fromisoformat(when) and update.removed_target_ids == []
    assert [t.target_id for t in update.targets] == [t["id"] for t in draft["targets"]]


def test_a_draft_published_now_goes_out_at_once(gateway: Gateway, sandbox: Org) -> None:
    with sandbox.test() as c:
        draft = made(c, {"content": "now", "accounts": [sandbox.accounts["x"]], "is_draft": True})
        r = c.post(f"/posts/{draft['id']}/publish", json={})
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["scheduled_at"]) == ("queued", None)
        assert [t["status"] for t in r.json()["targets"]] == ["queued"]
        # Anything else is not a draft any more.
        for other in (r.json(), made(c, {"content": "x", "accounts": [sandbox.accounts["x"]]})):
            assert error(c.post(f"/posts/{other['id']}/publish", json={}), 409)["code"] == "post_not_draft"
        assert error(c.post(f"/posts/{uuid.uuid4()}/publish", json={}), 404)["code"] == "not_found"
        assert error(c.post(f"/posts/{draft['id']}/publish", json={"when": "now"}), 422)["code"] == "validation_error"
        both = {"scheduled_at": later(days=1), "scheduled_for": later(days=2)}
        twice = error(c.post(f"/posts/{draft['id']}/publish", json=both), 422)
        assert [f["field"] for f in twice["details"]["fields"]] == ["scheduled_for"]
    update = announced(gateway, draft["id"], "evt.post.updated")[0]
    assert update.draft_published and update.scheduled_at is None and update.status == "queued"


def test_publishing_checks_the_draft_again_as_its_accounts_are_now(gateway: Gateway, org: Org) -> None:
    """The instance lowered its limit after the draft was written: publishing is refused, naming
    the account, as a create would be."""
    account = gateway.live_account(org, platform="mastodon", limits=AccountLimits(max_characters=600))
    with org.live() as c:
        draft = made(c, {"content": "a" * 550, "accounts": [account], "is_draft": True})
        now = datetime.now(UTC)
        gateway.driver.publish(
            contract.AccountRefreshed(
                id=str(uuid.uuid4()),
                occurred_at=now,
                org_id=org.id,
                mode="live",
                account_id=account,
                platform="mastodon",
                updated_at=now,
                limits=AccountLimits(max_characters=500),
            )
        )

        # Until the gateway has heard of the new limit, a draft like it is still taken.
        probe = {"content": "a" * 550, "accounts": [account], "is_draft": True}
        wait_for(lambda: c.post("/posts", json=probe).status_code == 422, what="the new limit")
        problem = error(c.post(f"/posts/{draft['id']}/publish", json={}), 422)
        assert [p["code"] for p in problem["details"]["accounts"][account]] == ["too_long"]
        assert c.get(f"/posts/{draft['id']}").json()["status"] == "draft"
