"""Retrying failed and dead targets over HTTP: the post's history records the redrive, the bus hears
of it, and the redriven delivery's reports count from attempt 1 again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from crier.contracts import events as contract
from tests.gateway.conftest import Gateway, Org
from tests.support.stack import wait_for


def post_with_targets(org: Org) -> dict[str, Any]:
    with org.test() as c:
        r = c.post("/posts", json={"content": "go", "accounts": [org.accounts["x"], org.accounts["linkedin"]]})
    assert r.status_code == 201, r.text
    return dict(r.json())


def report(gateway: Gateway, org: Org, post: dict[str, Any], index: int, kind: type, **fields: Any) -> None:
    target = post["targets"][index]
    gateway.driver.publish(
        kind(
            id=str(uuid.uuid4()),
            occurred_at=datetime.now(UTC),
            org_id=org.id,
            mode="test",
            post_id=post["id"],
            target_id=target["id"],
            platform=target["platform"],
            **fields,
        )
    )


def dead(gateway: Gateway, org: Org, post: dict[str, Any], index: int, redrive: int = 0) -> None:
    report(
        gateway,
        org,
        post,
        index,
        contract.TargetDeadLettered,
        attempt=5,
        error_code="platform_unavailable",
        error_message="503",
        redrive=redrive,
    )


def failed(gateway: Gateway, org: Org, post: dict[str, Any], index: int) -> None:
    report(
        gateway, org, post, index, contract.TargetFailed, attempt=1, error_code="content_rejected", error_message="no"
    )


def current(org: Org, post_id: str) -> dict[str, Any]:
    with org.test() as c:
        return dict(c.get(f"/posts/{post_id}").json())


def wait_status(org: Org, post_id: str, status: str) -> dict[str, Any]:
    return wait_for(lambda: (p := current(org, post_id))["status"] == status and p, what=f"post {status}")


def retry(client: httpx.Client, post: dict[str, Any], index: int | None = None) -> httpx.Response:
    if index is None:
        return client.post(f"/posts/{post['id']}/retry")
    return client.post(f"/posts/{post['id']}/targets/{post['targets'][index]['id']}/retry")


def test_retry_one_dead_target(gateway: Gateway, sandbox: Org) -> None:
    post = post_with_targets(sandbox)
    dead(gateway, sandbox, post, 0)
    failed(gateway, sandbox, post, 1)
    wait_status(sandbox, post["id"], "failed")

    with sandbox.test() as c:
        r = retry(c, post, 0)
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer == c.get(f"/posts/{post['id']}").json()
    # The failed target still counts: the post is on its way again, not waiting to start.
    assert answer["status"] == "publishing"
    first, second = answer["targets"]
    assert (first["status"], first["attempts"], first["error_code"], first["error_message"]) == (
        "queued",
        0,
        None,
        None,
    )
    assert (second["status"], second["error_code"]) == ("failed", "content_rejected")

    [announced] = wait_for(
        lambda: gateway.driver.announcements(post["id"], "evt.post.redriven"), what="evt.post.redriven"
    )
    assert (announced.target_ids, announced.redrive) == ([first["id"]], 1)
    assert (announced.org_id, announced.mode) == (sandbox.id, "test")
    changes = wait_for(
        lambda: len(m := gateway.driver.announcements(post["id"], "evt.post.status_changed")) == 3 and m,
        what="the roll-up's moves announced",
    )
    assert [(m.previous_status, m.status) for m in changes][-1] == ("failed", "publishing")

    # Late reports of the dead delivery change nothing; the new delivery counts from attempt 1.
    report(gateway, sandbox, post, 0, contract.TargetPublishing, attempt=5)
    report(gateway, sandbox, post, 0, contract.TargetPublishing, attempt=1, redrive=1)
    wait_for(lambda: current(sandbox, post["id"])["targets"][0]["attempts"] == 1, what="attempt 1 recorded")
    assert current(sandbox, post["id"])["targets"][0]["status"] == "publishing"
    report(gateway, sandbox, post, 0, contract.TargetPublished, attempt=1, platform_post_id="x-9", redrive=1)
    done = wait_status(sandbox, post["id"], "partial")
    assert (done["targets"][0]["status"], done["targets"][0]["attempts"]) == ("published", 1)
    assert done["targets"][0]["platform_post_id"] == "x-9"


def test_retry_every_failed_and_dead_target_of_a_post(gateway: Gateway, sandbox: Org) -> None:
    post = post_with_targets(sandbox)
    dead(gateway, sandbox, post, 0)
    failed(gateway, sandbox, post, 1)
    wait_status(sandbox, post["id"], "failed")
    with sandbox.test() as c:
        r = retry(c, post)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "queued"
        assert [(t["status"], t["attempts"]) for t in r.json()["targets"]] == [("queued", 0), ("queued", 0)]
        # Nothing is failed or dead any more.
        again = retry(c, post)
        assert again.status_code == 409 and again.json()["error"]["code"] == "post_not_retryable"
        assert again.json()["error"]["details"] == {"status": "queued"}
    [announced] = wait_for(
        lambda: gateway.driver.announcements(post["id"], "evt.post.redriven"), what="evt.post.redriven"
    )
    assert (announced.target_ids, announced.redrive) == ([t["id"] for t in post["targets"]], 1)

    # Dead again in generation 1: the next redrive is generation 2.
    dead(gateway, sandbox, post, 0, redrive=1)
    wait_for(lambda: current(sandbox, post["id"])["targets"][0]["status"] == "dead", what="dead again")
    with sandbox.test() as c:
        assert retry(c, post, 0).status_code == 200
    redrives = wait_for(
        lambda: len(m := gateway.driver.announcements(post["id"], "evt.post.redriven")) == 2 and m,
        what="the second redrive",
    )
    assert (redrives[1].target_ids, redrives[1].redrive) == ([post["targets"][0]["id"]], 2)


def test_only_failed_and_dead_targets_are_retryable(gateway: Gateway, sandbox: Org) -> None:
    post = post_with_targets(sandbox)
    report(gateway, sandbox, post, 0, contract.TargetPublished, attempt=1, platform_post_id="x-1")
    wait_for(lambda: current(sandbox, post["id"])["targets"][0]["status"] == "published", what="published")
    with sandbox.test() as c:
        for index, status in ((0, "published"), (1, "queued")):
            r = retry(c, post, index)
            assert r.status_code == 409, r.text
            error = r.json()["error"]
            assert error["code"] == "target_not_retryable"
            assert error["details"] == {"target_id": post["targets"][index]["id"], "status": status}
        r = retry(c, post)
        assert r.status_code == 409 and r.json()["error"]["code"] == "post_not_retryable"
    assert gateway.driver.announcements(post["id"], "evt.post.redriven") == []


def test_unknown_posts_and_targets_are_404_and_modes_and_orgs_are_isolated(gateway: Gateway, sandbox: Org) -> None:
    post = post_with_targets(sandbox)
    dead(gateway, sandbox, post, 0)
    wait_for(lambda: current(sandbox, post["id"])["targets"][0]["status"] == "dead", what="dead")
    target_id = post["targets"][0]["id"]
    other = gateway.new_org("other")
    with sandbox.test() as c:
        assert c.post(f"/posts/{uuid.uuid4()}/retry").status_code == 404
        assert c.post(f"/posts/{uuid.uuid4()}/targets/{target_id}/retry").status_code == 404
        r = c.post(f"/posts/{post['id']}/targets/{uuid.uuid4()}/retry")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        # A target of another post is not this post's.
        elsewhere = post_with_targets(sandbox)
        assert c.post(f"/posts/{elsewhere['id']}/targets/{target_id}/retry").status_code == 404
    for client in (sandbox.live(), other.test(), other.live()):
        with client as c:
            assert retry(c, post, 0).status_code == 404
            assert retry(c, post).status_code == 404
    assert current(sandbox, post["id"])["targets"][0]["status"] == "dead"
    viewer = gateway.client(_key(gateway, sandbox, ["view"]))
    with viewer as c:
        r = retry(c, post, 0)
        assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_scope"
    with sandbox.test() as c:
        assert retry(c, post, 0).status_code == 200


def test_retry_routes_are_documented(gateway: Gateway) -> None:
    with gateway.client() as c:
        paths = c.get("/openapi.json").json()["paths"]
    for path, operation_id in (
        ("/api/v1/posts/{post_id}/retry", "retryPost"),
        ("/api/v1/posts/{post_id}/targets/{target_id}/retry", "retryPostTarget"),
    ):
        operation = paths[path]["post"]
        assert operation["operationId"] == operation_id
        assert {"200", "404", "409"} <= set(operation["responses"])
        assert "target_not_retryable" in operation["responses"]["409"]["description"]
        assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Post"
        }


def _key(gateway: Gateway, org: Org, scopes: list[str]) -> str:
    from crier.gateway.entrypoints import admin

    return str(admin.create_api_key(gateway.database_url, org=org.id, name="v", mode="test", scopes=scopes)["key"])
