"""Threads' adapter against the simulated Threads API: each container is made and then published,
reply chains and `reply_control` land as Threads expects them; a failed or lost container step is
simply retried, a lost publish is found among the account's posts or replies and adopted; every
failure comes out as the error the publisher acts on."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from crier.contracts.common import Container
from crier.platforms.base import (
    ContentRejected,
    OutcomeUnknown,
    PlatformError,
    PublishedContainer,
    RateLimited,
    TokenRejected,
    TransientError,
)

from .conftest import Flow
from .publishing import Publishing, connect_for_publishing


@pytest.fixture
async def acct(flow: Flow) -> Publishing:
    return await connect_for_publishing(flow, "threads")


def _requests(acct: Publishing, endpoint: str = "") -> list[dict]:
    """The calls made with this account's token (the simulator's log is shared by the session)."""
    token = f"Bearer {acct.account.access_token}"
    return [r for r in acct.sim.requests("threads", endpoint or None) if r["authorization"] == token]


async def test_a_post_is_a_container_then_published(acct: Publishing) -> None:
    [published] = await acct.publish(acct.context("Hello, Threads"))
    [post] = acct.posts()
    user = acct.account.network_unique_id
    create, publish = _requests(acct, "threads"), _requests(acct, "threads_publish")
    assert [r["path"] for r in create + publish] == [
        f"/threads/v1.0/{user}/threads",
        f"/threads/v1.0/{user}/threads_publish",
    ]
    assert create[0]["json"] == {"media_type": "TEXT", "text": "Hello, Threads"}
    assert publish[0]["json"] == {"creation_id": post["request"]["creation_id"]}
    assert post["text"] == "Hello, Threads" and post["reply_to"] is None
    assert published.platform_post_id == post["id"] and published.url == post["response"]["permalink"]
    assert published.url.startswith(f"https://www.threads.net/@{acct.account.username}/post/")


async def test_first_comment_and_thread_are_a_reply_chain(acct: Publishing) -> None:
    texts = ("the post", "first comment", "thread 1/2", "thread 2/2")
    published = await acct.publish(acct.context(*texts))
    posts = acct.posts()
    assert [p["text"] for p in posts] == list(texts)
    assert [p["id"] for p in posts] == [p.platform_post_id for p in published]
    for before, reply in itertools.pairwise(posts):
        assert reply["request"]["reply_to_id"] == before["id"] == reply["reply_to"]
        assert reply["response"]["replied_to"] == {"id": before["id"]}
        assert reply["root"] == reply["response"]["root_post"]["id"] == posts[0]["id"]
    assert "reply_to_id" not in posts[0]["request"] and posts[0]["response"]["is_reply"] is False


async def test_reply_control_reaches_every_post(acct: Publishing) -> None:
    await acct.publish(acct.context("only those I mention", "and here", config={"reply_control": "mentioned_only"}))
    assert [p["request"]["reply_control"] for p in acct.posts()] == ["mentioned_only"] * 2


async def test_config_the_rules_refuse_is_never_sent(acct: Publishing) -> None:
    for config in ({"reply_control": "nobody"}, {"topic_tag": "news"}):
        with pytest.raises(ContentRejected) as raised:
            await acct.publish(acct.context("hi", config=config))
        assert raised.value.code == "invalid_content"
    assert acct.posts() == [] and _requests(acct, "threads") == []


# -- the container step -----------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "status"), [("server_error", 500), ("unavailable", 503)])
async def test_an_outage_at_either_step_is_retryable_and_certain(acct: Publishing, kind: str, status: int) -> None:
    for endpoint in ("threads", "threads_publish"):
        acct.sim.fault("threads", endpoint, kind)
        with pytest.raises(TransientError) as raised:
            await acct.publish(acct.context("hello"))
        assert not isinstance(raised.value, OutcomeUnknown) and str(status) in raised.value.message
    assert acct.posts() == []


async def test_a_container_whose_answer_was_lost_is_harmless(acct: Publishing) -> None:
    """Nothing is on Threads until a container is published: the next attempt makes another."""
    impatient = acct.adapter_with(timeout_s=0.3)
    for kind in ("timeout", "accept_then_timeout"):
        acct.sim.fault("threads", "threads", kind, hang_s=5)
        with pytest.raises(TransientError) as raised:
            await acct.publish(acct.context("made twice, published once"), impatient)
        assert not isinstance(raised.value, OutcomeUnknown) and "not published" in raised.value.message
    assert acct.posts() == [] and _requests(acct, "threads_publish") == []
    await acct.publish(acct.context("made twice, published once"))
    assert [p["text"] for p in acct.posts()] == ["made twice, published once"]


async def test_a_container_not_ready_to_publish_is_retried(acct: Publishing) -> None:
    body = {"error": {"message": "Media Not Found", "type": "OAuthException", "code": 24, "error_subcode": 4279009}}
    acct.sim.fault("threads", "threads_publish", "status", status=400, body=body)
    with pytest.raises(TransientError) as raised:
        await acct.publish(acct.context("too quick"))
    assert raised.value.message == "Media Not Found" and acct.posts() == []


# -- failures ---------------------------------------------------------------------------------


async def test_the_publishing_limit_is_a_rate_limit(acct: Publishing) -> None:
    acct.sim.fault("threads", "threads_publish", "rate_limit", retry_after=7)
    with pytest.raises(RateLimited) as raised:
        await acct.publish(acct.context("one too many"))
    assert raised.value.retry_after_s == 7 and acct.posts() == []


@pytest.mark.parametrize("status", [502, 504])
async def test_a_gateway_giving_up_on_publish_leaves_the_outcome_unknown(acct: Publishing, status: int) -> None:
    acct.sim.fault("threads", "threads_publish", "status", status=status, body="Bad Gateway")
    with pytest.raises(OutcomeUnknown):
        await acct.publish(acct.context("hello"))


async def test_a_dead_token_is_token_rejected(acct: Publishing) -> None:
    acct.sim.fault("threads", "threads", "expired_token")
    with pytest.raises(TokenRejected) as raised:
        await acct.publish(acct.context("hello"))
    assert "Session has expired" in raised.value.message
    acct.sim.revoke_grants("threads", acct.user["id"])
    with pytest.raises(TokenRejected):
        await acct.publish(acct.context("hello"))
    assert acct.posts() == []


async def test_content_threads_refuses_fails_with_its_own_words(acct: Publishing) -> None:
    too_long = acct.context("👍" * 126)  # 504 as Threads counts emojis
    with pytest.raises(ContentRejected) as raised:
        await acct.publish(too_long)
    assert raised.value.message == "(#100) Param text must be at most 500 characters long"
    links = " ".join(f"https://example.com/{i}" for i in range(6))
    with pytest.raises(ContentRejected) as many:
        await acct.publish(acct.context(links))
    assert many.value.message.startswith("THREADS_API__LINK_LIMIT_EXCEEDED")
    acct.sim.fault("threads", "threads", "reject")
    with pytest.raises(ContentRejected) as duplicate:
        await acct.publish(acct.context("short"))
    assert duplicate.value.code == "duplicate" and acct.posts() == []


async def test_a_reply_to_a_post_that_is_gone_is_refused(acct: Publishing) -> None:
    ctx = acct.context("root", "reply")
    with pytest.raises(ContentRejected) as raised:
        await acct.adapter.publish_container(ctx, ctx.containers[1], 1, PublishedContainer("17000000000000001"))
    assert "reply_to_id" in raised.value.message and not raised.value.retryable


async def test_replying_needs_threads_manage_replies(flow: Flow) -> None:
    acct = await connect_for_publishing(flow, "threads", scopes=("threads_basic", "threads_content_publish"))
    [root] = await acct.publish(acct.context("a post"))
    ctx = acct.context("a post", "a reply")
    with pytest.raises(PlatformError) as raised:
        await acct.adapter.publish_container(ctx, ctx.containers[1], 1, root)
    assert raised.value.code == "missing_permission" and "threads_manage_replies" in raised.value.message


async def test_a_missing_permalink_does_not_fail_a_post_that_went_out(acct: Publishing) -> None:
    acct.sim.fault("threads", "media", "server_error")
    [published] = await acct.publish(acct.context("out without a link"))
    [post] = acct.posts()
    assert published == PublishedContainer(post["id"], None)


# -- no duplicates ----------------------------------------------------------------------------


async def test_a_lost_publish_is_found_and_adopted(acct: Publishing) -> None:
    ctx = acct.context("did it go out?", "and this reply?", "and the next?")
    impatient = acct.adapter_with(timeout_s=0.3)
    done: list[PublishedContainer] = []
    for index, container in enumerate(ctx.containers):
        parent = done[-1] if done else None
        acct.sim.fault("threads", "threads_publish", "accept_then_timeout", hang_s=5)
        with pytest.raises(OutcomeUnknown):
            await impatient.publish_container(ctx, container, index, parent)
        made = acct.made(index + 1)[index]  # Threads published it, the answer never came
        found = await acct.adapter.find_published(ctx, container, index, parent)
        assert found == PublishedContainer(made["id"], made["response"]["permalink"])
        done.append(found)
    assert len(acct.posts()) == 3
    assert [r["endpoint"] for r in _requests(acct) if r["endpoint"] in ("user_threads", "user_replies")] == [
        "user_threads",
        "user_replies",
        "user_replies",
    ]


async def test_find_published_wants_the_same_text_the_same_parent_and_a_recent_post(acct: Publishing) -> None:
    ctx = acct.context("root", "same words")
    [root] = await acct.publish(acct.context("root"))
    [other_root] = await acct.publish(acct.context("another root"))
    await acct.publish(acct.context("same words"))  # a post of its own, not a reply
    assert await acct.adapter.find_published(ctx, ctx.containers[1], 1, root) is None
    await acct.adapter.publish_container(ctx, ctx.containers[1], 1, other_root)  # a reply to another post
    assert await acct.adapter.find_published(ctx, ctx.containers[1], 1, root) is None
    found = await acct.adapter.find_published(ctx, Container(content="same  words\n"), 0, None)
    assert found is not None and found.platform_post_id == acct.posts()[2]["id"]
    # The simulator's clock may run ahead (other tests move it): a day after the post, by its own time.
    made_at = datetime.fromisoformat(acct.posts()[2]["response"]["timestamp"])
    tomorrow = replace(ctx, sent_at=made_at + timedelta(days=1))
    assert await acct.adapter.find_published(tomorrow, ctx.containers[1], 0, None) is None


async def test_finding_a_reply_needs_threads_read_replies(flow: Flow) -> None:
    scopes = ("threads_basic", "threads_content_publish", "threads_manage_replies")
    acct = await connect_for_publishing(flow, "threads", scopes=scopes)
    ctx = acct.context("a post", "a reply")
    root, _ = await acct.publish(ctx)
    with pytest.raises(PlatformError) as raised:
        await acct.adapter.find_published(ctx, ctx.containers[1], 1, root)
    assert raised.value.code == "missing_permission" and "threads_read_replies" in raised.value.message
