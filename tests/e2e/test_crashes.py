"""Crashes delay work and never lose or duplicate it."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from crier.contracts.common import Platform
from crier.platforms import publishing
from tests.e2e.conftest import create_post, in_seconds, sandbox_accounts, sql, wait_post
from tests.support.live import LIVE_PLATFORMS, PUBLISH_ENDPOINT, Live, connect_live
from tests.support.simulator import Simulator
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


def _post_and_reply(platform: Platform, post: str, reply: str) -> list[str]:
    """A post and its first comment, or the post alone on a platform that takes one container
    (Google Business Profile)."""
    return [post, reply][: 1 + publishing.rules(platform).first_comment]


@pytest.mark.parametrize("platform", LIVE_PLATFORMS)
def test_publisher_killed_between_the_platforms_answer_and_its_record_posts_once(
    live: Live, sim: Simulator, platform: Platform
) -> None:
    account = connect_live(live, platform)
    # The module's tests share the simulator: only this test's calls count.
    since = time.time()
    author = account.user["id"]
    # The platform makes the post, then holds its answer: the publisher dies not knowing the outcome.
    sim.fault(platform, PUBLISH_ENDPOINT[platform], "accept_then_timeout", hang_s=30)
    contents = _post_and_reply(platform, "the root", "the reply")
    with account.org.live() as api:
        post = create_post(api, containers=[{"content": c} for c in contents], accounts=[account.id])
        sim.wait_for_posts(platform, 1, author=author)
        publisher = live.stack.supervisor.processes["publisher"]
        publisher.kill()
        publisher.start()
        done = wait_post(api, post["id"], timeout=60)
    [target] = done["targets"]
    assert (done["status"], target["attempts"]) == ("published", 1)
    posts = sim.posts(platform, author=author)
    expected = [("the root", None), ("the reply", posts[0]["id"])][: len(contents)]
    assert [(p["text"], p["reply_to"]) for p in posts] == expected
    assert target["platform_post_id"] == posts[0]["id"]
    # The restarted publisher looked for the root on the platform and adopted it: one post asked
    # for per container, not one more.
    asked = [r for r in sim.requests(platform, PUBLISH_ENDPOINT[platform]) if r["at"] >= since]
    assert len(asked) == len(contents)


@pytest.mark.parametrize("platform", LIVE_PLATFORMS)
def test_two_publishers_for_one_platform_publish_each_target_once(live: Live, platform: Platform) -> None:
    name = f"publisher-2-{platform}"
    second = live.stack.supervisor.add(name, ["publisher", "--platform", platform])
    second.start()
    try:
        wait_for(lambda: "service.ready" in (live.stack.log_dir / f"{name}.log").read_text(), what=name)
        _publish_through_two_publishers(live, platform)
    finally:
        # The module's stack goes on without it.
        second.terminate()
        del live.stack.supervisor.processes[name]


def _publish_through_two_publishers(live: Live, platform: Platform) -> None:
    accounts = [connect_live(live, platform) for _ in range(2)]
    with accounts[0].org.live() as first, accounts[1].org.live() as other:
        posts = [
            create_post(
                api,
                containers=[{"content": c} for c in _post_and_reply(platform, f"post {i}", f"reply {i}")],
                accounts=[a.id],
            )
            for i in range(12)
            for api, a in ((first, accounts[0]), (other, accounts[1]))
        ]
        done = [
            wait_post(first if p["targets"][0]["social_account_id"] == accounts[0].id else other, p["id"])
            for p in posts
        ]
    assert [p["status"] for p in done] == ["published"] * len(posts)
    for account in accounts:
        made = live.sim.posts(platform, author=account.user["id"])
        assert sorted(p["text"] for p in made) == sorted(
            text for i in range(12) for text in _post_and_reply(platform, f"post {i}", f"reply {i}")
        )
