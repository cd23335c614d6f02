"""Facebook Pages' adapter against the simulated Graph API: a Page's post, its first comment and a
reply to that comment land as Facebook expects them, with the Page's own token and the configured
Graph API version; every failure comes out as the error the publisher acts on; a post whose answer
was lost is found on the Page and adopted."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

import httpx
import msgspec
import pytest

from crier.contracts.common import Container
from crier.platforms._graph import rate_limit_wait
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
async def page(flow: Flow) -> Publishing:
    return await connect_for_publishing(flow, "facebook")


def _requests(page: Publishing, endpoint: str = "publish") -> list[dict]:
    """The calls made with this Page's token (the simulator's log is shared by the session)."""
    token = f"Bearer {page.account.access_token}"
    return [r for r in page.sim.requests("facebook", endpoint) if r["authorization"] == token]


async def test_a_text_post_goes_on_the_page_feed_with_the_page_token(page: Publishing) -> None:
    [published] = await page.publish(page.context("Fresh bread at 7"))
    [post] = page.posts()
    page_id = page.account.network_unique_id
    assert post["page_id"] == page_id and post["author"] == page_id and post["text"] == "Fresh bread at 7"
    assert post["request"] == {"message": "Fresh bread at 7"} and post["reply_to"] is None
    assert published.platform_post_id == post["id"] and post["id"].startswith(f"{page_id}_")
    assert published.url == post["response"]["permalink_url"]
    [sent] = _requests(page)
    assert sent["path"] == f"/facebook/v23.0/{page_id}/feed" and sent["method"] == "POST"
    assert sent["authorization"] == f"Bearer {page.account.access_token}"


async def test_first_comment_and_a_reply_to_it(page: Publishing) -> None:
    texts = ("Opening hours changed", "Details in this comment", "And one more thing")
    published = await page.publish(page.context(*texts))
    post, comment, reply = page.posts()
    assert [p["text"] for p in (post, comment, reply)] == list(texts)
    assert [p["id"] for p in (post, comment, reply)] == [p.platform_post_id for p in published]
    assert (comment["reply_to"], reply["reply_to"]) == (post["id"], comment["id"])
    assert comment["root"] == reply["root"] == post["id"]
    assert (comment["request"], reply["request"]) == ({"message": texts[1]}, {"message": texts[2]})
    assert [r["path"].rsplit("/", 2)[-2:] for r in _requests(page)] == [
        [page.account.network_unique_id, "feed"],
        [post["id"], "comments"],
        [comment["id"], "comments"],
    ]
    assert [p.url for p in published] == [p["response"]["permalink_url"] for p in (post, comment, reply)]
    assert reply["response"]["parent"] == {"id": comment["id"]} and "parent" not in comment["response"]


async def test_the_graph_api_version_is_a_setting(page: Publishing) -> None:
    newer = page.adapter_with(graph_api_version="v24.0")
    await page.publish(page.context("on the newer API"), newer)
    assert _requests(page)[-1]["path"].startswith("/facebook/v24.0/")


async def test_a_link_is_shared_by_the_post_only(page: Publishing) -> None:
    config = {"link": "https://bakery.example/menu"}
    await page.publish(page.context("Our new menu", "Tell us what you think", config=config))
    post, comment = page.posts()
    assert post["request"] == {"message": "Our new menu", "link": "https://bakery.example/menu"}
    assert comment["request"] == {"message": "Tell us what you think"}
    assert post["response"]["status_type"] == "shared_story"


async def test_config_the_rules_refuse_is_never_sent(page: Publishing) -> None:
    for config in ({"link": "bakery.example/menu"}, {"published": False}):
        with pytest.raises(ContentRejected) as raised:
            await page.publish(page.context("hi", config=config))
        assert raised.value.code == "invalid_content"
    assert page.posts() == [] and _requests(page) == []


async def test_only_a_page_publishes(page: Publishing) -> None:
    profile = msgspec.structs.replace(page.account, account_type="profile")
    with pytest.raises(PlatformError) as raised:
        await page.publish(replace(page.context("as me"), account=profile))
    assert raised.value.code == "not_a_page" and not raised.value.retryable
    assert _requests(page) == []


# -- failures ---------------------------------------------------------------------------------


async def test_a_rate_limit_waits_as_long_as_graph_says(page: Publishing) -> None:
    page.sim.fault("facebook", "publish", "rate_limit", retry_after=7)
    with pytest.raises(RateLimited) as raised:
        await page.publish(page.context("too soon"))
    assert raised.value.retryable and raised.value.retry_after_s == 7
    assert "(#4)" in raised.value.message and page.posts() == []


def test_without_a_retry_after_the_wait_is_in_the_usage_headers() -> None:
    usage = {"1234": [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 3}]}
    usage["5678"] = [{"type": "pages", "call_count": 40, "estimated_time_to_regain_access": 0}]
    business = {"X-Business-Use-Case-Usage": json.dumps(usage)}
    assert rate_limit_wait(httpx.Headers(business)) == 180  # minutes, the longest of them
    assert rate_limit_wait(httpx.Headers({"X-Ad-Account-Usage": json.dumps({"reset_time_duration": 42})})) == 42
    assert rate_limit_wait(httpx.Headers({**business, "Retry-After": "7"})) == 7
    assert rate_limit_wait(httpx.Headers({"X-App-Usage": json.dumps({"call_count": 100})})) is None
    assert rate_limit_wait(httpx.Headers({"X-Business-Use-Case-Usage": "{not json"})) is None


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001])
async def test_graph_rate_limit_codes_are_rate_limits_whatever_the_status(page: Publishing, code: int) -> None:
    body = {"error": {"message": "There have been too many calls to this Page account", "code": code}}
    page.sim.fault("facebook", "publish", "status", status=400, body=body)
    with pytest.raises(RateLimited) as raised:
        await page.publish(page.context("busy page"))
    assert raised.value.retry_after_s is None and "too many calls" in raised.value.message


@pytest.mark.parametrize(("kind", "status"), [("server_error", 500), ("unavailable", 503)])
async def test_meta_outages_are_retryable_and_certain(page: Publishing, kind: str, status: int) -> None:
    page.sim.fault("facebook", "publish", kind)
    with pytest.raises(TransientError) as raised:
        await page.publish(page.context("hello"))
    assert not isinstance(raised.value, OutcomeUnknown) and raised.value.code == "platform_unavailable"
    assert "An unexpected error has occurred" in raised.value.message and page.posts() == []


async def test_a_transient_graph_error_in_a_400_is_retryable(page: Publishing) -> None:
    body = {"error": {"message": "Please retry your request later.", "code": 2, "is_transient": True}}
    page.sim.fault("facebook", "publish", "status", status=400, body=body)
    with pytest.raises(TransientError):
        await page.publish(page.context("hello"))


@pytest.mark.parametrize("status", [502, 504])
async def test_a_gateway_giving_up_leaves_the_outcome_unknown(page: Publishing, status: int) -> None:
    page.sim.fault(
        "facebook", "publish", "status", status=status, body={"error": {"message": "Bad Gateway", "code": 1}}
    )
    with pytest.raises(OutcomeUnknown):
        await page.publish(page.context("hello"))


async def test_a_timeout_is_unknown_and_an_unreachable_graph_is_not(page: Publishing) -> None:
    page.sim.fault("facebook", "publish", "timeout", hang_s=5)
    with pytest.raises(OutcomeUnknown):
        await page.publish(page.context("slow"), page.adapter_with(timeout_s=0.3))
    with pytest.raises(TransientError) as raised:
        await page.publish(page.context("hello"), page.adapter_with(base_url_override="http://127.0.0.1:9"))
    assert not isinstance(raised.value, OutcomeUnknown)


async def test_a_dead_page_token_is_token_rejected(page: Publishing) -> None:
    page.sim.fault("facebook", "publish", "expired_token")
    with pytest.raises(TokenRejected) as raised:
        await page.publish(page.context("hello"))
    assert raised.value.message == "Error validating access token: Session has expired." and not raised.value.retryable
    page.sim.revoke_grants("facebook", page.user["id"])
    with pytest.raises(TokenRejected):
        await page.publish(page.context("hello"))
    assert page.posts() == []


async def test_repeating_the_last_post_is_a_duplicate(page: Publishing) -> None:
    await page.publish(page.context("Same words"))
    with pytest.raises(ContentRejected) as raised:
        await page.publish(page.context("Same words"))
    assert raised.value.code == "duplicate" and raised.value.message == "(#506) Duplicate status message"
    await page.publish(page.context("Other words"))
    await page.publish(page.context("Same words"))  # no longer the last post
    assert [p["text"] for p in page.posts()] == ["Same words", "Other words", "Same words"]


async def test_content_meta_refuses_fails_with_its_own_words(page: Publishing) -> None:
    blocked = {"error": {"message": "(#368) The action attempted has been deemed abusive", "code": 368}}
    page.sim.fault("facebook", "publish", "status", status=400, body=blocked)
    with pytest.raises(ContentRejected) as raised:
        await page.publish(page.context("buy now!!!"))
    assert (raised.value.code, raised.value.message) == ("content_rejected", blocked["error"]["message"])
    with pytest.raises(ContentRejected) as too_long:
        await page.publish(page.context("x" * 63_207))
    assert too_long.value.message.startswith("(#100)") and page.posts() == []


async def test_commenting_on_a_post_that_is_gone_is_permanent(page: Publishing) -> None:
    ctx = page.context("root", "comment")
    gone = PublishedContainer(f"{page.account.network_unique_id}_1000000000000001")
    with pytest.raises(ContentRejected) as raised:
        await page.adapter.publish_container(ctx, ctx.containers[1], 1, gone)
    assert raised.value.code == "reply_target_missing" and "does not exist" in raised.value.message


async def test_a_grant_without_the_page_permissions_is_missing_permission(flow: Flow) -> None:
    posts_only = await connect_for_publishing(
        flow, "facebook", scopes=("pages_show_list", "pages_read_engagement", "pages_manage_posts")
    )
    ctx = posts_only.context("a post", "a comment")
    [root] = await posts_only.publish(posts_only.context("a post"))
    with pytest.raises(PlatformError) as raised:
        await posts_only.adapter.publish_container(ctx, ctx.containers[1], 1, root)
    assert raised.value.code == "missing_permission" and not raised.value.retryable
    read_only = await connect_for_publishing(flow, "facebook", scopes=("pages_show_list", "pages_read_engagement"))
    with pytest.raises(PlatformError) as again:
        await read_only.publish(read_only.context("a post"))
    assert again.value.code == "missing_permission" and "pages_manage_posts" in again.value.message


async def test_facebook_comments_go_one_reply_deep(page: Publishing) -> None:
    """Why the rules stop at three containers: a fourth would not reply to the third."""
    ctx = page.context("post", "comment", "reply", "reply to the reply")
    done: list[PublishedContainer] = []
    for index, container in enumerate(ctx.containers):
        done.append(await page.adapter.publish_container(ctx, container, index, done[-1] if done else None))
    _, comment, reply, deeper = page.posts()
    assert reply["reply_to"] == comment["id"] and deeper["reply_to"] == comment["id"] != reply["id"]


# -- no duplicates ----------------------------------------------------------------------------


async def test_accepted_then_timed_out_is_unknown_then_found_and_adopted(page: Publishing) -> None:
    ctx = page.context("did it go out?", "and this comment?", "and the reply?")
    impatient = page.adapter_with(timeout_s=0.3)
    done: list[PublishedContainer] = []
    for index, container in enumerate(ctx.containers):
        parent = done[-1] if done else None
        page.sim.fault("facebook", "publish", "accept_then_timeout", hang_s=5)
        with pytest.raises(OutcomeUnknown):
            await impatient.publish_container(ctx, container, index, parent)
        made = page.made(index + 1)[index]  # Facebook made it, the answer never came
        found = await page.adapter.find_published(ctx, container, index, parent)
        assert found is not None and found.platform_post_id == made["id"]
        assert found.url == made["response"]["permalink_url"]
        done.append(found)
    assert len(page.posts()) == 3
    assert [r["endpoint"] for r in _requests(page, "") if r["endpoint"].startswith("read_")] == [
        "read_feed",
        "read_comments",
        "read_comments",
    ]


async def test_find_published_wants_the_same_text_the_same_parent_and_a_recent_post(page: Publishing) -> None:
    ctx = page.context("root", "same words")
    [root] = await page.publish(page.context("root"))
    await page.publish(page.context("same words"))  # a post of its own, not a comment on `root`
    assert await page.adapter.find_published(ctx, ctx.containers[1], 1, root) is None
    assert await page.adapter.find_published(ctx, Container(content="other words"), 0, None) is None
    found = await page.adapter.find_published(ctx, Container(content="  same\nwords "), 0, None)
    assert found is not None and found.platform_post_id == page.posts()[1]["id"]
    # The simulator's clock may run ahead (other tests move it): a day after the post, by its own time.
    made_at = datetime.fromisoformat(page.posts()[1]["response"]["created_time"])
    tomorrow = replace(ctx, sent_at=made_at + timedelta(days=1))
    assert await page.adapter.find_published(tomorrow, ctx.containers[1], 0, None) is None


async def test_find_published_ignores_what_others_said(flow: Flow, page: Publishing) -> None:
    """A visitor's comment with the same words is not the Page's."""
    ctx = page.context("root", "Thanks!")
    [root] = await page.publish(page.context("root"))
    other = await connect_for_publishing(flow, "facebook")
    visitor = other.context("root", "Thanks!")
    await other.adapter.publish_container(visitor, visitor.containers[1], 1, root)
    assert await page.adapter.find_published(ctx, ctx.containers[1], 1, root) is None


async def test_graph_answers_for_the_wrong_version_are_refused(page: Publishing) -> None:
    resp = await page.http.post(
        f"{page.sim.base_url}/facebook/latest/{page.account.network_unique_id}/feed",
        data={"message": "x"},
        headers={"Authorization": f"Bearer {page.account.access_token}"},
    )
    assert resp.status_code == 400 and resp.json()["error"]["code"] == 2500 and page.posts() == []
