"""Webhooks through the whole stack: a post's outcome reaches a real receiver, signed, in order,
and the same events can be polled from /events."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import create_post, in_seconds, sandbox_accounts, wait_post
from tests.support.hooks import Receiver
from tests.support.stack import Stack, wait_for


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def test_post_outcome_is_delivered_signed_in_order_and_in_the_feed(shared_stack: Stack, receiver: Receiver) -> None:
    org = shared_stack.new_org()
    with org.test() as client:
        r = client.post("/webhooks", json={"url": receiver.url, "events": ["*"], "description": "e2e"})
        assert r.status_code == 201, r.text
        hook = r.json()
        secret = hook["signing_secret"]
        assert secret.startswith("whsec_")
        assert "signing_secret" not in client.get(f"/webhooks/{hook['id']}").json()
        [account] = sandbox_accounts(client, ["x"])
        post = create_post(
            client, content="hooked [sandbox:fail-times=1]", accounts=[account["id"]], scheduled_at=in_seconds(1)
        )
        assert wait_post(client, post["id"])["status"] == "published"

        def delivered() -> list[dict] | None:
            events = [e for e in receiver.events(secret) if e.get("data", {}).get("post_id") == post["id"]]
            return events if any(e["type"] == "post.published" for e in events) else None

        events = wait_for(delivered, what="post.published at the receiver")
        types = [e["type"] for e in events]
        assert types.index("post.scheduled") < types.index("post.error") < types.index("post.published")
        error = next(e for e in events if e["type"] == "post.error")
        assert error["data"]["will_retry"] is True
        published = next(e for e in events if e["type"] == "post.published")
        assert published["data"]["platform_post_id"]

        def settled() -> list[dict] | None:
            # The receiver has the events before the dispatcher records their outcome.
            deliveries = client.get(f"/webhooks/{hook['id']}/deliveries").json()["data"]
            return deliveries if deliveries and all(d["status"] == "delivered" for d in deliveries) else None

        deliveries = wait_for(settled, what="every delivery recorded as delivered")
        assert all(a["http_status"] == 204 for d in deliveries for a in d["attempts"])

        feed, cursor = [], None
        while True:
            page = client.get("/events", params={"limit": 2, **({"after": cursor} if cursor else {})}).json()
            feed += page["data"]
            if not page["has_more"]:
                break
            cursor = page["next_cursor"]
    feed_ids = [e["id"] for e in feed]
    assert len(feed_ids) == len(set(feed_ids))
    assert {e["id"] for e in events} <= set(feed_ids)


def test_webhook_api_rules(shared_stack: Stack, receiver: Receiver) -> None:
    org, other = shared_stack.new_org(), shared_stack.new_org()
    with org.test() as client, other.test() as stranger:
        r = client.post("/webhooks", json={"url": "http://10.1.2.3/hook", "events": ["*"]})
        assert r.status_code == 422 and r.json()["error"]["code"] == "url_not_allowed"
        r = client.post("/webhooks", json={"url": receiver.url, "events": ["post.exploded"]})
        assert r.status_code == 422
        r = client.post("/webhooks", json={"url": receiver.url, "events": []})
        assert r.status_code == 422
        hook = client.post("/webhooks", json={"url": receiver.url, "events": ["post.published"]}).json()
        assert stranger.get(f"/webhooks/{hook['id']}").status_code == 404
        assert stranger.delete(f"/webhooks/{hook['id']}").status_code == 404
        r = client.patch(f"/webhooks/{hook['id']}", json={"is_active": False, "description": "paused"})
        assert r.status_code == 200 and r.json()["is_active"] is False
        rotated = client.post(f"/webhooks/{hook['id']}/rotate-secret").json()
        assert rotated["signing_secret"].startswith("whsec_") and rotated["signing_secret"] != hook["signing_secret"]
        assert client.get("/events", params={"limit": 0}).status_code == 422
        assert client.delete(f"/webhooks/{hook['id']}").status_code == 200
        assert client.get(f"/webhooks/{hook['id']}").status_code == 404


def test_ping_reaches_the_endpoint_and_can_be_resent(shared_stack: Stack, receiver: Receiver) -> None:
    org = shared_stack.new_org()
    with org.test() as client:
        hook = client.post("/webhooks", json={"url": receiver.url, "events": ["post.published"]}).json()
        r = client.post(f"/webhooks/{hook['id']}/test")
        assert r.status_code == 202
        delivery = r.json()
        wait_for(lambda: any(e["type"] == "ping" for e in receiver.events(hook["signing_secret"])), what="ping")
        assert client.post(f"/webhooks/deliveries/{delivery['id']}/resend").status_code == 202
        wait_for(lambda: len(receiver.requests) >= 2, what="the resent ping")
    ids = {h["webhook-id"] for h, _ in receiver.requests}
    assert len(ids) == 1, "a resend keeps the webhook-id"
    assert json.loads(receiver.requests[0][1])["type"] == "ping"
