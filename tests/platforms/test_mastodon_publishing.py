"""Mastodon's adapter against the simulated instance: statuses, reply chains and options land as
Mastodon expects them, every failure comes out as the error the publisher acts on, the
Idempotency-Key makes a repeat one status, and a post whose answer was lost is found and adopted."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from crier.contracts.common import Container
from crier.kit.guarded_http import guarded_client
from crier.kit.ssrf import parse_networks
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
from crier.platforms.mastodon import instance_max_characters

from .conftest import Flow
from .publishing import Publishing, adapter_for, connect_for_publishing


async def _connect(flow: Flow, scopes: tuple[str, ...] = ()) -> Publishing:
    return await connect_for_publishing(flow, "mastodon", scopes=scopes)


@pytest.fixture
async def masto(flow: Flow) -> Publishing:
    return await _connect(flow)


async def test_a_text_post_is_one_status_made_with_the_account_token(masto: Publishing) -> None:
    ctx = masto.context("Hello from Crier")
    [published] = await masto.publish(ctx)
    [post] = masto.posts()
    assert post["id"] == published.platform_post_id and post["text"] == "Hello from Crier"
    assert post["request"] == {"status": "Hello from Crier"}
    assert post["idempotency_key"] == ctx.idempotency_key(0) and post["reply_to"] is None
    assert published.url == post["response"]["url"] and published.url.endswith(
        f"/@{masto.account.username}/{post['id']}"
    )
    assert masto.sim.requests("mastodon", "statuses")[-1]["authorization"] == f"Bearer {masto.account.access_token}"


async def test_first_comment_and_thread_are_a_reply_chain(masto: Publishing) -> None:
    texts = ("the post", "first comment", "thread 1/2", "thread 2/2")
    published = await masto.publish(masto.context(*texts))
    posts = masto.posts()
    assert [p["text"] for p in posts] == list(texts)
    assert [p["id"] for p in posts] == [p.platform_post_id for p in published]
    root = posts[0]["id"]
    for before, reply in itertools.pairwise(posts):
        assert reply["request"]["in_reply_to_id"] == before["id"] == reply["reply_to"]
        assert reply["root"] == root and reply["response"]["in_reply_to_account_id"] == masto.user["id"]
    assert "in_reply_to_id" not in posts[0]["request"]


async def test_config_reaches_every_container(masto: Publishing) -> None:
    config = {"visibility": "unlisted", "spoiler_text": "spoilers", "language": "de", "sensitive": True}
    await masto.publish(masto.context("Hallo", "noch was", config=config))
    for post in masto.posts():
        assert {k: post["request"][k] for k in config} == config
        status = post["response"]
        assert (status["visibility"], status["spoiler_text"], status["language"], status["sensitive"]) == (
            "unlisted",
            "spoilers",
            "de",
            True,
        )


async def test_a_spoiler_alone_marks_the_status_sensitive(masto: Publishing) -> None:
    await masto.publish(masto.context("plot twist", config={"spoiler_text": "cw"}))
    [post] = masto.posts()
    assert "sensitive" not in post["request"] and post["response"]["sensitive"] is True


async def test_config_the_rules_refuse_is_never_sent(masto: Publishing) -> None:
    sent = len(masto.sim.requests("mastodon", "statuses"))
    with pytest.raises(ContentRejected):
        await masto.publish(masto.context("hi", config={"visibility": "everyone"}))
    assert masto.posts() == [] and len(masto.sim.requests("mastodon", "statuses")) == sent


async def test_the_instance_url_of_the_account_is_used_without_a_stand_in(masto: Publishing) -> None:
    real = masto.adapter_with(base_url_override="")  # no CRIER_PLATFORM_BASE_URL
    await masto.publish(masto.context("straight to the instance"), real)
    assert [p["text"] for p in masto.posts()] == ["straight to the instance"]
    nowhere = replace(masto.context("x"), account=msgspec.structs.replace(masto.account, instance_url=None))
    with pytest.raises(PlatformError) as raised:
        await masto.publish(nowhere, real)
    assert raised.value.code == "instance_required" and not raised.value.retryable


# -- failures ---------------------------------------------------------------------------------


async def test_rate_limit_waits_for_the_reset_time(masto: Publishing) -> None:
    masto.sim.fault("mastodon", "statuses", "rate_limit", retry_after=7)
    with pytest.raises(RateLimited) as raised:
        await masto.publish(masto.context("too soon"))
    # Mastodon sends no Retry-After: X-RateLimit-Reset, an ISO 8601 time, a moment ago 7 s away
    assert raised.value.retryable and raised.value.retry_after_s is not None and 5.5 <= raised.value.retry_after_s <= 7
    assert masto.posts() == []
    await masto.publish(masto.context("later"))
    assert len(masto.posts()) == 1


@pytest.mark.parametrize(("kind", "status"), [("server_error", 500), ("unavailable", 503)])
async def test_server_errors_are_retryable_and_certain(masto: Publishing, kind: str, status: int) -> None:
    masto.sim.fault("mastodon", "statuses", kind)
    with pytest.raises(TransientError) as raised:
        await masto.publish(masto.context("hello"))
    assert not isinstance(raised.value, OutcomeUnknown) and raised.value.code == "platform_unavailable"
    assert str(status) in raised.value.message and masto.posts() == []


@pytest.mark.parametrize("status", [502, 504])
async def test_a_gateway_giving_up_leaves_the_outcome_unknown(masto: Publishing, status: int) -> None:
    masto.sim.fault("mastodon", "statuses", "status", status=status, body={"error": "Bad Gateway"})
    with pytest.raises(OutcomeUnknown) as raised:
        await masto.publish(masto.context("hello"))
    assert raised.value.retryable and raised.value.code == "outcome_unknown"


async def test_a_timeout_before_the_instance_acted_is_unknown_and_nothing_is_found(masto: Publishing) -> None:
    masto.sim.fault("mastodon", "statuses", "timeout", hang_s=5)
    ctx = masto.context("slow instance")
    with pytest.raises(OutcomeUnknown):
        await masto.publish(ctx, masto.adapter_with(timeout_s=0.3))
    assert masto.posts() == []
    assert await masto.adapter.find_published(ctx, ctx.containers[0], 0, None) is None


async def test_an_unreachable_instance_is_transient_not_unknown(masto: Publishing) -> None:
    dead = masto.adapter_with(base_url_override="http://127.0.0.1:9")
    with pytest.raises(TransientError) as raised:
        await masto.publish(masto.context("hello"), dead)
    assert not isinstance(raised.value, OutcomeUnknown)


async def test_a_refused_token_is_token_rejected(masto: Publishing) -> None:
    masto.sim.fault("mastodon", "statuses", "expired_token")
    with pytest.raises(TokenRejected) as raised:
        await masto.publish(masto.context("hello"))
    assert raised.value.message == "The access token is invalid" and not raised.value.retryable
    masto.sim.invalidate_tokens("mastodon", masto.user["id"])
    with pytest.raises(TokenRejected):
        await masto.publish(masto.context("hello"))
    assert masto.posts() == []


async def test_a_revoked_grant_is_token_rejected(masto: Publishing) -> None:
    masto.sim.revoke_grants("mastodon", masto.user["id"])
    with pytest.raises(TokenRejected):
        await masto.publish(masto.context("hello"))


async def test_content_mastodon_refuses_fails_with_its_own_words(masto: Publishing) -> None:
    masto.sim.configure("mastodon", max_characters=10)
    with pytest.raises(ContentRejected) as raised:
        await masto.publish(masto.context("eleven char"))
    assert raised.value.message == "Validation failed: Text character limit of 10 exceeded"
    assert raised.value.code == "content_rejected" and not raised.value.retryable
    masto.sim.fault("mastodon", "statuses", "reject")
    with pytest.raises(ContentRejected):
        await masto.publish(masto.context("short"))
    assert masto.posts() == []


async def test_a_reply_to_a_status_that_is_gone_is_permanent(masto: Publishing) -> None:
    ctx = masto.context("root", "reply")
    with pytest.raises(ContentRejected) as raised:
        await masto.adapter.publish_container(ctx, ctx.containers[1], 1, PublishedContainer("100000000000000001"))
    assert raised.value.code == "reply_target_missing" and "does not appear to exist" in raised.value.message


async def test_a_token_without_write_statuses_is_missing_permission(flow: Flow) -> None:
    masto = await _connect(flow, scopes=("read:accounts",))
    with pytest.raises(PlatformError) as raised:
        await masto.publish(masto.context("hello"))
    assert raised.value.code == "missing_permission" and not raised.value.retryable
    assert "outside the authorized scopes" in raised.value.message


# -- no duplicates ----------------------------------------------------------------------------


async def test_the_same_container_twice_is_one_status(masto: Publishing) -> None:
    ctx = masto.context("only once")
    first = await masto.publish(ctx)
    again = await masto.publish(replace(ctx, attempt=2))
    assert again == first and len(masto.posts()) == 1
    other_target = await masto.publish(masto.context("only once"))
    assert other_target != first and len(masto.posts()) == 2


async def test_the_idempotency_key_lasts_an_hour(masto: Publishing) -> None:
    ctx = masto.context("an hour later")
    first = await masto.publish(ctx)
    masto.sim.advance_clock(3601)
    later = await masto.publish(ctx)
    assert later != first and len(masto.posts()) == 2  # why find_published exists


async def test_accepted_then_timed_out_is_unknown_then_found_and_adopted(masto: Publishing) -> None:
    ctx = masto.context("did it go out?", "and this reply?")
    impatient = masto.adapter_with(timeout_s=0.3)
    masto.sim.fault("mastodon", "statuses", "accept_then_timeout", hang_s=5)
    with pytest.raises(OutcomeUnknown):
        await impatient.publish_container(ctx, ctx.containers[0], 0, None)
    [made] = masto.made(1)  # the instance made it, the answer never came
    root = await masto.adapter.find_published(ctx, ctx.containers[0], 0, None)
    assert root is not None and root.platform_post_id == made["id"] and root.url == made["response"]["url"]

    masto.sim.fault("mastodon", "statuses", "accept_then_timeout", hang_s=5)
    with pytest.raises(OutcomeUnknown):
        await impatient.publish_container(ctx, ctx.containers[1], 1, root)
    masto.made(2)
    reply = await masto.adapter.find_published(ctx, ctx.containers[1], 1, root)
    assert reply is not None and reply.platform_post_id == masto.posts()[1]["id"]
    # and posting anyway would not have made a second one: the idempotency key answers it
    assert await masto.adapter.publish_container(ctx, ctx.containers[1], 1, root) == reply
    assert len(masto.posts()) == 2


async def test_find_published_compares_the_text_mastodon_rendered(masto: Publishing) -> None:
    masto.sim.add_user("mastodon", username="bob", sign_in=False)
    text = (
        "Read <this> & that: https://example.com/a/very/long/path/that/gets/shortened?q=1\n\n"
        "hi @bob and @ann@else.social #news"
    )
    ctx = masto.context(text, config={"visibility": "private"})
    await masto.publish(ctx)
    [post] = masto.posts()
    assert "<p>" in post["response"]["content"] and "&amp;" in post["response"]["content"]
    found = await masto.adapter.find_published(ctx, ctx.containers[0], 0, None)
    assert found is not None and found.platform_post_id == post["id"]


async def test_find_published_wants_the_same_text_and_the_same_parent(masto: Publishing) -> None:
    ctx = masto.context("root", "same words")
    [root] = await masto.publish(masto.context("root"))
    await masto.publish(masto.context("same words"))  # a root, not a reply to `root`
    assert await masto.adapter.find_published(ctx, ctx.containers[1], 1, root) is None
    assert await masto.adapter.find_published(ctx, Container(content="other words"), 0, None) is None
    found = await masto.adapter.find_published(ctx, ctx.containers[1], 0, None)
    assert found is not None and found.platform_post_id == masto.posts()[1]["id"]


async def test_find_published_ignores_the_same_text_posted_before_the_send(masto: Publishing) -> None:
    """A daily "Good morning" posted yesterday is not today's container whose answer was lost."""
    await masto.publish(masto.context("Good morning"))
    [old] = masto.posts()
    # Sent a day after that status was made: the status cannot be this container.
    ctx = replace(masto.context("Good morning"), sent_at=datetime.now(UTC) + timedelta(days=1))
    assert await masto.adapter.find_published(ctx, ctx.containers[0], 0, None) is None
    found = await masto.adapter.find_published(replace(ctx, sent_at=None), ctx.containers[0], 0, None)
    assert found is not None and found.platform_post_id == old["id"]


