"""X's adapter against the simulated API v2: posts, reply chains and options land as X expects
them, every failure comes out as the error the publisher acts on (X's duplicate refusal included),
and a post whose answer was lost is found among the account's posts and adopted."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import datetime, timedelta

import httpx
import msgspec
import pytest

from crier.contracts.common import Container
from crier.platforms.base import (
    ContentRejected,
    OutcomeUnknown,
    PlatformError,
    PlatformSettings,
    PublishedContainer,
    RateLimited,
    TokenRejected,
    TransientError,
)

from .conftest import Flow
from .publishing import Publishing, adapter_for, connect_for_publishing


@pytest.fixture
async def x(flow: Flow) -> Publishing:
    return await connect_for_publishing(flow, "x")


async def test_a_text_post_is_one_post_made_with_the_account_token(x: Publishing) -> None:
    [published] = await x.publish(x.context("Hello from Crier"))
    [post] = x.posts()
    assert post["id"] == published.platform_post_id and post["text"] == "Hello from Crier"
    assert post["request"] == {"text": "Hello from Crier"} and post["reply_to"] is None
    assert published.url == f"https://x.com/{x.account.username}/status/{post['id']}"
    assert x.sim.requests("x", "tweets")[-1]["authorization"] == f"Bearer {x.account.access_token}"


async def test_first_comment_and_thread_are_a_reply_chain(x: Publishing) -> None:
    texts = ("the post", "first comment", "thread 1/2", "thread 2/2")
    published = await x.publish(x.context(*texts))
    posts = x.posts()
    assert [p["text"] for p in posts] == list(texts)
    assert [p["id"] for p in posts] == [p.platform_post_id for p in published]
    root = posts[0]["id"]
    for before, reply in itertools.pairwise(posts):
        assert reply["request"]["reply"] == {"in_reply_to_tweet_id": before["id"]} and reply["reply_to"] == before["id"]
        assert reply["root"] == root and reply["response"]["conversation_id"] == root
        assert reply["response"]["referenced_posts"] == [{"type": "replied_to", "id": before["id"]}]
    assert "reply" not in posts[0]["request"]


async def test_config_reaches_every_container_and_the_quote_only_the_post(x: Publishing) -> None:
    [quoted] = await x.publish(x.context("worth quoting"))
    config = {
        "reply_settings": "mentionedUsers",
        "for_super_followers_only": False,
        "paid_partnership": True,
        "quote_tweet_id": quoted.platform_post_id,
    }
    await x.publish(x.context("look at this", "and a reply", config=config))
    _, post, reply = x.posts()
    assert post["request"] == {"text": "look at this", **config}
    assert post["response"]["referenced_posts"] == [{"type": "quoted", "id": quoted.platform_post_id}]
    assert post["response"]["reply_settings"] == reply["response"]["reply_settings"] == "mentionedUsers"
    assert "quote_tweet_id" not in reply["request"]
    assert {k: reply["request"][k] for k in ("reply_settings", "for_super_followers_only", "paid_partnership")} == {
        "reply_settings": "mentionedUsers",
        "for_super_followers_only": False,
        "paid_partnership": True,
    }


async def test_without_a_stand_in_the_calls_go_to_api_x_com(x: Publishing) -> None:
    seen: list[httpx.Request] = []

    def real_x(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"data": {"id": "1346889436626259968", "text": "hi"}})

    async with httpx.AsyncClient(transport=httpx.MockTransport(real_x)) as http:
        adapter = adapter_for("x", http, PlatformSettings())  # no CRIER_PLATFORM_BASE_URL
        [published] = await x.publish(x.context("hi"), adapter)
    assert [str(r.url) for r in seen] == ["https://api.x.com/2/tweets"]
    assert published.platform_post_id == "1346889436626259968"


async def test_config_the_rules_refuse_is_never_sent(x: Publishing) -> None:
    sent = len(x.sim.requests("x", "tweets"))
    for config in ({"reply_settings": "everyone"}, {"poll": {"options": ["a", "b"]}}, {"quote_tweet_id": "abc"}):
        with pytest.raises(ContentRejected) as raised:
            await x.publish(x.context("hi", config=config))
        assert raised.value.code == "invalid_content"
    assert x.posts() == [] and len(x.sim.requests("x", "tweets")) == sent


# -- failures ---------------------------------------------------------------------------------


async def test_rate_limit_waits_for_the_reset_time(x: Publishing) -> None:
    x.sim.fault("x", "tweets", "rate_limit", retry_after=7)
    with pytest.raises(RateLimited) as raised:
        await x.publish(x.context("too soon"))
    # X sends no Retry-After: x-rate-limit-reset, in epoch seconds, a moment ago 7 s away
    assert raised.value.retryable and raised.value.retry_after_s is not None and 5 <= raised.value.retry_after_s <= 7
    assert x.posts() == []
    await x.publish(x.context("later"))
    assert len(x.posts()) == 1


@pytest.mark.parametrize(("kind", "status"), [("server_error", 500), ("unavailable", 503)])
async def test_server_errors_are_retryable_and_certain(x: Publishing, kind: str, status: int) -> None:
    x.sim.fault("x", "tweets", kind)
    with pytest.raises(TransientError) as raised:
        await x.publish(x.context("hello"))
    assert not isinstance(raised.value, OutcomeUnknown) and raised.value.code == "platform_unavailable"
    assert str(status) in raised.value.message and x.posts() == []


@pytest.mark.parametrize("status", [502, 504])
async def test_a_gateway_giving_up_leaves_the_outcome_unknown(x: Publishing, status: int) -> None:
    x.sim.fault("x", "tweets", "status", status=status, body={"title": "Bad Gateway", "detail": "upstream"})
    with pytest.raises(OutcomeUnknown) as raised:
        await x.publish(x.context("hello"))
    assert raised.value.retryable and raised.value.code == "outcome_unknown"


async def test_an_answer_naming_no_post_leaves_the_outcome_unknown(x: Publishing) -> None:
    x.sim.fault("x", "tweets", "status", status=201, body={"errors": [{"message": "partial"}]})
    with pytest.raises(OutcomeUnknown) as raised:
        await x.publish(x.context("hello"))
    assert "partial" in raised.value.message


async def test_a_timeout_before_x_acted_is_unknown_and_nothing_is_found(x: Publishing) -> None:
    x.sim.fault("x", "tweets", "timeout", hang_s=5)
    ctx = x.context("slow X")
    with pytest.raises(OutcomeUnknown):
        await x.publish(ctx, x.adapter_with(timeout_s=0.3))
    assert x.posts() == []
    assert await x.adapter.find_published(ctx, ctx.containers[0], 0, None) is None


async def test_an_unreachable_x_is_transient_not_unknown(x: Publishing) -> None:
    dead = x.adapter_with(base_url_override="http://127.0.0.1:9")
    with pytest.raises(TransientError) as raised:
        await x.publish(x.context("hello"), dead)
    assert not isinstance(raised.value, OutcomeUnknown)


async def test_a_refused_token_is_token_rejected(x: Publishing) -> None:
    x.sim.fault("x", "tweets", "expired_token")
    with pytest.raises(TokenRejected) as raised:
        await x.publish(x.context("hello"))
    assert raised.value.message == "Unauthorized" and not raised.value.retryable
    x.sim.invalidate_tokens("x", x.user["id"])
    with pytest.raises(TokenRejected):
        await x.publish(x.context("hello"))
    assert x.posts() == []


async def test_a_revoked_grant_is_token_rejected(x: Publishing) -> None:
    x.sim.revoke_grants("x", x.user["id"])
    with pytest.raises(TokenRejected):
        await x.publish(x.context("hello"))


async def test_duplicate_content_is_refused_permanently_in_xs_words(x: Publishing) -> None:
    ctx = x.context("only once")
    await x.publish(ctx)
    for again in (replace(ctx, attempt=2), x.context("only once")):  # X has no idempotency key
        with pytest.raises(ContentRejected) as raised:
            await x.publish(again)
        assert raised.value.code == "duplicate_content" and not raised.value.retryable
        assert raised.value.message == "You are not allowed to create a Tweet with duplicate content."
    x.sim.fault("x", "tweets", "reject")  # the simulator's content rejection is X's duplicate refusal
    with pytest.raises(ContentRejected) as raised:
        await x.publish(x.context("something new"))
    assert raised.value.code == "duplicate_content"
    x.sim.configure("x", duplicate_window_s=60)  # a day by default
    x.sim.advance_clock(61)
    await x.publish(x.context("only once"))  # once the window is over, the same words are news again
    assert [p["text"] for p in x.posts()] == ["only once", "only once"]


async def test_text_x_counts_too_long_is_content_rejected(x: Publishing) -> None:
    with pytest.raises(ContentRejected) as raised:
        await x.publish(x.context("日" * 141))  # 282 weighted characters
    assert raised.value.code == "content_rejected" and raised.value.message == "Tweet needs to be a bit shorter."
    await x.publish(x.context("日" * 140))
    assert len(x.posts()) == 1


async def test_an_invalid_request_says_what_was_wrong(x: Publishing) -> None:
    body = {
        "errors": [{"parameters": {"reply_settings": ["everyone"]}, "message": "$.reply_settings: not allowed"}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.x.com/2/problems/invalid-request",
    }
    x.sim.fault("x", "tweets", "status", status=400, body=body)
    with pytest.raises(ContentRejected) as raised:
        await x.publish(x.context("hello"))
    assert raised.value.code == "content_rejected"
    assert raised.value.message == "One or more parameters to your request was invalid: $.reply_settings: not allowed"


async def test_a_reply_to_a_post_that_is_gone_is_permanent(x: Publishing) -> None:
    ctx = x.context("root", "reply")
    with pytest.raises(ContentRejected) as raised:
        await x.adapter.publish_container(ctx, ctx.containers[1], 1, PublishedContainer("1000000000000000001"))
    assert raised.value.code == "reply_target_missing" and "deleted or not visible" in raised.value.message


async def test_a_token_without_tweet_write_is_missing_permission(flow: Flow) -> None:
    x = await connect_for_publishing(flow, "x", scopes=("tweet.read", "users.read"))
    with pytest.raises(PlatformError) as raised:
        await x.publish(x.context("hello"))
    assert raised.value.code == "missing_permission" and not raised.value.retryable
    assert raised.value.message == "You are not permitted to perform this action."
    bare = await connect_for_publishing(flow, "x", scopes=("tweet.read", "tweet.write"))
    ctx = bare.context("hello")
    with pytest.raises(PlatformError) as raised:  # and no looking without users.read
        await bare.adapter.find_published(ctx, ctx.containers[0], 0, None)
    assert raised.value.code == "missing_permission"


# -- no duplicates ----------------------------------------------------------------------------


async def test_accepted_then_timed_out_is_unknown_then_found_and_adopted(x: Publishing) -> None:
    ctx = x.context("did it go out?", "and this reply?")
    impatient = x.adapter_with(timeout_s=0.3)
    x.sim.fault("x", "tweets", "accept_then_timeout", hang_s=5)
    with pytest.raises(OutcomeUnknown):
        await impatient.publish_container(ctx, ctx.containers[0], 0, None)
    [made] = x.made(1)  # X made it, the answer never came
    root = await x.adapter.find_published(ctx, ctx.containers[0], 0, None)
    assert root == PublishedContainer(made["id"], f"https://x.com/{x.account.username}/status/{made['id']}")

    x.sim.fault("x", "tweets", "accept_then_timeout", hang_s=5)
    with pytest.raises(OutcomeUnknown):
        await impatient.publish_container(ctx, ctx.containers[1], 1, root)
    x.made(2)
    reply = await x.adapter.find_published(ctx, ctx.containers[1], 1, root)
    assert reply is not None and reply.platform_post_id == x.posts()[1]["id"]
    # posting anyway would have been refused as a duplicate, not made twice
    with pytest.raises(ContentRejected):
        await x.adapter.publish_container(ctx, ctx.containers[1], 1, root)
    assert len(x.posts()) == 2
    looked = x.sim.requests("x", "user_tweets")[-1]
    assert looked["path"].endswith(f"/2/users/{x.account.network_unique_id}/tweets")
    assert (looked["query"]["post.fields"], looked["query"]["expansions"]) == (
        "created_at,conversation_id,attachments",
        "referenced_posts",
    )
    assert (looked["query"]["max_results"], looked["query"]["exclude"]) == ("100", "retweets")


async def test_find_published_compares_the_text_x_keeps(x: Publishing) -> None:
    text = "Read <this> & that: https://example.com/a/very/long/path?q=1, example.org/b and t.co\n\n  é"
    ctx = x.context(text)
    await x.publish(ctx)
    [post] = x.posts()
    kept = post["response"]["text"]
    assert "&lt;this&gt; &amp; that" in kept and kept.count("https://t.co/") == 3 and "example" not in kept
    found = await x.adapter.find_published(ctx, ctx.containers[0], 0, None)
    assert found is not None and found.platform_post_id == post["id"]
    decomposed = x.context(text.replace("é", "e\u0301"))  # the same text in another Unicode form
    assert await x.adapter.find_published(decomposed, decomposed.containers[0], 0, None) == found


async def test_find_published_wants_the_same_text_and_the_same_parent(x: Publishing) -> None:
    ctx = x.context("root", "same words")
    [root] = await x.publish(x.context("root"))
    await x.publish(x.context("same words"))  # a post of its own, not a reply to `root`
    assert await x.adapter.find_published(ctx, ctx.containers[1], 1, root) is None
    assert await x.adapter.find_published(ctx, Container(content="other words"), 0, None) is None
    found = await x.adapter.find_published(ctx, ctx.containers[1], 0, None)
    assert found is not None and found.platform_post_id == x.posts()[1]["id"]


async def test_find_published_ignores_the_same_text_posted_before_the_send(x: Publishing) -> None:
    """A daily "Good morning" posted yesterday is not today's container whose answer was lost."""
    await x.publish(x.context("Good morning"))
    [old] = x.posts()
    # By the simulated X's clock, which tests move forward: sent a day after that post was made.
    made_at = datetime.fromisoformat(old["response"]["created_at"].replace("Z", "+00:00"))
    ctx = replace(x.context("Good morning"), sent_at=made_at + timedelta(days=1))
    assert await x.adapter.find_published(ctx, ctx.containers[0], 0, None) is None
    # X is asked only for posts since the send, less five minutes of clock skew
    start = x.sim.requests("x", "user_tweets")[-1]["query"]["start_time"]
    assert start == (made_at + timedelta(days=1, minutes=-5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    found = await x.adapter.find_published(replace(ctx, sent_at=None), ctx.containers[0], 0, None)
    assert found is not None and found.platform_post_id == old["id"]
    earlier = replace(ctx, sent_at=made_at + timedelta(minutes=4))  # within the skew X's clock may have
    assert await x.adapter.find_published(earlier, ctx.containers[0], 0, None) == found
    assert "start_time" not in x.sim.requests("x", "user_tweets")[-2]["query"]


async def test_find_published_reads_the_older_field_names_too(x: Publishing) -> None:
    [root] = await x.publish(x.context("root"))
    ctx = x.context("root", "answer")
    await x.adapter.publish_container(ctx, ctx.containers[1], 1, root)
    reply = x.posts()[1]
    legacy = {
        "data": [
            {
                "id": reply["id"],
                "text": "answer",
                "edit_history_tweet_ids": [reply["id"]],
                "referenced_tweets": [{"type": "replied_to", "id": root.platform_post_id}],
                "created_at": "2026-01-01T00:00:00.000Z",
            }
        ],
        "meta": {"result_count": 1},
    }
    x.sim.fault("x", "user_tweets", "status", status=200, body=legacy)
    found = await x.adapter.find_published(ctx, ctx.containers[1], 1, root)
    assert found is not None and found.platform_post_id == reply["id"]


async def test_find_published_on_a_user_x_does_not_know_is_nothing(x: Publishing) -> None:
    """X answers 200 with a resource-not-found Problem in `errors` and no `data`."""
    ctx = x.context("hello")
    stranger = replace(ctx, account=msgspec.structs.replace(x.account, network_unique_id="999"))
    assert await x.adapter.find_published(stranger, ctx.containers[0], 0, None) is None
