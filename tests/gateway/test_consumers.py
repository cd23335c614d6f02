"""Delivery reports and account events, arriving over JetStream, update posts and the account read model."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from crier.contracts import events as contract
from tests.gateway.conftest import Gateway, Org
from tests.support.stack import wait_for


def envelope(org: Org, mode: str = "test", at: datetime | None = None) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "occurred_at": at or datetime.now(UTC), "org_id": org.id, "mode": mode}


def event_count(gateway: Gateway, post_id: str) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(gateway.database_url)
        try:
            return await conn.fetchval("SELECT count(*) FROM gateway.post_events WHERE post_id = $1", post_id)
        finally:
            await conn.close()

    return asyncio.run(count())


def test_delivery_reports_roll_up_into_the_post(gateway: Gateway, sandbox: Org) -> None:
    with sandbox.test() as c:
        post = c.post("/posts", json={"content": "go", "accounts": list(sandbox.accounts.values())}).json()
    t0, t1 = post["targets"]
    base = {"post_id": post["id"]}
    send = gateway.driver.publish

    def state() -> dict[str, Any]:
        with sandbox.test() as c:
            return c.get(f"/posts/{post['id']}").json()

    send(contract.TargetPublishing(**envelope(sandbox), **base, target_id=t0["id"], platform="x", attempt=1))
    wait_for(lambda: state()["status"] == "publishing", what="publishing")
    with sandbox.test() as c:
        r = c.delete(f"/posts/{post['id']}")
        assert r.status_code == 409 and r.json()["error"]["code"] == "post_not_cancelable"

    published = contract.TargetPublished(
        **envelope(sandbox),
        **base,
        target_id=t0["id"],
        platform="x",
        attempt=1,
        platform_post_id="x-123",
        platform_post_url="https://x.example/x-123",
    )
    send(published)
    send(published, msg_id=str(uuid.uuid4()))  # a redelivery past the stream's dedupe: recorded once
    send(contract.TargetPublishing(**envelope(sandbox), **base, target_id=t1["id"], platform="linkedin", attempt=1))
    send(
        contract.TargetAttemptFailed(
            **envelope(sandbox),
            **base,
            target_id=t1["id"],
            platform="linkedin",
            attempt=1,
            error_code="rate_limited",
            error_message="429",
            retry_in_seconds=1,
        )
    )
    wait_for(lambda: state()["targets"][1]["status"] == "retrying", what="retrying")
    target = state()["targets"][1]
    assert (target["attempts"], target["error_code"], target["error_message"]) == (1, "rate_limited", "429")

    # A late report from an earlier step must not drag a finished target back.
    send(
        contract.TargetPublishing(
            **envelope(sandbox, at=datetime.now(UTC) - timedelta(minutes=1)),
            **base,
            target_id=t0["id"],
            platform="x",
            attempt=1,
        )
    )
    send(contract.TargetPublishing(**envelope(sandbox), **base, target_id=t1["id"], platform="linkedin", attempt=2))
    send(
        contract.TargetFailed(
            **envelope(sandbox),
            **base,
            target_id=t1["id"],
            platform="linkedin",
            attempt=2,
            error_code="content_rejected",
            error_message="too long",
        )
    )
    final = wait_for(lambda: (s := state())["status"] == "partial" and s, what="partial")
    first, second = final["targets"]
    assert first["status"] == "published" and first["platform_post_id"] == "x-123"
    assert first["platform_post_url"] == "https://x.example/x-123" and first["published_at"] is not None
    assert first["attempts"] == 1 and first["error_code"] is None
    assert (second["status"], second["attempts"], second["error_code"]) == ("failed", 2, "content_rejected")
    assert final["published_at"] == first["published_at"]
    # created + publishing + published (once) + 2 for t1 + late publishing + 2 more for t1
    assert event_count(gateway, post["id"]) == 8
    with sandbox.test() as c:
        r = c.delete(f"/posts/{post['id']}")
        assert r.status_code == 409 and r.json()["error"]["code"] == "post_not_cancelable"
        assert [p["id"] for p in c.get("/posts", params={"status": "partial"}).json()["data"]] == [post["id"]]
    changes = wait_for(
        lambda: len(m := gateway.driver.announcements(post["id"], "evt.post.status_changed")) == 2 and m,
        what="status changes announced",
    )
    assert [(m.previous_status, m.status) for m in changes] == [("queued", "publishing"), ("publishing", "partial")]
    assert {(m.org_id, m.mode) for m in changes} == {(sandbox.id, "test")}


def test_scheduled_post_goes_queued_then_dead(gateway: Gateway, sandbox: Org) -> None:
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    with sandbox.test() as c:
        post = c.post(
            "/posts", json={"content": "later", "accounts": [sandbox.accounts["x"]], "scheduled_at": soon}
        ).json()
    target = post["targets"][0]["id"]
    common = {"post_id": post["id"], "target_id": target, "platform": "x"}
    gateway.driver.publish(contract.TargetQueued(**envelope(sandbox), **common))

    def status() -> str:
        with sandbox.test() as c:
            return c.get(f"/posts/{post['id']}").json()["status"]

    wait_for(lambda: status() == "queued", what="queued")
    for attempt in range(1, 6):
        gateway.driver.publish(contract.TargetPublishing(**envelope(sandbox), **common, attempt=attempt))
        if attempt < 5:
            gateway.driver.publish(
                contract.TargetAttemptFailed(
                    **envelope(sandbox),
                    **common,
                    attempt=attempt,
                    error_code="timeout",
                    error_message="slow",
                    retry_in_seconds=0.1,
                )
            )
    gateway.driver.publish(
        contract.TargetDeadLettered(
            **envelope(sandbox), **common, attempt=5, error_code="timeout", error_message="gave up after 5 attempts"
        )
    )
    wait_for(lambda: status() == "failed", what="failed")
    with sandbox.test() as c:
        t = c.get(f"/posts/{post['id']}/targets").json()["data"][0]
    assert (t["status"], t["attempts"], t["error_message"]) == ("dead", 5, "gave up after 5 attempts")


def test_reports_for_unknown_or_foreign_posts_are_skipped(gateway: Gateway, sandbox: Org) -> None:
    with sandbox.test() as c:
        post = c.post("/posts", json={"content": "mine", "accounts": [sandbox.accounts["x"]]}).json()
    other = gateway.new_org("intruder")
    target = post["targets"][0]["id"]
    gateway.driver.publish(
        contract.TargetPublished(
            **envelope(other), post_id=post["id"], target_id=target, platform="x", attempt=1, platform_post_id="evil"
        )
    )
    gateway.driver.publish(
        contract.TargetPublished(
            **envelope(sandbox),
            post_id=str(uuid.uuid4()),
            target_id=target,
            platform="x",
            attempt=1,
            platform_post_id="nowhere",
        )
    )
    gateway.driver.publish(
        contract.TargetPublishing(**envelope(sandbox), post_id=post["id"], target_id=target, platform="x", attempt=1)
    )
    wait_for(lambda: sandbox.test().get(f"/posts/{post['id']}").json()["status"] == "publishing", what="publishing")
    assert event_count(gateway, post["id"]) == 2


def test_account_events_update_the_read_model(gateway: Gateway, org: Org) -> None:
    account_id = gateway.live_account(org, platform="mastodon", tenant_id="tenant-acc")
    with org.live() as c:
        account = c.get(f"/social-accounts/{account_id}").json()
        assert account["status"] == "active" and account["platform"] == "mastodon"
        assert c.post("/posts", json={"content": "hi", "accounts": [account_id]}).status_code == 201
    later = datetime.now(UTC) + timedelta(seconds=5)
    common = {"account_id": account_id, "platform": "mastodon", "tenant_id": "tenant-acc"}
    gateway.driver.publish(contract.AccountTokenExpired(**envelope(org, "live"), **common, updated_at=later))

    def status() -> str:
        with org.live() as c:
            return c.get(f"/social-accounts/{account_id}").json()["status"]

    wait_for(lambda: status() == "token_expired", what="token_expired")
    # An older connected event, delivered late, must not revive the account.
    gateway.driver.publish(
        contract.AccountConnected(
            **envelope(org, "live"),
            account_id=account_id,
            platform="mastodon",
            username="renamed",
            network_unique_id="n",
            tenant_id="tenant-acc",
            updated_at=later - timedelta(seconds=3),
        )
    )
    gateway.driver.publish(
        contract.AccountDisconnected(**envelope(org, "live"), **common, updated_at=later + timedelta(seconds=1))
    )
    with org.live() as c:
        wait_for(lambda: c.get(f"/social-accounts/{account_id}").status_code == 404, what="disconnected")
        assert account_id not in [a["id"] for a in c.get("/social-accounts").json()["data"]]
        r = c.post("/posts", json={"content": "hi", "accounts": [account_id]})
        assert r.status_code == 422 and r.json()["error"]["details"]["accounts"] == [account_id]


def test_a_disconnect_seen_before_the_connect_wins(gateway: Gateway, org: Org) -> None:
    account_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    gateway.driver.publish(
        contract.AccountDisconnected(**envelope(org, "live"), account_id=account_id, platform="x", updated_at=now)
    )
    gateway.driver.publish(
        contract.AccountConnected(
            **envelope(org, "live"),
            account_id=account_id,
            platform="x",
            username="late",
            network_unique_id="n1",
            updated_at=now - timedelta(seconds=1),
        )
    )
    marker = gateway.live_account(org)  # processed after the two above: the stream is in order
    with org.live() as c:
        assert c.get(f"/social-accounts/{marker}").status_code == 200
        assert c.get(f"/social-accounts/{account_id}").status_code == 404