async def test_find_published_without_read_statuses_sees_public_statuses(flow: Flow) -> None:
    masto = await _connect(flow, scopes=("read:accounts", "write:statuses"))  # connected before Crier asked for it
    public, private = masto.context("for everyone"), masto.context("for followers", config={"visibility": "private"})
    await masto.publish(public)
    await masto.publish(private)
    assert await masto.adapter.find_published(public, public.containers[0], 0, None) is not None
    assert await masto.adapter.find_published(private, private.containers[0], 0, None) is None
    looks = masto.sim.requests("mastodon", "account_statuses")[-2:]
    assert looks[0]["authorization"] and looks[1]["authorization"] is None  # 403 with the token, then anonymous


async def test_the_instance_limit_is_read_from_the_instance(masto: Publishing) -> None:
    instance = f"{masto.sim.base_url}/mastodon"
    assert await instance_max_characters(masto.http, instance) == 500
    masto.sim.configure("mastodon", max_characters=1000)
    assert await instance_max_characters(masto.http, instance) == 1000


async def test_an_instance_that_shows_nothing_without_a_token_keeps_the_first_refusal(masto: Publishing) -> None:
    ctx = masto.context("hidden")
    refusal = {"error": "This action is outside the authorized scopes"}
    masto.sim.fault("mastodon", "account_statuses", "status", status=403, body=refusal)
    masto.sim.fault("mastodon", "account_statuses", "status", status=401, body={"error": "no public API"})
    with pytest.raises(PlatformError) as raised:
        await masto.adapter.find_published(ctx, ctx.containers[0], 0, None)
    assert raised.value.code == "missing_permission" and not isinstance(raised.value, TokenRejected)


async def test_an_instance_the_ssrf_guard_refuses_is_never_called(masto: Publishing) -> None:
    """The publisher calls the instance an account names through the guard: a loopback instance is
    refused unless the operator exempted its network (CRIER_INSTANCE_ALLOWED_NETWORKS)."""
    on_loopback = msgspec.structs.replace(masto.account, instance_url=f"{masto.sim.base_url}/mastodon")
    ctx = replace(masto.context("from inside?"), account=on_loopback)
    guarded = guarded_client((), timeout_s=5)
    exempt = guarded_client(parse_networks(["127.0.0.0/8"]), timeout_s=5)
    try:
        real_hosts = PlatformSettings(timeout_s=5)  # no stand-in: the account's own instance
        with pytest.raises(PlatformError) as refused:
            await adapter_for("mastodon", guarded, real_hosts).publish_container(ctx, ctx.containers[0], 0, None)
        assert refused.value.code == "blocked_address" and not refused.value.retryable
        assert masto.posts() == []
        made = await adapter_for("mastodon", exempt, real_hosts).publish_container(ctx, ctx.containers[0], 0, None)
        assert [p["id"] for p in masto.posts()] == [made.platform_post_id]
    finally:
        await guarded.aclose()
        await exempt.aclose()
