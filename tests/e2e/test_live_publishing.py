"""Live publishing, the same for every platform Crier publishes to: accounts connected through the
platform's own connect flow against the platform simulator, posts made through the public API with
a live key, and what landed on the platform read back from the simulator."""

from __future__ import annotations

from typing import Any

import pytest

from crier.contracts.common import Platform
from tests.e2e.conftest import create_post, sql, wait_post
from tests.support.live import LIVE_PLATFORMS, PUBLISH_ENDPOINT, Live, connect_live, contents_for
from tests.support.simulator import Simulator
from tests.support.stack import wait_for

each_platform = pytest.mark.parametrize("platform", LIVE_PLATFORMS)


def _contents(platform: Platform) -> list[str]:
    return contents_for(platform, "Launch day", "Link in the first comment", "And a third part")


@each_platform
def test_text_first_comment_and_thread_land_as_a_reply_chain(live: Live, sim: Simulator, platform: Platform) -> None:
    account = connect_live(live, platform)
    contents = _contents(platform)
    with account.org.live() as api:
        post = create_post(api, containers=[{"content": c} for c in contents], accounts=[account.id])
        done = wait_post(api, post["id"])
    [target] = done["targets"]
    assert (done["status"], target["status"], target["attempts"]) == ("published", "published", 1)
    posts = sim.posts(platform, author=account.user["id"])
    assert [p["text"] for p in posts] == contents
    assert [p["reply_to"] for p in posts] == [None, *(p["id"] for p in posts[:-1])]
    assert target["platform_post_id"] == posts[0]["id"]


@each_platform
def test_rate_limit_is_waited_out_without_counting(live: Live, sim: Simulator, platform: Platform) -> None:
    account = connect_live(live, platform)
    # Retry-After: 0, "now": the refusals are waited out at once, so the test does not wait 6 s.
    sim.fault(platform, PUBLISH_ENDPOINT[platform], "rate_limit", times=6, retry_after=0)
    with account.org.live() as api:
        post = create_post(api, content="Patience", accounts=[account.id])
        done = wait_post(api, post["id"], timeout=60)
    [target] = done["targets"]
    # Six refusals and the seventh try: more tries than the five failed attempts allowed.
    assert (done["status"], target["attempts"]) == ("published", 7)
    assert len(sim.posts(platform, author=account.user["id"])) == 1
    [row] = sql(live.stack, "SELECT failed_attempts FROM publisher.targets WHERE target_id = $1", target["id"])
    assert row["failed_attempts"] == 0


@each_platform
def test_outage_dead_letters_after_five_attempts(live: Live, sim: Simulator, platform: Platform) -> None:
    account = connect_live(live, platform)
    sim.fault(platform, PUBLISH_ENDPOINT[platform], "server_error", times=5)
    with account.org.live() as api:
        post = create_post(api, content="Down", accounts=[account.id])
        done = wait_post(api, post["id"], timeout=60)
    [target] = done["targets"]
    assert (done["status"], target["status"], target["attempts"]) == ("failed", "dead", 5)
    assert sim.posts(platform, author=account.user["id"]) == []


@each_platform
def test_revoked_grant_fails_the_target_as_token_expired(live: Live, sim: Simulator, platform: Platform) -> None:
    account = connect_live(live, platform)
    sim.revoke_grants(platform, account.user["id"])
    with account.org.live() as api:
        post = create_post(api, content="Anyone there?", accounts=[account.id])
        done = wait_post(api, post["id"])
        [target] = done["targets"]
        assert (target["status"], target["error_code"], target["attempts"]) == ("failed", "account_token_expired", 1)

        def expired_event() -> list[dict[str, Any]]:
            events = api.get("/events", params={"type": "account.token_expired"}).json()["data"]
            return [e for e in events if e["data"]["account_id"] == account.id]

        wait_for(expired_event, what="account.token_expired in the event feed")
        assert api.get(f"/social-accounts/{account.id}").json()["status"] == "token_expired"
    assert sim.posts(platform, author=account.user["id"]) == []


