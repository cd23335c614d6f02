"""The post lifecycle through the whole stack: a published draft goes out now or at its time, an
edited scheduled post goes out as edited at its new time (to the accounts it now names, never to
the ones removed), a post moved later does not go out at its old time, and every edit reaches
webhooks and the `/events` feed as `post.updated`, in order with the post's other events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from tests.e2e.conftest import create_post, in_seconds, sandbox_accounts, sql, wait_post
from tests.e2e.test_webhooks import Receiver, receiver  # noqa: F401  (the fixture)
from tests.support.stack import Stack, wait_for


def sent(stack: Stack, target_id: str) -> list[str]:
    """What the sandbox platform received for a target, container by container."""
    rows = sql(
        stack,
        "SELECT content FROM publisher.sandbox_posts WHERE target_id = $1 ORDER BY container_index",
        target_id,
    )
    return [r["content"] for r in rows]


def events_of(api: httpx.Client, post_id: str) -> list[dict[str, Any]]:
    found = api.get("/events", params={"limit": 100}).json()["data"]
    return [e for e in found if e["data"].get("post_id") == post_id]


def test_a_published_draft_goes_out_now_or_at_its_time(shared_stack: Stack) -> None:
    org = shared_stack.new_org()
    with org.test() as api:
        [x] = sandbox_accounts(api, ["x"])
        now = create_post(api, content="a draft, now", accounts=[x["id"]], is_draft=True)
        later = create_post(api, content="a draft, later", accounts=[x["id"]], is_draft=True)
        r = api.post(f"/posts/{now['id']}/publish", json={})
        assert (r.status_code, r.json()["status"]) == (200, "queued"), r.text
        when = in_seconds(3)
        r = api.post(f"/posts/{later['id']}/publish", json={"scheduled_at": when})
        assert (r.status_code, r.json()["status"]) == (200, "scheduled"), r.text
        published_now = wait_post(api, now["id"])
        published_later = wait_post(api, later["id"])
    assert published_now["status"] == published_later["status"] == "published"
    assert datetime.fromisoformat(published_later["published_at"]) >= datetime.fromisoformat(when)
    assert sent(shared_stack, published_later["targets"][0]["id"]) == ["a draft, later"]


def test_an_edited_post_goes_out_as_edited_and_moved_posts_wait(shared_stack: Stack, receiver: Receiver) -> None:  # noqa: F811
    org = shared_stack.new_org()
    with org.test() as api:
        hook = api.post("/webhooks", json={"url": receiver.url, "events": ["*"], "description": "lifecycle"}).json()
        x, linkedin, mastodon = sandbox_accounts(api, ["x", "linkedin", "mastodon"])
        post = create_post(api, content="v1", accounts=[x["id"], linkedin["id"]], scheduled_at=in_seconds(120))
        moved = create_post(api, content="moved", accounts=[x["id"]], scheduled_at=in_seconds(3))
        unmoved = create_post(api, content="unmoved", accounts=[x["id"]], scheduled_at=in_seconds(3))
        r = api.patch(f"/posts/{moved['id']}", json={"scheduled_at": in_seconds(600)})
        assert r.status_code == 200, r.text
        when = in_seconds(3)
        r = api.patch(
            f"/posts/{post['id']}",
            json={
                "containers": [{"content": "v2"}, {"content": "v2, a first comment"}],
                "accounts": [mastodon["id"], x["id"]],
                "scheduled_at": when,
                "expected_updated_at": post["updated_at"],
            },
        )
        assert r.status_code == 200, r.text
        edited = r.json()
        done = wait_post(api, post["id"])
        wait_post(api, unmoved["id"])
        # Its old time has passed (the unmoved twin went out at it): the moved post still waits.
        assert api.get(f"/posts/{moved['id']}").json()["status"] == "scheduled"
        assert api.delete(f"/posts/{moved['id']}").status_code == 200

        assert done["status"] == "published" and datetime.fromisoformat(done["published_at"]) >= datetime.fromisoformat(
            when
        )
        assert [t["id"] for t in done["targets"]] == [t["id"] for t in edited["targets"]]
        for target in done["targets"]:
            assert sent(shared_stack, target["id"]) == ["v2", "v2, a first comment"]
        removed = next(t["id"] for t in post["targets"] if t["social_account_id"] == linkedin["id"])
        assert sent(shared_stack, removed) == []
        kept = next(t["id"] for t in post["targets"] if t["social_account_id"] == x["id"])
        assert kept in {t["id"] for t in done["targets"]}

        def settled() -> list[dict[str, Any]] | None:
            found = events_of(api, post["id"])
            return found if sum(e["type"] == "post.published" for e in found) == 2 else None

        feed = wait_for(settled, what="the post's events in the feed")

    kinds = [e["type"] for e in feed]
    assert kinds[:2] == ["post.scheduled", "post.updated"] and kinds[2:] == ["post.published"] * 2
    update = feed[1]["data"]
    assert update["removed_target_ids"] == [removed] and update["status"] == "scheduled"
    assert [t["target_id"] for t in update["targets"]] == [t["id"] for t in edited["targets"]]
    assert {t["account_id"] for t in update["targets"]} == {mastodon["id"], x["id"]}
    # The published events of the target the edit added carry its account, as any target's do.
    added = next(t["id"] for t in edited["targets"] if t["social_account_id"] == mastodon["id"])
    [added_published] = [e for e in feed if e["type"] == "post.published" and e["data"]["target_id"] == added]
    assert added_published["data"]["account_id"] == mastodon["id"]

    def delivered() -> list[str] | None:
        found = [e["type"] for e in receiver.events(hook["signing_secret"]) if e["data"].get("post_id") == post["id"]]
        return found if len(found) >= 4 else None

    assert wait_for(delivered, what="the webhooks") == kinds
