"""Crashes delay work and never lose or duplicate it."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.e2e.conftest import create_post, in_seconds, sandbox_accounts, sql, wait_post
from tests.support.stack import Stack, wait_for


def test_publisher_killed_mid_target_resumes_without_reposting_the_root(own_stack: Stack) -> None:
    org = own_stack.new_org()
    with org.test() as client:
        [account] = sandbox_accounts(client, ["x"])
        post = create_post(
            client,
            containers=[{"content": "root [sandbox:slow=1500]"}, {"content": "reply"}],
            accounts=[account["id"]],
        )
        target_id = post["targets"][0]["id"]
        wait_for(
            lambda: sql(
                own_stack,
                "SELECT 1 FROM publisher.sandbox_posts WHERE target_id = $1 AND container_index = 0",
                target_id,
            ),
            what="the root to be posted",
        )
        own_stack.supervisor.processes["publisher"].kill()
        assert client.get(f"/posts/{post['id']}").json()["status"] == "publishing"
        own_stack.supervisor.processes["publisher"].start()
        done = wait_post(client, post["id"], timeout=60)
    assert done["status"] == "published"
    rows = sql(
        own_stack,
        "SELECT container_index, count(*) AS n FROM publisher.sandbox_posts "
        "WHERE target_id = $1 GROUP BY container_index ORDER BY container_index",
        target_id,
    )
    assert [(r["container_index"], r["n"]) for r in rows] == [(0, 1), (1, 1)]


def test_scheduler_down_when_posts_fall_due_fires_each_exactly_once(own_stack: Stack) -> None:
    org = own_stack.new_org()
    scheduler = own_stack.supervisor.processes["scheduler"]
    with org.test() as client:
        accounts = sandbox_accounts(client, ["x", "linkedin"])
        when = in_seconds(2)
        # Some posts reach the scheduler before it dies, the rest wait in JetStream while it is down.
        before = [
            create_post(client, content=f"before {i}", accounts=[a["id"] for a in accounts], scheduled_at=when)
            for i in range(3)
        ]
        wait_for(
            lambda: sql(own_stack, "SELECT count(*) AS n FROM scheduler.inbox")[0]["n"] >= 3,
            what="the scheduler to take the first posts",
        )
        scheduler.kill()
        during = [
            create_post(client, content=f"during {i}", accounts=[a["id"] for a in accounts], scheduled_at=when)
            for i in range(3)
        ]
        due = datetime.fromisoformat(when)
        wait_for(lambda: datetime.now(UTC) > due, what="the due moment to pass")
        scheduler.start()
        posts = [wait_post(client, p["id"], timeout=60) for p in before + during]
    assert all(p["status"] == "published" for p in posts)
    target_ids = [t["id"] for p in posts for t in p["targets"]]
    rows = sql(
        own_stack,
        "SELECT target_id, count(*) AS n FROM publisher.sandbox_posts "
        "WHERE target_id = ANY($1::text[]) GROUP BY target_id",
        target_ids,
    )
    assert len(rows) == len(target_ids) == 12
    assert all(r["n"] == 1 for r in rows)


def test_scheduler_restart_with_pending_timetable_fires_once(own_stack: Stack) -> None:
    org = own_stack.new_org()
    scheduler = own_stack.supervisor.processes["scheduler"]
    with org.test() as client:
        [account] = sandbox_accounts(client, ["bluesky"])
        when = in_seconds(3)
        posts = [create_post(client, content=f"p{i}", accounts=[account["id"]], scheduled_at=when) for i in range(4)]
        wait_for(
            lambda: sql(own_stack, "SELECT count(*) AS n FROM scheduler.inbox")[0]["n"] >= 4,
            what="the scheduler to take the posts",
        )
        scheduler.terminate()
        scheduler.start()
        done = [wait_post(client, p["id"], timeout=60) for p in posts]
    assert [p["status"] for p in done] == ["published"] * 4
    ids = [p["targets"][0]["id"] for p in done]
    rows = sql(own_stack, "SELECT count(*) AS n FROM publisher.sandbox_posts WHERE target_id = ANY($1::text[])", ids)
    assert rows[0]["n"] == 4
