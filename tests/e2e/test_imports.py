"""Imports of an account's existing posts, through the public API: a live account's timeline read
from the platform simulator across a 429 and a SIGKILL of the publisher, a re-run that adds only
what is new, every other platform's timeline paged through across a 429, a revoked grant, and a
sandbox account's deterministic history."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from crier.contracts.common import Platform
from crier.platforms.timelines import PAGE_SIZE, mastodon, tiktok
from tests.e2e.conftest import sandbox_accounts, sql
from tests.support.hooks import Receiver
from tests.support.live import Live, connect_live
from tests.support.simulator import Simulator
from tests.support.stack import wait_for

IMPORT_EVENTS = ["import.completed", "import.failed"]

# Every platform but X (taken through the kill above): the simulator's name for its timeline call,
# where the 429 goes, and how many posts its reader asks for a page.
TIMELINES: dict[Platform, tuple[str, int]] = {
    "mastodon": ("account_statuses", mastodon.LIMIT),
    "bluesky": ("getAuthorFeed", PAGE_SIZE),
    "linkedin": ("author_posts", PAGE_SIZE),
    "facebook": ("published_posts", PAGE_SIZE),
    "instagram": ("user_media", PAGE_SIZE),
    "threads": ("user_threads", PAGE_SIZE),
    "youtube": ("playlist_items", PAGE_SIZE),
    "pinterest": ("list_pins", PAGE_SIZE),
    "tiktok": ("video_list", tiktok.MAX_COUNT),
    "google_business": ("local_posts_list", PAGE_SIZE),
}
# The accounts imported: each platform's connect flow as it comes (a Facebook Page, an Instagram
# professional account, a YouTube channel, a Business Profile location: the first one offered), and
# a LinkedIn organization besides the member, whose own posts the first case imports.
ACCOUNTS = [pytest.param(p, {}, id=p) for p in TIMELINES] + [
    pytest.param("linkedin", {"kind": "organization", "pages": 1}, id="linkedin-organization")
]


def url_on_platform(platform: Platform, post: dict[str, Any]) -> str:
    """Where people see a post the simulator holds, as the platform's own answers name it."""
    shown, post_id = post["response"] or {}, post["id"]
    links = {
        "mastodon": lambda: shown["url"],
        "bluesky": lambda: "https://bsky.app/profile/{}/post/{}".format(*post_id.removeprefix("at://").split("/")[::2]),
        "linkedin": lambda: f"https://www.linkedin.com/feed/update/{post_id}/",
        "facebook": lambda: shown["permalink_url"],
        "instagram": lambda: shown["permalink"],
        "threads": lambda: shown["permalink"],
        "youtube": lambda: f"https://www.youtube.com/watch?v={post_id}",
        "pinterest": lambda: f"https://www.pinterest.com/pin/{post_id}/",
        "tiktok": lambda: f"https://www.tiktok.com/@{post['user_id']}/video/{post_id}",
        "google_business": lambda: shown["searchUrl"],
    }
    return str(links[platform]())


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def subscribe(api: httpx.Client, receiver: Receiver) -> str:
    r = api.post("/webhooks", json={"url": receiver.url, "events": IMPORT_EVENTS})
    assert r.status_code == 201, r.text
    return str(r.json()["signing_secret"])


def finished(api: httpx.Client, import_id: str, timeout: float = 60) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job = api.get(f"/imports/{import_id}").json()
        return job if job["status"] in ("completed", "failed") else None

    return wait_for(done, timeout=timeout, what=f"import {import_id} to finish")


def imported_posts(api: httpx.Client, account_id: str) -> list[dict[str, Any]]:
    posts: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"account": account_id, "source": "imported", "limit": 100, **({"cursor": cursor} if cursor else {})}
        page = api.get("/posts", params=params).json()
        posts += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return posts


def hooks_for(receiver: Receiver, secret: str, import_id: str, kind: str) -> list[dict[str, Any]]:
    return [e for e in receiver.events(secret) if e["type"] == kind and e["data"].get("import_id") == import_id]


