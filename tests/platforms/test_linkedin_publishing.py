"""LinkedIn's adapter against the simulated LinkedIn: posts and first comments land as the Posts and
comments APIs expect them (little text escaped, the version header from the settings), every
failure comes out as the error the publisher acts on, and a post or comment whose answer was lost is
found and adopted, also when LinkedIn will not list the author's posts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest

from crier.contracts.common import Container
from crier.platforms.base import (
    ContentRejected,
    NotSupported,
    OutcomeUnknown,
    PlatformError,
    PublishedContainer,
    RateLimited,
    TokenRejected,
    TransientError,
)
from crier.platforms.linkedin import commentary

from .conftest import Flow
from .publishing import Publishing, adapter_for, connect_for_publishing

PUBLISH = "publish"  # the simulator's endpoint for both creating calls: posts and comments
DISTRIBUTION = {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []}


@pytest.fixture
async def li(flow: Flow) -> Publishing:
    return await connect_for_publishing(flow, "linkedin")


def as_organization(li: Publishing) -> tuple[Publishing, str]:
    """The same user's first organization as the account (the user needs `pages`)."""
    org_id = str(li.user["pages"][0]["id"])
    account = msgspec.structs.replace(
        li.account,
        network_unique_id=f"urn:li:organization:{org_id}",
        account_type="organization",
        extra={"author": f"urn:li:organization:{org_id}", "author_type": "organization"},
    )
    return replace(li, account=account), org_id


def creates(li: Publishing, kind: str = "posts") -> list[dict[str, Any]]:
    """The creating calls the simulated LinkedIn received with this account's token: posts or comments."""
    mine = f"Bearer {li.account.access_token}"
    return [
        r for r in li.sim.requests("linkedin", PUBLISH) if r["path"].endswith(f"/{kind}") and r["authorization"] == mine
    ]


