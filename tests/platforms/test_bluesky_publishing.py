"""Bluesky's adapter against the simulated PDS: posts are `app.bsky.feed.post` records in the
account's repo, with facets at the right UTF-8 byte offsets, replies carry strong refs to their
parent and their thread's root, every failure comes out as the error the publisher acts on, and a
post whose answer was lost is found in the repo and adopted."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import msgspec
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

from .bluesky_accounts import bluesky_account
from .conftest import Flow
from .publishing import Publishing


@pytest.fixture
async def bsky(flow: Flow) -> Publishing:
    return await bluesky_account(flow)


def _text_at(text: str, facet: dict) -> str:
    index = facet["index"]
    return text.encode()[index["byteStart"] : index["byteEnd"]].decode()


async def test_a_text_post_is_one_record_in_the_accounts_repo(bsky: Publishing) -> None:
    before = datetime.now(UTC)
    [published] = await bsky.publish(bsky.context("Hello from Crier"))
    [post] = bsky.posts()
    did, rkey = bsky.user["id"], post["id"].rsplit("/", 1)[1]
    assert published.platform_post_id == post["id"] == f"at://{did}/app.bsky.feed.post/{rkey}"
    assert published.url == f"https://bsky.app/profile/{did}/post/{rkey}"
    assert post["request"]["repo"] == did and post["request"]["collection"] == "app.bsky.feed.post"
    record = post["request"]["record"]
    assert {k: v for k, v in record.items() if k != "createdAt"} == {
        "$type": "app.bsky.feed.post",
        "text": "Hello from Crier",
    }
    created = datetime.fromisoformat(record["createdAt"].replace("Z", "+00:00"))
    assert record["createdAt"].endswith("Z") and before - timedelta(seconds=1) <= created <= datetime.now(UTC)
    assert bsky.sim.requests("bluesky", "createRecord")[-1]["authorization"] == f"Bearer {bsky.account.access_token}"


async def test_links_mentions_and_hashtags_are_facets_at_utf8_byte_offsets(bsky: Publishing) -> None:
    friend = bsky.sim.add_user("bluesky", username="friend.example.com", sign_in=False)
    text = "Café ☕ avec @friend.example.com et @nobody.example.org: https://example.com/menü?x=1. #déjeuner #2024"
    await bsky.publish(bsky.context(text))
    [post] = bsky.posts()
    facets = post["request"]["record"]["facets"]
    found = [(_text_at(text, f), f["features"]) for f in facets]
    assert found == [
        ("@friend.example.com", [{"$type": "app.bsky.richtext.facet#mention", "did": friend["id"]}]),
        (
            "https://example.com/menü?x=1",
            [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/menü?x=1"}],
        ),
        ("#déjeuner", [{"$type": "app.bsky.richtext.facet#tag", "tag": "déjeuner"}]),
    ]
    assert all(f["$type"] == "app.bsky.richtext.facet" for f in facets)
    # the handle nobody has stays text; the PDS was asked for both
    asked = [r["query"]["handle"] for r in bsky.sim.requests("bluesky", "resolveHandle")[-2:]]
    assert asked == ["friend.example.com", "nobody.example.org"]


async def test_a_post_without_links_mentions_or_tags_has_no_facets(bsky: Publishing) -> None:
    await bsky.publish(bsky.context("just words, an e-mail a@b.c and #123"))
    [post] = bsky.posts()
    assert "facets" not in post["request"]["record"]


async def test_first_comment_and_thread_are_replies_with_root_and_parent_strong_refs(bsky: Publishing) -> None:
    texts = ("the post", "first comment", "thread 1/2", "thread 2/2")
    published = await bsky.publish(bsky.context(*texts))
    posts = bsky.posts()
    assert [p["text"] for p in posts] == list(texts)
    assert [p["id"] for p in posts] == [p.platform_post_id for p in published]
    root = {"uri": posts[0]["response"]["uri"], "cid": posts[0]["response"]["cid"]}
    assert "reply" not in posts[0]["request"]["record"]
    for before, answer in itertools.pairwise(posts):
        parent = {"uri": before["response"]["uri"], "cid": before["response"]["cid"]}
        assert answer["request"]["record"]["reply"] == {"root": root, "parent": parent}
        assert answer["reply_to"] == before["id"] and answer["root"] == posts[0]["id"]


async def test_langs_reach_every_container(bsky: Publishing) -> None:
    await bsky.publish(bsky.context("Bonjour", "Hello", config={"langs": ["fr", "en-GB"]}))
    assert [p["request"]["record"]["langs"] for p in bsky.posts()] == [["fr", "en-GB"], ["fr", "en-GB"]]


@pytest.mark.parametrize(
    "config", [{"langs": ["en_US"]}, {"langs": ["en", "fr", "de", "es"]}, {"visibility": "public"}]
)
async def test_config_the_rules_refuse_is_never_sent(bsky: Publishing, config: dict) -> None:
    sent = len(bsky.sim.requests("bluesky", "createRecord"))
    with pytest.raises(ContentRejected) as raised:
        await bsky.publish(bsky.context("hi", config=config))
    assert raised.value.code == "invalid_content" and not raised.value.retryable
    assert bsky.posts() == [] and len(bsky.sim.requests("bluesky", "createRecord")) == sent


async def test_the_pds_of_the_account_is_used_without_a_stand_in(bsky: Publishing) -> None:
    real = bsky.adapter_with(base_url_override="")  # no CRIER_PLATFORM_BASE_URL: the account's instance_url
    await bsky.publish(bsky.context("straight to the PDS", "and a reply"), real)
    assert [p["text"] for p in bsky.posts()] == ["straight to the PDS", "and a reply"]
    elsewhere = replace(
        bsky.context("x"), account=msgspec.structs.replace(bsky.account, instance_url="http://127.0.0.1:9")
    )
    with pytest.raises(TransientError):
        await bsky.publish(elsewhere, real)


# -- failures ---------------------------------------------------------------------------------


async def test_rate_limit_waits_for_ratelimit_reset(bsky: Publishing) -> None:
    bsky.sim.fault("bluesky", "createRecord", "rate_limit", retry_after=7)
    with pytest.raises(RateLimited) as raised:
        await bsky.publish(bsky.context("too soon"))
    # no Retry-After: ratelimit-reset, an epoch second 7 s away (less the time since)
    assert raised.value.retry_after_s is not None and 5 <= raised.value.retry_after_s <= 7
    assert bsky.posts() == []
    await bsky.publish(bsky.context("later"))
    assert len(bsky.posts()) == 1


@pytest.mark.parametrize("kind", ["server_error", "unavailable"])
async def test_server_errors_are_retryable_and_certain(bsky: Publishing, kind: str) -> None:
    bsky.sim.fault("bluesky", "createRecord", kind)
    with pytest.raises(TransientError) as raised:
        await bsky.publish(bsky.context("hello"))
    assert not isinstance(raised.value, OutcomeUnknown) and raised.value.code == "platform_unavailable"
    assert bsky.posts() == []


@pytest.mark.parametrize("status", [502, 504])
async def test_a_gateway_giving_up_leaves_the_outcome_unknown(bsky: Publishing, status: int) -> None:
    bsky.sim.fault("bluesky", "createRecord", "status", status=status, body={"error": "UpstreamFailure"})
    with pytest.raises(OutcomeUnknown):
        await bsky.publish(bsky.context("hello"))


async def test_an_expired_or_refused_session_is_token_rejected(bsky: Publishing) -> None:
    bsky.sim.fault("bluesky", "createRecord", "expired_token")  # 400 ExpiredToken, as a PDS says it
    with pytest.raises(TokenRejected) as raised:
        await bsky.publish(bsky.context("hello"))
    assert raised.value.message == "Token has expired" and not raised.value.retryable
    bsky.sim.invalidate_tokens("bluesky", bsky.user["id"])
    with pytest.raises(TokenRejected):  # 400 InvalidToken
        await bsky.publish(bsky.context("hello"))
    bsky.sim.fault("bluesky", "createRecord", "status", status=401, body={"error": "AuthenticationRequired"})
    with pytest.raises(TokenRejected):
        await bsky.publish(bsky.context("hello"))
    assert bsky.posts() == []


async def test_a_revoked_session_is_token_rejected(bsky: Publishing) -> None:
    bsky.sim.revoke_grants("bluesky", bsky.user["id"])
    with pytest.raises(TokenRejected):
        await bsky.publish(bsky.context("hello"))


async def test_content_the_pds_refuses_fails_with_its_own_words(bsky: Publishing) -> None:
    bsky.sim.fault("bluesky", "createRecord", "reject")
    with pytest.raises(ContentRejected) as raised:
        await bsky.publish(bsky.context("short"))
    assert raised.value.message.startswith("Invalid app.bsky.feed.post record: Record/text")
    assert raised.value.code == "content_rejected" and not raised.value.retryable
    with pytest.raises(ContentRejected) as too_long:  # the rules would have refused it at create
        await bsky.publish(bsky.context("x" * 301))
    assert too_long.value.message.endswith("must not be longer than 300 graphemes")
    assert bsky.posts() == []


async def test_a_reply_to_a_post_that_is_gone_is_permanent(bsky: Publishing) -> None:
    ctx = bsky.context("root", "reply")
    gone = PublishedContainer(f"at://{bsky.user['id']}/app.bsky.feed.post/3kgone2222222")
    with pytest.raises(ContentRejected) as raised:
        await bsky.adapter.publish_container(ctx, ctx.containers[1], 1, gone)
    assert raised.value.code == "reply_target_missing" and "Could not locate record" in raised.value.message
    with pytest.raises(ContentRejected):
        await bsky.adapter.publish_container(ctx, ctx.containers[1], 1, PublishedContainer("12345"))
    assert bsky.posts() == []


# -- no duplicates ----------------------------------------------------------------------------


async def test_accepted_then_timed_out_is_unknown_then_found_and_adopted(bsky: Publishing) -> None:
    ctx = bsky.context("did it go out?", "and this reply?")
    impatient = bsky.adapter_with(timeout_s=0.3)
    bsky.sim.fault("bluesky", "createRecord", "accept_then_timeout", hang_s=5)
    with pytest.raises(OutcomeUnknown):
        await impatient.publish_container(ctx, ctx.containers[0], 0, None)
    [made] = bsky.made(1)  # the PDS made it, the answer never came
    root = await bsky.adapter.find_published(ctx, ctx.containers[0], 0, None)
    assert (
        root is not None
        and root.platform_post_id == made["id"]
        and root.url
        and root.url.startswith("https://bsky.app/")
    )

    bsky.sim.fault("bluesky", "createRecord", "accept_then_timeout", hang_s=5)
    with pytest.raises(OutcomeUnknown):
        await impatient.publish_container(ctx, ctx.containers[1], 1, root)
    bsky.made(2)
    reply = await bsky.adapter.find_published(ctx, ctx.containers[1], 1, root)
    assert reply is not None and reply.platform_post_id == bsky.posts()[1]["id"]
    assert len(bsky.posts()) == 2


async def test_a_timeout_before_the_pds_acted_is_unknown_and_nothing_is_found(bsky: Publishing) -> None:
    bsky.sim.fault("bluesky", "createRecord", "timeout", hang_s=5)
    ctx = bsky.context("slow PDS")
    with pytest.raises(OutcomeUnknown):
        await bsky.publish(ctx, bsky.adapter_with(timeout_s=0.3))
    assert bsky.posts() == []
    assert await bsky.adapter.find_published(ctx, ctx.containers[0], 0, None) is None


async def test_find_published_wants_the_same_text_and_the_same_parent(bsky: Publishing) -> None:
    ctx = bsky.context("root", "same words")
    [root] = await bsky.publish(bsky.context("root"))
    await bsky.publish(bsky.context("same words"))  # a post of its own, not a reply to `root`
    assert await bsky.adapter.find_published(ctx, ctx.containers[1], 1, root) is None
    assert await bsky.adapter.find_published(ctx, Container(content="other words"), 0, None) is None
    found = await bsky.adapter.find_published(ctx, ctx.containers[1], 0, None)
    assert found is not None and found.platform_post_id == bsky.posts()[1]["id"]
    again = await bsky.adapter.find_published(ctx, ctx.containers[0], 0, None)
    assert again == root  # the newest with this text: there is one


async def test_find_published_takes_the_newest_of_two_alike(bsky: Publishing) -> None:
    ctx = bsky.context("twice")
    await bsky.publish(ctx)
    await bsky.publish(ctx)
    first, second = bsky.posts()
    assert first["id"] < second["id"]  # record keys are timestamps
    found = await bsky.adapter.find_published(ctx, ctx.containers[0], 0, None)
    assert found is not None and found.platform_post_id == second["id"]


async def test_find_published_fails_like_publishing_when_the_pds_does(bsky: Publishing) -> None:
    ctx = bsky.context("hello")
    bsky.sim.fault("bluesky", "listRecords", "server_error")
    with pytest.raises(PlatformError) as raised:
        await bsky.adapter.find_published(ctx, ctx.containers[0], 0, None)
    assert raised.value.retryable


async def test_find_published_ignores_the_same_text_posted_before_the_send(bsky: Publishing) -> None:
    """A daily "Good morning" posted yesterday is not today's container whose answer was lost."""
    await bsky.publish(bsky.context("Good morning"))
    [old] = bsky.posts()
    ctx = bsky.context("Good morning")
    later = replace(ctx, sent_at=datetime.now(UTC) + timedelta(days=1))
    assert await bsky.adapter.find_published(later, ctx.containers[0], 0, None) is None
    found = await bsky.adapter.find_published(replace(later, sent_at=None), ctx.containers[0], 0, None)
    assert found is not None and found.platform_post_id == old["id"]
