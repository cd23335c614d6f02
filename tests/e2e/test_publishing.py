"""A post travels gateway → scheduler → publisher over JetStream and its status rolls up."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

from crier.platforms.simulator.world import World
from tests.e2e.conftest import create_post, in_seconds, sandbox_accounts, sql, wait_post
from tests.support.simulator import Simulator, start_simulator
from tests.support.stack import Infra, Org, Stack, start_stack, wait_for


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
        [account] = sandbox_accounts(client, ["pinterest"])
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
        ok, flaky, rejected = sandbox_accounts(client, ["x", "facebook", "tiktok"])
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


# Live publishing: a whole stack whose platforms are the platform simulator (CRIER_PLATFORM_BASE_URL),
# an account connected by OAuth, posts made through the public API with a live key.

CUSTOMER = "https://customer.test/crier/return"


@dataclass
class Live:
    stack: Stack
    sim: Simulator
    world: World


@dataclass
class LiveAccount:
    org: Org
    id: str
    # The simulated user: posts are read back by `author`.
    user: dict[str, Any]


@pytest.fixture(scope="module")
def live(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    world = World()
    sim = start_simulator(world=world)
    stack = start_stack(infra, tmp_path_factory.mktemp("live"), {"CRIER_PLATFORM_BASE_URL": sim.base_url})
    yield Live(stack, sim, world)
    stack.supervisor.stop_all()
    sim.stop()


@pytest.fixture
def sim(live: Live) -> Iterator[Simulator]:
    yield live.sim
    live.sim.clear_faults()


def connect_live(live: Live, platform: str, org: Org | None = None) -> LiveAccount:
    """A live account of `platform`, connected through the OAuth flow as a browser would."""
    org = org or live.stack.new_org("live")
    callback = f"{live.stack.api_url}/api/v1/connect/callback"
    client_id, secret = f"cid-{secrets.token_hex(4)}", f"cs_{secrets.token_urlsafe(16)}"
    live.sim.add_app(platform, client_id=client_id, client_secret=secret, redirect_uris=[callback])
    user = live.sim.add_user(platform, username=f"u{secrets.token_hex(4)}")
    with org.live() as api, httpx.Client(follow_redirects=False, timeout=30) as browser:
        assert api.post("/redirect-uris", json={"uri": CUSTOMER}).status_code in (200, 201, 409)
        r = api.post("/social-networks", json={"platform": platform, "client_id": client_id, "client_secret": secret})
        assert r.status_code == 200, r.text
        r = api.post(f"/social-networks/{platform}/auth-url", json={"redirect_uri": CUSTOMER, "tenant_id": "t1"})
        assert r.status_code == 200, r.text
        url = r.json()["auth_url"]
        for _ in range(10):
            location = browser.get(url).headers.get("location", "")
            if location.startswith(CUSTOMER):
                break
            assert location, f"the flow stopped at {url}"
            url = urljoin(url, location)
        landing = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert landing.get("status") == "connected", landing
    return LiveAccount(org, landing["account_id"], user)


def test_live_text_first_comment_and_thread_land_as_a_reply_chain(live: Live, sim: Simulator) -> None:
    account = connect_live(live, "mastodon")
    contents = ["Launch day", "Link in the first comment", "And a third part"]
    with account.org.live() as api:
        post = create_post(api, containers=[{"content": c} for c in contents], accounts=[account.id])
        done = wait_post(api, post["id"])
    [target] = done["targets"]
    assert (done["status"], target["status"], target["attempts"]) == ("published", "published", 1)
    posts = sim.posts("mastodon", author=account.user["id"])
    assert [p["text"] for p in posts] == contents
    assert [p["reply_to"] for p in posts] == [None, posts[0]["id"], posts[1]["id"]]
    assert [p["request"].get("in_reply_to_id") for p in posts] == [None, posts[0]["id"], posts[1]["id"]]
    assert [p["idempotency_key"] for p in posts] == [f"{target['id']}:{i}" for i in range(3)]
    assert target["platform_post_id"] == posts[0]["id"]


def test_live_rate_limit_is_waited_out_without_counting(live: Live, sim: Simulator) -> None:
    account = connect_live(live, "mastodon")
    sim.fault("mastodon", "statuses", "rate_limit", times=6, retry_after=1)
    with account.org.live() as api:
        post = create_post(api, content="Patience", accounts=[account.id])
        done = wait_post(api, post["id"], timeout=60)
    [target] = done["targets"]
    # Six refusals and the seventh try: more tries than the five failed attempts allowed.
    assert (done["status"], target["attempts"]) == ("published", 7)
    assert len(sim.posts("mastodon", author=account.user["id"])) == 1
    [row] = sql(live.stack, "SELECT failed_attempts FROM publisher.targets WHERE target_id = $1", target["id"])
    assert row["failed_attempts"] == 0


def test_live_outage_dead_letters_after_five_attempts(live: Live, sim: Simulator) -> None:
    account = connect_live(live, "mastodon")
    sim.fault("mastodon", "statuses", "server_error", times=5)
    with account.org.live() as api:
        post = create_post(api, content="Down", accounts=[account.id])
        done = wait_post(api, post["id"], timeout=60)
    [target] = done["targets"]
    assert (done["status"], target["status"], target["attempts"]) == ("failed", "dead", 5)
    assert sim.posts("mastodon", author=account.user["id"]) == []


def test_live_revoked_grant_fails_the_target_as_token_expired(live: Live, sim: Simulator) -> None:
    account = connect_live(live, "mastodon")
    sim.revoke_grants("mastodon", account.user["id"])
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
    assert sim.posts("mastodon", author=account.user["id"]) == []


def test_live_tokens_are_never_stored_or_logged_by_the_publisher(live: Live) -> None:
    """Runs after the others: every token the simulated platforms issued."""
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