async def test_a_text_post_is_one_share_made_as_the_member(li: Publishing) -> None:
    [published] = await li.publish(li.context("Hello from Crier"))
    [post] = li.posts()
    author = f"urn:li:person:{li.user['id']}"
    assert li.account.network_unique_id == author
    assert post["request"] == {
        "author": author,
        "commentary": "Hello from Crier",
        "visibility": "PUBLIC",
        "distribution": DISTRIBUTION,
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    assert post["id"].startswith("urn:li:share:") and post["text"] == "Hello from Crier"
    assert published == PublishedContainer(post["id"], f"https://www.linkedin.com/feed/update/{post['id']}/")
    assert creates(li)[-1]["authorization"] == f"Bearer {li.account.access_token}"


async def test_every_call_carries_the_version_from_the_settings(li: Publishing) -> None:
    seen: list[httpx.Request] = []

    async def keep(request: httpx.Request) -> None:
        seen.append(request)

    async with httpx.AsyncClient(event_hooks={"request": [keep]}) as http:
        adapter = adapter_for("linkedin", http, replace(li.settings, linkedin_version="202611"))
        ctx = li.context("versioned", "and commented")
        published = await li.publish(ctx, adapter)
        await adapter.find_published(ctx, ctx.containers[0], 0, None)
        await adapter.find_published(ctx, ctx.containers[1], 1, published[0])
    # the URN in a path is percent-encoded, as Rest.li 2.0 wants it
    assert [(r.method, r.url.raw_path.decode().split("?")[0].split("/rest/")[1]) for r in seen] == [
        ("POST", "posts"),
        ("POST", f"socialActions/{published[0].platform_post_id.replace(':', '%3A')}/comments"),
        ("GET", "posts"),
        ("GET", f"socialActions/{published[0].platform_post_id.replace(':', '%3A')}/comments"),
    ]
    for request in seen:
        assert request.headers["LinkedIn-Version"] == "202611"
        assert request.headers["X-Restli-Protocol-Version"] == "2.0.0"


async def test_an_inactive_version_is_a_permanent_failure_naming_the_setting(li: Publishing) -> None:
    with pytest.raises(PlatformError) as raised:
        await li.publish(li.context("hello"), li.adapter_with(linkedin_version="2025-07"))
    assert raised.value.code == "api_version_rejected" and not raised.value.retryable
    assert "Requested version 2025-07 is not active" in raised.value.message
    assert "CRIER_LINKEDIN_VERSION" in raised.value.message and li.posts() == []


async def test_reserved_characters_reach_linkedin_escaped_and_hashtags_as_hashtags(li: Publishing) -> None:
    text = "Launch (v2) #launch @team [beta] {x} <y> *z* _a_ ~b~ a|b \\ see https://ex.com/a_b#top C#"
    await li.publish(li.context(text))
    [post] = li.posts()
    sent = post["request"]["commentary"]
    assert sent == commentary(text) and "{hashtag|\\#|launch}" in sent and "\\(v2\\)" in sent
    assert "https://ex.com/a\\_b\\#top" in sent and sent.endswith("C\\#")
    assert post["text"] == text  # read as LinkedIn reads little text: nothing cut off


async def test_unescaped_text_would_be_cut_where_linkedin_cuts_it(li: Publishing) -> None:
    # What the simulator does with the raw text, to show the escaping above is what saves the post.
    resp = await li.http.post(
        f"{li.sim.base_url}/linkedin/rest/posts",
        json={
            "author": li.account.network_unique_id,
            "commentary": "Launch (v2) is here",
            "visibility": "PUBLIC",
            "distribution": DISTRIBUTION,
            "lifecycleState": "PUBLISHED",
        },
        headers={"Authorization": f"Bearer {li.account.access_token}", "LinkedIn-Version": "202611"},
    )
    assert resp.status_code == 201
    assert [p["text"] for p in li.posts()] == ["Launch "]


async def test_the_first_comment_is_a_comment_on_the_post(li: Publishing) -> None:
    root, comment = await li.publish(li.context("the post (with a link below)", "Link: https://ex.com/(a)_b"))
    post, made = li.posts()
    assert made["reply_to"] == post["id"] == root.platform_post_id and made["root"] == post["id"]
    author = f"urn:li:person:{li.user['id']}"
    # comments are plain text: nothing escaped
    assert made["request"] == {"actor": author, "object": post["id"], "message": {"text": "Link: https://ex.com/(a)_b"}}
    assert made["text"] == "Link: https://ex.com/(a)_b"
    assert comment.platform_post_id == made["id"] == made["response"]["commentUrn"]
    assert made["id"] == f"urn:li:comment:({post['id']},{made['response']['id']})"
    assert comment.url == (
        f"https://www.linkedin.com/feed/update/{post['id']}/?commentUrn=" + made["id"].replace(":", "%3A")
    ).replace("(", "%28").replace(")", "%29").replace(",", "%2C")


async def test_no_thread_beyond_the_first_comment(li: Publishing) -> None:
    ctx = li.context("root", "comment", "a reply LinkedIn cannot thread")
    _, comment = await li.publish(replace(ctx, containers=ctx.containers[:2]))
    with pytest.raises(NotSupported) as raised:
        await li.adapter.publish_container(ctx, ctx.containers[2], 2, comment)
    assert raised.value.code == "thread_unsupported" and len(li.posts()) == 2


async def test_config_reaches_the_post_not_the_comment(li: Publishing) -> None:
    config = {"visibility": "CONNECTIONS", "disable_reshare": True}
    await li.publish(li.context("for my network", "a comment", config=config))
    post, made = li.posts()
    assert (post["request"]["visibility"], post["request"]["isReshareDisabledByAuthor"]) == ("CONNECTIONS", True)
    assert post["response"]["visibility"] == "CONNECTIONS" and post["response"]["isReshareDisabledByAuthor"] is True
    assert set(made["request"]) == {"actor", "object", "message"}


async def test_config_the_rules_refuse_is_never_sent(li: Publishing) -> None:
    sent = len(creates(li))
    for config in ({"visibility": "public"}, {"disable_reshare": "yes"}, {"reshare": False}):
        with pytest.raises(ContentRejected) as raised:
            await li.publish(li.context("hi", config=config))
        assert raised.value.code == "invalid_content"
    assert li.posts() == [] and len(creates(li)) == sent


async def test_an_organization_posts_and_comments_as_itself(flow: Flow) -> None:
    member = await connect_for_publishing(flow, "linkedin", pages=[{"name": "Acme"}])
    org, org_id = as_organization(member)
    root, _ = await org.publish(org.context("news from Acme", "more below"))
    post, made = org.posts()
    assert post["page_id"] == org_id == made["page_id"] and post["user_id"] == member.user["id"]
    assert post["request"]["author"] == f"urn:li:organization:{org_id}" == made["request"]["actor"]
    assert made["response"]["created"]["impersonator"] == f"urn:li:person:{member.user['id']}"
    found = await org.adapter.find_published(
        org.context("news from Acme"), Container(content="news from Acme"), 0, None
    )
    assert found == root


async def test_an_organization_cannot_post_to_connections(flow: Flow) -> None:
    org, _ = as_organization(await connect_for_publishing(flow, "linkedin", pages=1))
    with pytest.raises(ContentRejected) as raised:
        await org.publish(org.context("hi", config={"visibility": "CONNECTIONS"}))
    assert raised.value.code == "invalid_content" and "organization posts PUBLIC" in raised.value.message
    assert creates(org) == []


async def test_an_organization_the_member_does_not_administer_is_refused(li: Publishing) -> None:
    stranger = msgspec.structs.replace(li.account, network_unique_id="urn:li:organization:999", extra={})
    with pytest.raises(PlatformError) as raised:
        await li.publish(replace(li.context("hi"), account=stranger))
    assert raised.value.code == "missing_permission" and not raised.value.retryable


async def test_a_token_without_w_member_social_is_missing_permission(flow: Flow) -> None:
    li = await connect_for_publishing(flow, "linkedin", scopes=("openid", "profile"))
    with pytest.raises(PlatformError) as raised:
        await li.publish(li.context("hello"))
    assert raised.value.code == "missing_permission" and "Not enough permissions" in raised.value.message


# -- failures ---------------------------------------------------------------------------------


async def test_rate_limit_waits_for_retry_after(li: Publishing) -> None:
    li.sim.fault("linkedin", PUBLISH, "rate_limit", retry_after=7)
    with pytest.raises(RateLimited) as raised:
        await li.publish(li.context("too soon"))
    assert raised.value.retry_after_s == 7 and "throttle" in raised.value.message and li.posts() == []
    await li.publish(li.context("later"))
    assert len(li.posts()) == 1


async def test_a_daily_limit_without_retry_after_waits_until_midnight_utc(li: Publishing) -> None:
    body = {
        "status": 429,
        "serviceErrorCode": 101,
        "code": "TOO_MANY_REQUESTS",
        "message": "Resource level throttle MEMBER DAY limit for calls to this resource is reached.",
    }
    li.sim.fault("linkedin", PUBLISH, "status", status=429, body=body)
    with pytest.raises(RateLimited) as raised:
        await li.publish(li.context("tomorrow"))
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert raised.value.retry_after_s is not None
    assert abs(raised.value.retry_after_s - (midnight - now).total_seconds()) < 5
    # a throttle that names no daily limit leaves the wait to the publisher's backoff
    li.sim.fault("linkedin", PUBLISH, "status", status=429, body={**body, "message": "Too many requests"})
    with pytest.raises(RateLimited) as raised:
        await li.publish(li.context("soon"))
    assert raised.value.retry_after_s is None


@pytest.mark.parametrize(("kind", "status"), [("server_error", 500), ("unavailable", 503)])
async def test_server_errors_are_retryable_and_certain(li: Publishing, kind: str, status: int) -> None:
    li.sim.fault("linkedin", PUBLISH, kind)
    with pytest.raises(TransientError) as raised:
        await li.publish(li.context("hello"))
    assert not isinstance(raised.value, OutcomeUnknown) and raised.value.code == "platform_unavailable"
    assert str(status) in raised.value.message and li.posts() == []


@pytest.mark.parametrize("status", [502, 504])
async def test_a_gateway_giving_up_leaves_the_outcome_unknown(li: Publishing, status: int) -> None:
    li.sim.fault("linkedin", PUBLISH, "status", status=status, body={"message": "Bad Gateway"})
    with pytest.raises(OutcomeUnknown):
        await li.publish(li.context("hello"))


async def test_a_timeout_before_linkedin_acted_is_unknown_then_the_lookup_makes_the_post(li: Publishing) -> None:
    li.sim.fault("linkedin", PUBLISH, "timeout", hang_s=5)
    ctx = li.context("slow", "and a comment")
    with pytest.raises(OutcomeUnknown):
        await li.publish(ctx, li.adapter_with(timeout_s=0.3))
    assert li.posts() == []
    # Not among the author's posts: posted now (LinkedIn would name it, had it been made).
    found = await li.adapter.find_published(ctx, ctx.containers[0], 0, None)
    [post] = li.posts()
    assert found is not None and found.platform_post_id == post["id"] and post["text"] == "slow"
    # A comment has no duplicate check: one not found is for the publisher to post.
    assert await li.adapter.find_published(ctx, ctx.containers[1], 1, found) is None


async def test_an_unreachable_linkedin_is_transient_not_unknown(li: Publishing) -> None:
    with pytest.raises(TransientError) as raised:
        await li.publish(li.context("hello"), li.adapter_with(base_url_override="http://127.0.0.1:9"))
    assert not isinstance(raised.value, OutcomeUnknown)


async def test_a_refused_or_revoked_token_is_token_rejected(li: Publishing) -> None:
    li.sim.fault("linkedin", PUBLISH, "expired_token")
    with pytest.raises(TokenRejected) as raised:
        await li.publish(li.context("hello"))
    assert raised.value.message == "The token used in the request has expired"
    li.sim.revoke_grants("linkedin", li.user["id"])
    with pytest.raises(TokenRejected):
        await li.publish(li.context("hello"))
    assert li.posts() == []


async def test_too_long_for_linkedin_fails_with_its_own_words(li: Publishing) -> None:
    # The rules refuse this at create; here the adapter is asked anyway, as after a rules change.
    with pytest.raises(ContentRejected) as raised:
        await li.publish(li.context("x" * 3001))
    assert raised.value.code == "content_rejected" and not raised.value.retryable
    assert "ShareCommentary text length (3001 characters) exceeded the maximum allowed (3000" in raised.value.message
    ctx = li.context("ok", "y" * 1251)
    root = await li.adapter.publish_container(ctx, ctx.containers[0], 0, None)
    with pytest.raises(ContentRejected) as raised:
        await li.adapter.publish_container(ctx, ctx.containers[1], 1, root)
    assert "1251 characters" in raised.value.message and len(li.posts()) == 1


async def test_the_same_text_twice_is_a_duplicate(li: Publishing) -> None:
    [first] = await li.publish(li.context("only once"))
    with pytest.raises(ContentRejected) as raised:
        await li.publish(li.context("only once"))
    assert raised.value.code == "duplicate_content" and not raised.value.retryable
    assert raised.value.message == f"Content is a duplicate of {first.platform_post_id}"
    assert len(li.posts()) == 1


async def test_a_comment_on_a_post_linkedin_does_not_show_yet_is_retried(li: Publishing) -> None:
    li.sim.configure("linkedin", comment_lag_s=30)
    ctx = li.context("fresh", "first!")
    root = await li.adapter.publish_container(ctx, ctx.containers[0], 0, None)
    with pytest.raises(TransientError) as raised:
        await li.adapter.publish_container(ctx, ctx.containers[1], 1, root)
    assert raised.value.retryable and raised.value.code == "not_found_yet"
    li.sim.advance_clock(31)
    await li.adapter.publish_container(ctx, ctx.containers[1], 1, root)
    assert [p["text"] for p in li.posts()] == ["fresh", "first!"]


# -- no duplicates ----------------------------------------------------------------------------


async def test_accepted_then_timed_out_is_unknown_then_found_and_adopted(li: Publishing) -> None:
    ctx = li.context("did it go out?", "and this comment?")
    impatient = li.adapter_with(timeout_s=0.3)
    li.sim.fault("linkedin", PUBLISH, "accept_then_timeout", hang_s=5)
    with pytest.raises(OutcomeUnknown):
        await impatient.publish_container(ctx, ctx.containers[0], 0, None)
    [made] = li.made(1)
    root = await li.adapter.find_published(ctx, ctx.containers[0], 0, None)
    assert root == PublishedContainer(made["id"], f"https://www.linkedin.com/feed/update/{made['id']}/")

    li.sim.fault("linkedin", PUBLISH, "accept_then_timeout", hang_s=5)
    with pytest.raises(OutcomeUnknown):
        await impatient.publish_container(ctx, ctx.containers[1], 1, root)
    li.made(2)
    comment = await li.adapter.find_published(ctx, ctx.containers[1], 1, root)
    assert comment is not None and comment.platform_post_id == li.posts()[1]["id"]
    assert len(creates(li)) == 1 and len(creates(li, "comments")) == 1


async def test_find_published_reads_the_text_linkedin_keeps(li: Publishing) -> None:
    text = "Big news (really) #launch\n\n  see https://ex.com/a_b   @team"
    ctx = li.context(text)
    [published] = await li.publish(ctx)
    assert await li.adapter.find_published(ctx, ctx.containers[0], 0, None) == published


async def test_find_published_wants_the_same_text_parent_and_time(li: Publishing) -> None:
    root, comment = await li.publish(li.context("root", "same words"))
    [other] = await li.publish(li.context("another root"))
    ctx = li.context("root", "same words")
    assert await li.adapter.find_published(ctx, Container(content="same words"), 1, other) is None
    assert await li.adapter.find_published(ctx, Container(content="other words"), 1, root) is None
    assert await li.adapter.find_published(ctx, ctx.containers[1], 1, root) == comment
    assert await li.adapter.find_published(ctx, ctx.containers[0], 0, None) == root
    # Made before the container was first sent (less the clock skew allowed): not this container.
    made_at = datetime.fromtimestamp(li.posts()[0]["response"]["createdAt"] / 1000, UTC)  # the simulator's clock
    later = replace(ctx, sent_at=made_at + timedelta(minutes=10))
    assert await li.adapter.find_published(later, ctx.containers[1], 1, root) is None
    with pytest.raises(ContentRejected) as raised:  # LinkedIn names that older post: a true duplicate
        await li.adapter.find_published(later, ctx.containers[0], 0, None)
    assert raised.value.code == "duplicate_content" and raised.value.message.endswith(root.platform_post_id)
    assert len(li.posts()) == 3
    skewed = replace(ctx, sent_at=made_at + timedelta(minutes=4))
    assert await li.adapter.find_published(skewed, ctx.containers[0], 0, None) == root
    assert await li.adapter.find_published(skewed, ctx.containers[1], 1, root) == comment


async def test_when_linkedin_hides_the_authors_posts_the_duplicate_answers(li: Publishing) -> None:
    ctx = li.context("lost answer")
    li.sim.fault("linkedin", PUBLISH, "accept_then_timeout", hang_s=5)
    with pytest.raises(OutcomeUnknown):
        await li.adapter_with(timeout_s=0.3).publish_container(ctx, ctx.containers[0], 0, None)
    [made] = li.made(1)
    hidden = {"status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED", "message": "Not enough permissions"}
    li.sim.fault("linkedin", "author_posts", "status", status=403, body=hidden)
    found = await li.adapter.find_published(ctx, ctx.containers[0], 0, None)
    assert found is not None and found.platform_post_id == made["id"] and len(li.posts()) == 1
    # and when the first request never got there, the second one is the post
    fresh = li.context("never arrived")
    li.sim.fault("linkedin", "author_posts", "status", status=403, body=hidden)
    again = await li.adapter.find_published(fresh, fresh.containers[0], 0, None)
    assert again is not None and [p["text"] for p in li.posts()] == ["lost answer", "never arrived"]
    assert again.platform_post_id == li.posts()[1]["id"]


async def test_a_post_linkedin_does_not_list_yet_is_named_by_the_duplicate_check(li: Publishing) -> None:
    ctx = li.context("made, not listed yet")
    li.sim.fault("linkedin", PUBLISH, "accept_then_timeout", hang_s=5)
    with pytest.raises(OutcomeUnknown):
        await li.adapter_with(timeout_s=0.3).publish_container(ctx, ctx.containers[0], 0, None)
    li.made(1)
    nothing = {"elements": [], "paging": {"start": 0, "count": 50, "links": []}}
    li.sim.fault("linkedin", "author_posts", "status", status=200, body=nothing)
    found = await li.adapter.find_published(ctx, ctx.containers[0], 0, None)
    [made] = li.posts()
    assert found is not None and found.platform_post_id == made["id"] and len(creates(li)) == 2


async def test_comments_linkedin_will_not_show_keep_the_refusal(li: Publishing) -> None:
    ctx = li.context("root", "comment")
    [root] = await li.publish(replace(ctx, containers=ctx.containers[:1]))
    hidden = {"status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED", "message": "Not enough permissions"}
    li.sim.fault("linkedin", "comments", "status", status=403, body=hidden)
    with pytest.raises(PlatformError) as raised:
        await li.adapter.find_published(ctx, ctx.containers[1], 1, root)
    assert raised.value.code == "missing_permission" and len(li.posts()) == 1