def test_an_import_survives_a_429_and_a_killed_publisher_and_a_rerun_adds_only_the_new(
    live: Live, sim: Simulator, receiver: Receiver
) -> None:
    account = connect_live(live, "x", history=300)
    author = account.user["id"]
    # Six pages of 50: slow enough to kill the publisher between two of them; page 3 is refused once.
    sim.configure("x", latency_ms=150)
    sim.fault("x", "user_tweets", "rate_limit", retry_after=1, skip=2)
    publisher = live.stack.supervisor.processes["publisher"]
    with account.org.live() as api:
        secret = subscribe(api, receiver)
        r = api.post(f"/social-accounts/{account.id}/imports", json={})
        assert r.status_code == 201, r.text
        job = r.json()
        assert (job["status"], job["account_id"], job["tenant_id"]) == ("queued", account.id, "t1")
        again = api.post(f"/social-accounts/{account.id}/imports")
        assert (again.status_code, again.json()["id"]) == (200, job["id"])

        def pages_recorded() -> int:
            rows = sql(live.stack, "SELECT pages FROM publisher.import_runs WHERE import_id = $1", job["id"])
            return int(rows[0]["pages"]) if rows and rows[0]["pages"] >= 1 else 0

        before_kill = wait_for(pages_recorded, what="the first page to be recorded")
        publisher.kill()
        assert before_kill < 6
        publisher.start()
        done = finished(api, job["id"])
        assert (done["status"], done["fetched"], done["imported"], done["pages"]) == ("completed", 300, 300, 6)
        posts = imported_posts(api, account.id)
        wait_for(lambda: len(hooks_for(receiver, secret, job["id"], "import.completed")) == 1, what="import.completed")
        feed = api.get("/events", params={"type": "import.completed"}).json()["data"]
        assert [e["data"]["import_id"] for e in feed].count(job["id"]) == 1

        on_platform = {p["id"] for p in sim.posts("x", author)}
        assert len(posts) == 300 and {p["targets"][0]["platform_post_id"] for p in posts} == on_platform
        for post in posts:
            [target] = post["targets"]
            assert (post["source"], post["status"], target["status"]) == ("imported", "published", "published")
            assert (
                target["platform_post_url"]
                == f"https://x.com/{account.user['username']}/status/{target['platform_post_id']}"
            )
        assert any(r.get("fault") == "rate_limit" for r in sim.requests("x", "user_tweets"))
        assert api.get("/posts", params={"source": "crier", "account": account.id}).json()["data"] == []

        # An imported post is never published, edited, canceled or retried by Crier.
        one = posts[0]["id"]
        assert api.patch(f"/posts/{one}", json={"content": "edited"}).json()["error"]["code"] == "post_imported"
        assert api.post(f"/posts/{one}/retry").json()["error"]["code"] == "post_imported"
        assert api.delete(f"/posts/{one}").json()["error"]["code"] == "post_imported"

        # Seven newer posts: a second import adds them and nothing else.
        assert sim.add_history("x", author, 7) == 7
        rerun = api.post(f"/social-accounts/{account.id}/imports", json={})
        assert rerun.status_code == 201, rerun.text
        second = finished(api, rerun.json()["id"])
        assert (second["status"], second["imported"], second["skipped"]) == ("completed", 7, 300)
        assert len(imported_posts(api, account.id)) == 307
    # Nothing went out to the platform: only the seeded history is there.
    assert len(sim.posts("x", author)) == 307


