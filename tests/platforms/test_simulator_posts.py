"""The simulator's publishing core, shared by every platform: the posts it keeps and shows under
`/_sim/<platform>/posts`, threads and idempotency keys, `accept_then_timeout`, access tokens made
invalid while their grant lives, and platform settings (a limit, a latency)."""

from __future__ import annotations

import time

import httpx
import pytest

from crier.platforms.oauth import AccessTokenInvalid, GrantRevoked
from crier.platforms.simulator.posts import Post, Posts
from tests.support.simulator import start_simulator

from .conftest import CALLBACK, Flow


def test_a_thread_knows_its_root_and_keys_are_remembered_for_a_window() -> None:
    posts = Posts()
    root = posts.add(Post("x", "1", "u1", "root", 100.0, idempotency_key="k"))
    reply = posts.add(Post("x", "2", "u1", "reply", 101.0, reply_to="1"))
    deeper = posts.add(Post("x", "3", "u1", "deeper", 102.0, reply_to="2"))
    on_page = posts.add(Post("x", "4", "u1", "as the page", 103.0, page_id="p9"))
    assert (root.root, reply.root, deeper.root) == (None, "1", "1")
    assert [p.id for p in posts.of("x")] == ["1", "2", "3", "4"]
    assert [p.id for p in posts.of("x", "p9")] == ["4"] and on_page.author == "p9"
    assert posts.of("mastodon") == [] and len(posts.of("x", "u1")) == 4
    assert posts.replay("x", "u1", "k", now=3699.0, window_s=3600) is root
    assert posts.replay("x", "u1", "k", now=3701.0, window_s=3600) is None
    assert posts.replay("x", "u2", "k", now=101.0, window_s=3600) is None


async def test_posts_are_read_back_by_platform_and_author(flow: Flow) -> None:
    alice = flow.sim.add_user("mastodon", username="alice_posts")
    assert (await flow.http.get(f"{flow.sim.base_url}/_sim/myspace/posts")).status_code == 404
    other = await flow.connect("mastodon")
    await flow.http.post(
        f"{flow.sim.base_url}/mastodon/api/v1/statuses",
        json={"status": "not alice"},
        headers={"Authorization": f"Bearer {other.tokens.access_token}"},
    )
    assert flow.sim.posts("mastodon", author=alice["id"]) == []
    [post] = flow.sim.posts("mastodon", author=other.user["id"])
    assert post["text"] == "not alice" and post["platform"] == "mastodon" and post["request"] == {"status": "not alice"}
    assert any(p["id"] == post["id"] for p in flow.sim.posts("mastodon"))
    assert flow.sim.state("mastodon")["posts"] >= 1


async def test_accept_then_timeout_serves_the_request_and_holds_the_answer(flow: Flow) -> None:
    """On any endpoint: here Mastodon's app registration happens although the caller gives up."""
    flow.sim.fault("mastodon", "apps", "accept_then_timeout", hang_s=10)
    async with httpx.AsyncClient(timeout=0.3) as impatient:
        with pytest.raises(httpx.ReadTimeout):
            await impatient.post(
                f"{flow.sim.base_url}/mastodon/api/v1/apps",
                json={"client_name": "held", "redirect_uris": CALLBACK, "scopes": "read"},
            )
    assert any(app["name"] == "held" for app in flow.sim.state("mastodon")["apps"])
    assert flow.sim.requests("mastodon", "apps")[-1]["fault"] == "accept_then_timeout"


async def test_accept_then_timeout_lets_a_refusal_through(flow: Flow) -> None:
    flow.sim.fault("mastodon", "statuses", "accept_then_timeout", hang_s=10)
    async with httpx.AsyncClient(timeout=2) as http:
        refused = await http.post(f"{flow.sim.base_url}/mastodon/api/v1/statuses", json={"status": "who am I"})
    assert refused.status_code == 401  # nothing was accepted, so nothing is held back


async def test_invalid_access_tokens_are_refused_but_the_grant_refreshes(flow: Flow) -> None:
    conn = await flow.connect("x", scopes=("tweet.read", "users.read", "offline.access"))
    bystander = await flow.connect("x", scopes=("tweet.read", "users.read", "offline.access"))
    assert flow.sim.invalidate_tokens("x", token=conn.tokens.access_token) == 1
    with pytest.raises(AccessTokenInvalid):
        await conn.provider.identity(flow.http, conn.tokens.access_token)
    await bystander.provider.identity(flow.http, bystander.tokens.access_token)
    fresh = await conn.provider.refresh(flow.http, conn.app, conn.tokens.refresh_token)
    assert (await conn.provider.identity(flow.http, fresh.access_token)).username == conn.user["username"]
    assert flow.sim.invalidate_tokens("x", user_id=bystander.user["id"]) == 1
    with pytest.raises(AccessTokenInvalid):
        await bystander.provider.identity(flow.http, bystander.tokens.access_token)


async def test_an_invalid_mastodon_token_means_reconnect(flow: Flow) -> None:
    conn = await flow.connect("mastodon")
    flow.sim.invalidate_tokens("mastodon", user_id=conn.user["id"])
    with pytest.raises(GrantRevoked):
        await conn.provider.identity(flow.http, conn.tokens.access_token)


async def test_a_platform_can_be_slow(flow: Flow) -> None:
    conn = await flow.connect("mastodon")
    url = f"{flow.sim.base_url}/mastodon/api/v1/accounts/verify_credentials"
    auth = {"Authorization": f"Bearer {conn.tokens.access_token}"}
    flow.sim.configure("mastodon", latency_ms=300)
    started = time.monotonic()
    assert (await flow.http.get(url, headers=auth)).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_settings_are_per_platform_and_cleared() -> None:
    with start_simulator() as sim:
        assert sim.configure("mastodon", max_characters=1000) == {"max_characters": 1000}
        assert sim.state("mastodon")["settings"] == {"max_characters": 1000} and sim.state("x")["settings"] == {}
        sim.clear_settings()
        assert sim.state("mastodon")["settings"] == {}
        sim.configure("mastodon", max_characters=20)
        sim.reset()
        assert sim.state("mastodon")["settings"] == {}
