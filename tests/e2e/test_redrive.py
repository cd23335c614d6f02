"""Redrive through the whole stack: dead targets retried over the API and by the operator's CLI
go out again with a fresh attempt count, announce themselves like any delivery, and put each
container on the platform exactly once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from crier.contracts.common import Platform
from tests.e2e.conftest import create_post, sandbox_accounts, wait_post
from tests.e2e.test_cli import crier, dead_letters
from tests.support.live import (
    LIVE_PLATFORMS,
    PUBLISH_ENDPOINT,
    Live,
    LiveAccount,
    connect_live,
    contents_for,
)
from tests.support.simulator import Simulator
from tests.support.stack import wait_for

# The live platforms whose post-creating call the tests know how to fail.
FAULTABLE = [p for p in LIVE_PLATFORMS if p in PUBLISH_ENDPOINT]


def _contents(platform: Platform) -> list[str]:
    return contents_for(platform, "Back online", "Told you so", "Third part")


def _events(api: httpx.Client, kind: str, target_id: str) -> list[dict[str, Any]]:
    found = api.get("/events", params={"type": kind, "limit": 100}).json()["data"]
    return [e for e in found if e["data"].get("target_id") == target_id]


def _dead_after_five_outages(live: Live, sim: Simulator, account: LiveAccount, contents: list[str]) -> dict[str, Any]:
    sim.fault(account.platform, PUBLISH_ENDPOINT[account.platform], "server_error", times=5)
    with account.org.live() as api:
        post = create_post(api, containers=[{"content": c} for c in contents], accounts=[account.id])
        done = wait_post(api, post["id"], timeout=90)
    [target] = done["targets"]
    assert (done["status"], target["status"], target["attempts"]) == ("failed", "dead", 5)
    return done


def _assert_landed_once(sim: Simulator, account: LiveAccount, contents: list[str], target: dict[str, Any]) -> None:
    posts = sim.posts(account.platform, author=account.user["id"])
    assert [p["text"] for p in posts] == contents
    assert [p["reply_to"] for p in posts] == [None, *(p["id"] for p in posts[:-1])]
    assert target["platform_post_id"] == posts[0]["id"]


@pytest.mark.parametrize("platform", FAULTABLE)
def test_dead_after_five_outages_then_retried_is_published_once(live: Live, sim: Simulator, platform: Platform) -> None:
    account = connect_live(live, platform)
    contents = _contents(platform)
    done = _dead_after_five_outages(live, sim, account, contents)
    [target] = done["targets"]
    assert sim.posts(platform, author=account.user["id"]) == []
    with account.org.live() as api:
        r = api.post(f"/posts/{done['id']}/targets/{target['id']}/retry")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "queued"
        assert [(t["status"], t["attempts"]) for t in r.json()["targets"]] == [("queued", 0)]
        published = wait_post(api, done["id"], timeout=60)
        [target] = published["targets"]
        assert (published["status"], target["status"], target["attempts"]) == ("published", "published", 1)
        # The redriven delivery announces itself as any delivery does.
        [event] = wait_for(lambda: _events(api, "post.published", target["id"]), what="post.published")
        assert event["data"]["attempt"] == 1 and event["data"]["platform_post_id"] == target["platform_post_id"]
        assert len(_events(api, "target.dead_lettered", target["id"])) == 1
    _assert_landed_once(sim, account, contents, target)


def test_a_redriven_thread_resumes_after_the_container_that_went_out(live: Live, sim: Simulator) -> None:
    account = connect_live(live, "mastodon")
    author = account.user["id"]
    contents = ["Root", "The reply that keeps failing", "The end"]
    # The root goes through; the reply meets five outages.
    sim.fault("mastodon", PUBLISH_ENDPOINT["mastodon"], "server_error", times=5, skip=1)
    with account.org.live() as api:
        post = create_post(api, containers=[{"content": c} for c in contents], accounts=[account.id])
        [root] = sim.wait_for_posts("mastodon", 1, author=author, timeout=30)
        done = wait_post(api, post["id"], timeout=120)
        [target] = done["targets"]
        assert (target["status"], target["attempts"]) == ("dead", 5)
        assert [p["id"] for p in sim.posts("mastodon", author=author)] == [root["id"]]

        r = api.post(f"/posts/{post['id']}/retry")
        assert r.status_code == 200, r.text
        published = wait_post(api, post["id"], timeout=120)
    [target] = published["targets"]
    assert (published["status"], target["attempts"]) == ("published", 1)
    _assert_landed_once(sim, account, contents, target)
    assert sim.posts("mastodon", author=author)[0]["id"] == root["id"]


def test_a_sandbox_target_retried_dies_again_after_five_fresh_attempts(live: Live) -> None:
    org = live.stack.new_org("sandbox-redrive")
    with org.test() as api:
        [account] = sandbox_accounts(api, ["bluesky"])
        post = create_post(api, content="never [sandbox:fail]", accounts=[account["id"]])
        first = wait_post(api, post["id"])
        [target] = first["targets"]
        assert (first["status"], target["status"], target["attempts"]) == ("failed", "dead", 5)
        r = api.post(f"/posts/{post['id']}/retry")
        assert r.status_code == 200 and r.json()["status"] == "queued"
        # Five more attempts, then dead again: two deaths, each with its webhooks.
        deaths = wait_for(
            lambda: len(e := _events(api, "target.dead_lettered", target["id"])) == 2 and e,
            timeout=60,
            what="the second death",
        )
        assert [d["data"]["attempt"] for d in deaths] == [5, 5]
        errors = _events(api, "post.error", target["id"])
        assert [e["data"]["attempt"] for e in errors] == [1, 2, 3, 4, 5] * 2
        again = wait_post(api, post["id"])
        assert (again["status"], again["targets"][0]["status"], again["targets"][0]["attempts"]) == (
            "failed",
            "dead",
            5,
        )

        def post_failed_events() -> list[dict]:
            feed = api.get("/events", params={"type": "post.failed"}).json()["data"]
            return [e for e in feed if e["data"]["post_id"] == post["id"]]

        # The post's second failure reaches the event feed through the gateway's outbox and the
        # webhooks' intake, a moment after the post itself reads `failed`: waited for, not raced.
        wait_for(lambda: len(post_failed_events()) >= 2, timeout=30, what="the second post.failed event")
        assert len(post_failed_events()) == 2


def test_the_operator_lists_and_redrives_dead_targets(live: Live, sim: Simulator) -> None:
    account = connect_live(live, "mastodon")
    since = datetime.now(UTC).isoformat()
    done = _dead_after_five_outages(live, sim, account, ["Quiet", "Loud"])
    [target] = done["targets"]

    listed = [r for r in dead_letters(live.stack, "--platform", "mastodon", "--since", since)]
    assert [(r["post_id"], r["target_id"], r["org_id"], r["mode"], r["redrive"]) for r in listed] == [
        (done["id"], target["id"], account.org.id, "live", "0")
    ]
    assert listed[0]["error_code"] == target["error_code"]
    assert dead_letters(live.stack, "--platform", "x", "--since", since) == []

    out = crier(live.stack, "dead-letters", "redrive", "--platform", "mastodon", "--since", since).split("\n")
    assert out == [f"redriven r1\t{done['id']}\t{target['id']}\tmastodon", "redrove 1 of 1 dead targets"]
    with account.org.live() as api:
        published = wait_post(api, done["id"], timeout=60)
    assert (published["status"], published["targets"][0]["attempts"]) == ("published", 1)
    _assert_landed_once(sim, account, ["Quiet", "Loud"], published["targets"][0])
    # Published now: no longer a dead letter, though its copy stays on the DEAD stream.
    assert dead_letters(live.stack, "--platform", "mastodon", "--since", since) == []
