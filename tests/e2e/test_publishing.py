"""A post travels gateway → scheduler → publisher over JetStream and its status rolls up."""

from __future__ import annotations

from datetime import datetime

from tests.e2e.conftest import create_post, in_seconds, sandbox_accounts, sql, wait_post
from tests.support.stack import Stack


def test_immediate_post_to_three_sandbox_accounts_is_published(shared_stack: Stack) -> None:
    org = shared_stack.new_org()
    with org.test() as client:
        accounts = sandbox_accounts(client, ["x", "linkedin", "bluesky"])
        post = create_post(client, content="Hello from Crier", accounts=[a["id"] for a in accounts])
        assert post["status"] == "queued"
        assert len(post["targets"]) == 3
        done = wait_post(client, post["id"])
    assert done["status"] == "published"
    assert {t["platform"] for t in done["targets"]} == {"x", "linkedin", "bluesky"}
    for target in done["targets"]:
        assert target["status"] == "published"
        assert target["platform_post_id"] and target["platform_post_url"]
        assert target["attempts"] == 1


def test_thread_is_posted_in_order_as_replies(shared_stack: Stack) -> None:
    org = shared_stack.new_org()
    with org.test() as client:
        [account] = sandbox_accounts(client, ["x"])
        post = create_post(
            client,
            containers=[{"content": "root"}, {"content": "first comment"}, {"content": "reply two"}],
            accounts=[account["id"]],
        )
        assert wait_post(client, post["id"])["status"] == "published"
    target_id = post["targets"][0]["id"]
    rows = sql(
        shared_stack,
        "SELECT container_index, parent_id, content, id FROM publisher.sandbox_posts "
        "WHERE target_id = $1 ORDER BY container_index",
        target_id,
    )
    assert [r["content"] for r in rows] == ["root", "first comment", "reply two"]
    assert rows[0]["parent_id"] is None
    assert rows[1]["parent_id"] == rows[0]["id"] and rows[2]["parent_id"] == rows[1]["id"]


def test_scheduled_post_fires_on_time_and_not_before(shared_stack: Stack) -> None:
    org = shared_stack.new_org()
    with org.test() as client:
        [account] = sandbox_accounts(client, ["mastodon"])
        when = in_seconds(2)
        post = create_post(client, content="scheduled", accounts=[account["id"]], scheduled_at=when)
        assert post["status"] == "scheduled"
        assert post["targets"][0]["status"] == "pending"
        done = wait_post(client, post["id"])
    assert done["status"] == "published"
    [row] = sql(
        shared_stack, "SELECT created_at FROM publisher.sandbox_posts WHERE target_id = $1", post["targets"][0]["id"]
    )
    lateness = (row["created_at"] - datetime.fromisoformat(when)).total_seconds()
    assert 0 <= lateness < 1.0, f"fired {lateness:.3f}s after its time"


def test_canceled_scheduled_post_never_fires(shared_stack: Stack) -> None:
    org = shared_stack.new_org()
    with org.test() as client:
        [account] = sandbox_accounts(client, ["threads"])
        when = in_seconds(2)
        doomed = create_post(client, content="never", accounts=[account["id"]], scheduled_at=when)
        witness = create_post(client, content="same time", accounts=[account["id"]], scheduled_at=when)
        r = client.delete(f"/posts/{doomed['id']}")
        assert r.status_code == 200 and r.json()["canceled"] is True
        # The witness, due at the same moment, proves the moment has passed and been handled.
        assert wait_post(client, witness["id"])["status"] == "published"
        after = client.get(f"/posts/{doomed['id']}").json()
        assert after["status"] == "canceled"
        assert client.delete(f"/posts/{witness['id']}").status_code == 409
    assert after["targets"][0]["status"] == "canceled"
    assert not sql(
        shared_stack, "SELECT 1 FROM publisher.sandbox_posts WHERE target_id = $1", doomed["targets"][0]["id"]
    )


def test_retryable_failure_dead_letters_after_exactly_five_attempts(shared_stack: Stack) -> None:
    org = shared_stack.new_org()
    with org.test() as client:
        [account] = sandbox_accounts(client, ["google_business"])
        post = create_post(client, content="boom [sandbox:fail]", accounts=[account["id"]])
        done = wait_post(client, post["id"])
    target = done["targets"][0]
    assert done["status"] == "failed"
    assert target["status"] == "dead"
    assert target["attempts"] == 5
    assert target["error_code"]


def test_failures_then_success_and_mixed_outcome_is_partial(shared_stack: Stack) -> None:
    org = shared_stack.new_org()
    with org.test() as client:
        ok, flaky, rejected = sandbox_accounts(client, ["x", "facebook", "linkedin"])
        post = create_post(
            client,
            content="launch",
            accounts=[ok["id"], flaky["id"], rejected["id"]],
            targets=[
                {"account_id": flaky["id"], "override_body": "launch [sandbox:fail-times=2]"},
                {"account_id": rejected["id"], "override_body": "launch [sandbox:reject]"},
            ],
        )
        done = wait_post(client, post["id"])
    by_account = {t["social_account_id"]: t for t in done["targets"]}
    assert done["status"] == "partial"
    assert by_account[ok["id"]]["status"] == "published" and by_account[ok["id"]]["attempts"] == 1
    assert by_account[flaky["id"]]["status"] == "published" and by_account[flaky["id"]]["attempts"] == 3
    assert by_account[rejected["id"]]["status"] == "failed" and by_account[rejected["id"]]["attempts"] == 1
    assert by_account[rejected["id"]]["error_code"] == "content_rejected"