def _refused(api: Any, body: dict[str, Any]) -> dict[str, Any]:
    r = api.post("/posts", json=body)
    assert r.status_code == 422, r.text
    return dict(r.json()["error"]["details"]["accounts"])


def test_a_mastodon_account_is_held_to_its_instances_limit_at_create_and_at_delivery(
    live: Live, sim: Simulator
) -> None:
    """Connect reads each account's instance limit; the gateway refuses what the instance would,
    and the publisher's re-check agrees with it: no 201 that then fails."""
    tight = connect_live(live, "mastodon")  # the instance allows Mastodon's default, 500
    sim.configure("mastodon", max_characters=1000)
    roomy = connect_live(live, "mastodon", tight.org)
    six_hundred = "Longer than most instances allow. " + "a" * 566
    with tight.org.live() as api:
        refused = _refused(api, {"content": six_hundred, "accounts": [tight.id, roomy.id]})
        assert list(refused) == [tight.id] and "at most 500" in refused[tight.id][0]["message"]
        assert "at most 1000" in _refused(api, {"content": "a" * 1001, "accounts": [roomy.id]})[roomy.id][0]["message"]
        post = create_post(api, content=six_hundred, accounts=[roomy.id])
        done = wait_post(api, post["id"])
    [target] = done["targets"]
    assert (done["status"], target["status"], target["attempts"]) == ("published", "published", 1)
    assert [p["text"] for p in sim.posts("mastodon", author=roomy.user["id"])] == [six_hundred]
    assert sim.posts("mastodon", author=tight.user["id"]) == []


def test_a_linkedin_organization_is_refused_connections_at_create(live: Live, sim: Simulator) -> None:
    organization = connect_live(live, "linkedin", kind="organization", pages=1)
    member = connect_live(live, "linkedin", organization.org, kind="profile", pages=1)
    connections = {"linkedin": {"visibility": "CONNECTIONS"}}
    with organization.org.live() as api:
        refused = _refused(
            api, {"content": "Only for my network", "accounts": [organization.id], "config": connections}
        )
        assert [(p["field"], p["code"]) for p in refused[organization.id]] == [
            ("config.linkedin.visibility", "invalid_config")
        ]
        for account, config in ((member, connections), (organization, {"linkedin": {"visibility": "PUBLIC"}})):
            post = create_post(api, content=f"Hello from {account.id}", accounts=[account.id], config=config)
            done = wait_post(api, post["id"])
            assert done["targets"][0]["status"] == "published", done
    [by_member] = sim.posts("linkedin", author=member.user["id"])
    [by_organization] = sim.posts("linkedin", author=organization.user["id"])
    assert by_member["request"]["visibility"] == "CONNECTIONS"
    assert by_member["request"]["author"].startswith("urn:li:person:")
    assert by_organization["request"]["visibility"] == "PUBLIC"
    assert by_organization["request"]["author"].startswith("urn:li:organization:")


def test_tokens_are_never_stored_or_logged_by_the_publisher(live: Live) -> None:
    """Runs after the others: every token the simulated platforms issued."""
    assert live.world is not None
    tokens = {t.value for t in live.world.tokens.values()}
    assert tokens
    rows = sql(
        live.stack, "SELECT t::text AS v FROM publisher.outbox t UNION ALL SELECT t::text FROM publisher.targets t"
    )
    rows += sql(
        live.stack,
        "SELECT t::text AS v FROM publisher.attempts t UNION ALL SELECT t::text FROM publisher.container_progress t",
    )
    stored = "\n".join(r["v"] for r in rows)
    logs = "\n".join(p.read_text(errors="replace") for p in live.stack.log_dir.glob("publisher*.log"))
    assert logs
    for value in tokens:
        assert value not in stored and value not in logs