@pytest.mark.parametrize(("platform", "connect"), ACCOUNTS)
def test_every_platforms_timeline_is_imported_whole_across_a_429(
    live: Live, sim: Simulator, receiver: Receiver, platform: Platform, connect: dict[str, Any]
) -> None:
    endpoint, page_size = TIMELINES[platform]
    account = connect_live(live, platform, **connect)
    author = account.user["id"]
    # Two full pages and half of a third; the second page is refused once with a 429.
    count = page_size * 5 // 2
    assert sim.add_history(platform, author, count) == count
    sim.fault(platform, endpoint, "rate_limit", retry_after=1, skip=1)
    before = len(sim.requests(platform, endpoint))
    with account.org.live() as api:
        secret = subscribe(api, receiver)
        r = api.post(f"/social-accounts/{account.id}/imports", json={})
        assert r.status_code == 201, r.text
        job = r.json()
        done = finished(api, job["id"])
        assert (done["status"], done["fetched"], done["imported"]) == ("completed", count, count), done
        assert done["pages"] >= 3
        wait_for(lambda: len(hooks_for(receiver, secret, job["id"], "import.completed")) == 1, what="import.completed")

        on_platform = {p["id"]: p for p in sim.posts(platform, author)}
        assert len(on_platform) == count
        posts = imported_posts(api, account.id)
        assert len(posts) == count
        assert {p["targets"][0]["platform_post_id"] for p in posts} == set(on_platform)
        for post in posts:
            [target] = post["targets"]
            assert (post["source"], post["status"], target["status"]) == ("imported", "published", "published")
            seeded = on_platform[target["platform_post_id"]]
            assert target["platform_post_url"] == url_on_platform(platform, seeded)
            # A YouTube video's text is its title.
            assert post["content"] == (
                seeded["response"]["snippet"]["title"] if platform == "youtube" else seeded["text"]
            )
        # The 429 came after the first page and before the last: the read went on past it.
        called = sim.requests(platform, endpoint)[before:]
        faulted = [i for i, c in enumerate(called) if c.get("fault") == "rate_limit"]
        assert len(faulted) == 1 and 0 < faulted[0] < len(called) - 2

        # The same timeline again: every post is known, nothing is added, and one more hook.
        rerun = api.post(f"/social-accounts/{account.id}/imports", json={})
        assert rerun.status_code == 201, rerun.text
        second = finished(api, rerun.json()["id"])
        assert (second["status"], second["imported"], second["skipped"]) == ("completed", 0, count), second
        assert len(imported_posts(api, account.id)) == count
        # The re-run's hook came after the first's, which was never sent again.
        wait_for(lambda: hooks_for(receiver, secret, second["id"], "import.completed"), what="the re-run's hook")
        assert len(hooks_for(receiver, secret, job["id"], "import.completed")) == 1
        feed = api.get("/events", params={"type": "import.completed"}).json()["data"]
        assert sorted(e["data"]["import_id"] for e in feed) == sorted([job["id"], second["id"]])
    # Nothing went out to the platform: only the seeded history is there.
    assert len(sim.posts(platform, author)) == count


def test_a_revoked_grant_fails_the_import(live: Live, sim: Simulator, receiver: Receiver) -> None:
    account = connect_live(live, "mastodon", history=5)
    sim.revoke_grants("mastodon", account.user["id"])
    with account.org.live() as api:
        secret = subscribe(api, receiver)
        job = api.post(f"/social-accounts/{account.id}/imports", json={"limit": 3}).json()
        done = finished(api, job["id"])
        assert (done["status"], done["error_code"], done["imported"]) == ("failed", "account_token_expired", 0)
        [hook] = wait_for(lambda: hooks_for(receiver, secret, job["id"], "import.failed"), what="import.failed")
        assert hook["data"]["error_code"] == "account_token_expired" and hook["data"]["account_id"] == account.id
        assert imported_posts(api, account.id) == []
        listed = api.get(f"/social-accounts/{account.id}/imports").json()
        assert [j["id"] for j in listed["data"]] == [job["id"]] and listed["next_cursor"] is None


def test_a_sandbox_account_has_deterministic_history_and_imports_stay_in_their_org(live: Live) -> None:
    org, stranger = live.stack.new_org("imports"), live.stack.new_org("stranger")
    with org.test() as api, stranger.test() as other:
        [account] = sandbox_accounts(api, ["linkedin"], tenant_id="user_9")
        bad = api.post(f"/social-accounts/{account['id']}/imports", json={"limit": 0, "since": "yesterday"})
        assert bad.status_code == 422
        assert {f["field"] for f in bad.json()["error"]["details"]["fields"]} == {"limit", "since"}
        assert api.post("/social-accounts/nope/imports", json={}).status_code == 404
        assert other.post(f"/social-accounts/{account['id']}/imports", json={}).status_code == 404

        job = api.post(f"/social-accounts/{account['id']}/imports", json={"limit": 70}).json()
        assert job["tenant_id"] == "user_9"
        done = finished(api, job["id"])
        assert (done["status"], done["fetched"], done["imported"], done["pages"]) == ("completed", 70, 70, 2)
        assert other.get(f"/imports/{job['id']}").status_code == 404
        assert other.get(f"/social-accounts/{account['id']}/imports").status_code == 404
        posts = imported_posts(api, account["id"])
        assert len(posts) == 70 and posts[0]["content"] == f"Sandbox post 1 of {account['username']}"
        # The rest of the history (120 posts) on a second run: only what the first did not take.
        whole = finished(api, api.post(f"/social-accounts/{account['id']}/imports", json={}).json()["id"])
        assert (whole["imported"], whole["skipped"]) == (50, 70)
        assert other.get("/posts", params={"source": "imported"}).json()["data"] == []
        assert api.get("/posts", params={"source": "elsewhere"}).status_code == 422
