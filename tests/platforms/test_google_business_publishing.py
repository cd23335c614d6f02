"""Google Business Profile's adapter against the simulated My Business API: a container is one local
post under the account's location, its options land as Google's LocalPost fields, every failure
comes out as the error the publisher acts on (with the fields Google named), and a post whose
answer was lost is found among the location's local posts and adopted."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import msgspec
import pytest

from crier.platforms.base import (
    CLOCK_SKEW,
    ContentRejected,
    OutcomeUnknown,
    PlatformError,
    RateLimited,
    TokenRejected,
    TransientError,
)

from .conftest import Flow
from .publishing import Publishing, connect_for_publishing

GBP = "google_business"
EVENT = {"title": "Grand opening", "schedule": {"start_date": "2031-05-15", "end_date": "2031-05-16"}}


@pytest.fixture
async def gbp(flow: Flow) -> Publishing:
    return await connect_for_publishing(flow, GBP)


def _local_posts(gbp: Publishing) -> str:
    return f"{gbp.sim.base_url}/google_business/v4/{gbp.account.network_unique_id}/localPosts"


def _calls(gbp: Publishing, endpoint: str) -> list[dict[str, Any]]:
    """This location's calls to `endpoint` (the simulator serves every test of the session)."""
    path = f"/google_business/v4/{gbp.account.network_unique_id}/localPosts"
    return [r for r in gbp.sim.requests(GBP, endpoint) if r["path"] == path]


async def test_a_text_post_is_a_standard_local_post_of_the_location(gbp: Publishing) -> None:
    [published] = await gbp.publish(gbp.context("Fresh bread every morning"))
    [post] = gbp.posts()
    location = gbp.account.network_unique_id
    assert location.startswith("accounts/") and "/locations/" in location
    assert post["request"] == {"summary": "Fresh bread every morning", "topicType": "STANDARD"}
    assert post["page_id"] == location and post["id"].startswith(f"{location}/localPosts/")
    assert published.platform_post_id == post["id"] == post["response"]["name"]
    assert published.url == post["response"]["searchUrl"] and post["response"]["state"] == "LIVE"
    [call] = _calls(gbp, "local_posts")
    assert call["path"] == f"/google_business/v4/{location}/localPosts"
    assert call["authorization"] == f"Bearer {gbp.account.access_token}"


async def test_an_event_with_its_times_and_a_call_to_action(gbp: Publishing) -> None:
    config = {
        "topic_type": "EVENT",
        "language_code": "de-DE",
        "event": {
            "title": "Tag der offenen Tür",
            "schedule": {
                "start_date": "2031-10-31",
                "start_time": "09:00",
                "end_date": "2031-10-31",
                "end_time": "17:30",
            },
        },
        "call_to_action": {"action_type": "SIGN_UP", "url": "https://example.com/anmelden"},
    }
    await gbp.publish(gbp.context("Kommt vorbei!", config=config))
    [post] = gbp.posts()
    assert post["request"] == {
        "summary": "Kommt vorbei!",
        "topicType": "EVENT",
        "languageCode": "de-DE",
        "callToAction": {"actionType": "SIGN_UP", "url": "https://example.com/anmelden"},
        "event": {
            "title": "Tag der offenen Tür",
            "schedule": {
                "startDate": {"year": 2031, "month": 10, "day": 31},
                "endDate": {"year": 2031, "month": 10, "day": 31},
                "startTime": {"hours": 9, "minutes": 0},
                "endTime": {"hours": 17, "minutes": 30},
            },
        },
    }
    answer = post["response"]
    assert (answer["topicType"], answer["event"], answer["callToAction"]) == (
        "EVENT",
        post["request"]["event"],
        post["request"]["callToAction"],
    )


async def test_an_offer_is_an_event_with_its_coupon(gbp: Publishing) -> None:
    offer = {
        "coupon_code": "BOGO-JET",
        "redeem_online_url": "https://example.com/redeem",
        "terms_conditions": "One each",
    }
    await gbp.publish(
        gbp.context("Buy one, get one free", config={"topic_type": "OFFER", "event": EVENT, "offer": offer})
    )
    [post] = gbp.posts()
    assert post["request"]["offer"] == {
        "couponCode": "BOGO-JET",
        "redeemOnlineUrl": "https://example.com/redeem",
        "termsConditions": "One each",
    }
    assert post["request"]["event"] == {
        "title": "Grand opening",
        "schedule": {
            "startDate": {"year": 2031, "month": 5, "day": 15},
            "endDate": {"year": 2031, "month": 5, "day": 16},
        },
    }
    assert post["response"]["offer"] == post["request"]["offer"] and post["response"]["topicType"] == "OFFER"


async def test_a_call_button_has_no_url_and_an_alert_is_a_covid_alert(gbp: Publishing) -> None:
    await gbp.publish(gbp.context("Ring us", config={"call_to_action": {"action_type": "CALL"}}))
    await gbp.publish(gbp.context("Closed today", config={"topic_type": "ALERT"}))
    call, alert = gbp.posts()
    assert call["request"]["callToAction"] == {"actionType": "CALL"}
    assert (alert["request"]["topicType"], alert["request"]["alertType"]) == ("ALERT", "COVID_19")


async def test_config_the_rules_refuse_is_never_sent(gbp: Publishing) -> None:
    with pytest.raises(ContentRejected) as raised:
        await gbp.publish(gbp.context("hi", config={"topic_type": "NEWS"}))
    assert raised.value.code == "invalid_content"
    assert gbp.posts() == [] and _calls(gbp, "local_posts") == []


async def test_an_account_that_is_no_location_cannot_publish(gbp: Publishing) -> None:
    business = msgspec.structs.replace(gbp.account, network_unique_id="accounts/123")
    with pytest.raises(PlatformError) as raised:
        await gbp.publish(replace(gbp.context("hello"), account=business))
    assert raised.value.code == "location_required" and not raised.value.retryable
    assert _calls(gbp, "local_posts") == []


async def test_the_real_host_without_a_stand_in(gbp: Publishing) -> None:
    real = gbp.adapter_with(base_url_override="", timeout_s=0.01)
    ctx = gbp.context("hello")
    assert real._local_posts(ctx) == (  # type: ignore[attr-defined]
        f"https://mybusiness.googleapis.com/v4/{gbp.account.network_unique_id}/localPosts"
    )


# -- failures ---------------------------------------------------------------------------------


async def test_a_rate_limit_waits_for_retry_after(gbp: Publishing) -> None:
    gbp.sim.fault(GBP, "local_posts", "rate_limit", retry_after=7)
    with pytest.raises(RateLimited) as raised:
        await gbp.publish(gbp.context("too soon"))
    assert raised.value.retry_after_s == 7 and "Quota exceeded" in raised.value.message
    assert gbp.posts() == []
    await gbp.publish(gbp.context("later"))
    assert len(gbp.posts()) == 1


async def test_a_quota_reason_in_a_403_is_a_rate_limit(gbp: Publishing) -> None:
    body = {
        "error": {
            "code": 403,
            "message": "Quota exceeded for quota metric 'Write requests'",
            "status": "PERMISSION_DENIED",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED"}],
        }
    }
    gbp.sim.fault(GBP, "local_posts", "status", status=403, body=body)
    with pytest.raises(RateLimited) as raised:
        await gbp.publish(gbp.context("hello"))
    assert raised.value.retryable and "Write requests" in raised.value.message


@pytest.mark.parametrize(("kind", "status"), [("server_error", 500), ("unavailable", 503)])
async def test_server_errors_are_retryable_and_certain(gbp: Publishing, kind: str, status: int) -> None:
    gbp.sim.fault(GBP, "local_posts", kind)
    with pytest.raises(TransientError) as raised:
        await gbp.publish(gbp.context("hello"))
    assert not isinstance(raised.value, OutcomeUnknown) and str(status) in raised.value.message
    assert gbp.posts() == []


@pytest.mark.parametrize("status", [502, 504])
async def test_a_gateway_giving_up_leaves_the_outcome_unknown(gbp: Publishing, status: int) -> None:
    gbp.sim.fault(GBP, "local_posts", "status", status=status, body={"error": {"code": status, "message": "Bad"}})
    with pytest.raises(OutcomeUnknown):
        await gbp.publish(gbp.context("hello"))


async def test_a_timeout_before_google_acted_is_unknown_and_nothing_is_found(gbp: Publishing) -> None:
    gbp.sim.fault(GBP, "local_posts", "timeout", hang_s=5)
    ctx = gbp.context("slow")
    with pytest.raises(OutcomeUnknown):
        await gbp.publish(ctx, gbp.adapter_with(timeout_s=0.3))
    assert gbp.posts() == []
    assert await gbp.adapter.find_published(ctx, ctx.containers[0], 0, None) is None


async def test_an_unreachable_google_is_transient_not_unknown(gbp: Publishing) -> None:
    with pytest.raises(TransientError) as raised:
        await gbp.publish(gbp.context("hello"), gbp.adapter_with(base_url_override="http://127.0.0.1:9"))
    assert not isinstance(raised.value, OutcomeUnknown)


async def test_a_refused_or_revoked_token_is_token_rejected(gbp: Publishing) -> None:
    gbp.sim.fault(GBP, "local_posts", "expired_token")
    with pytest.raises(TokenRejected) as raised:
        await gbp.publish(gbp.context("hello"))
    assert "invalid authentication credentials" in raised.value.message
    gbp.sim.revoke_grants(GBP, gbp.user["id"])
    with pytest.raises(TokenRejected):
        await gbp.publish(gbp.context("hello"))
    assert gbp.posts() == []


async def test_what_google_refuses_fails_with_the_fields_it_named(gbp: Publishing) -> None:
    with pytest.raises(ContentRejected) as raised:
        await gbp.publish(gbp.context("x" * 1501))  # past the rules, which the publisher checks first
    assert raised.value.message == (
        "Request contains an invalid argument. (summary: The summary is longer than 1500 characters.)"
    )
    assert raised.value.code == "content_rejected" and not raised.value.retryable
    gbp.sim.fault(GBP, "local_posts", "reject")
    with pytest.raises(ContentRejected) as rejected:
        await gbp.publish(gbp.context("short"))
    assert rejected.value.message == "The request metadata is invalid."
    assert gbp.posts() == []


async def test_a_token_without_business_manage_is_missing_permission(flow: Flow) -> None:
    gbp = await connect_for_publishing(flow, GBP, scopes=("openid",))
    with pytest.raises(PlatformError) as raised:
        await gbp.publish(gbp.context("hello"))
    assert raised.value.code == "missing_permission" and "insufficient authentication scopes" in raised.value.message


async def test_a_location_the_user_does_not_manage_is_missing_permission(gbp: Publishing) -> None:
    other = await connect_for_publishing(Flow(gbp.sim, gbp.http), GBP)
    theirs = msgspec.structs.replace(gbp.account, network_unique_id=other.account.network_unique_id)
    with pytest.raises(PlatformError) as raised:
        await gbp.publish(replace(gbp.context("hello"), account=theirs))
    assert raised.value.code == "missing_permission" and raised.value.message == "The caller does not have permission"


# -- no duplicates ----------------------------------------------------------------------------


async def test_accepted_then_timed_out_is_unknown_then_found_and_adopted(gbp: Publishing) -> None:
    ctx = gbp.context("Did it go out?", config={"topic_type": "EVENT", "event": EVENT})
    gbp.sim.fault(GBP, "local_posts", "accept_then_timeout", hang_s=5)
    with pytest.raises(OutcomeUnknown):
        await gbp.adapter_with(timeout_s=0.3).publish_container(ctx, ctx.containers[0], 0, None)
    [made] = gbp.made(1)  # Google made it, the answer never came
    found = await gbp.adapter.find_published(ctx, ctx.containers[0], 0, None)
    assert found is not None and found.platform_post_id == made["id"] and found.url == made["response"]["searchUrl"]
    [look] = _calls(gbp, "local_posts_list")
    assert look["query"] == {"pageSize": "100"} and look["authorization"] == f"Bearer {gbp.account.access_token}"


async def test_find_published_wants_the_same_summary_and_topic(gbp: Publishing) -> None:
    await gbp.publish(gbp.context("Open  late\ntonight"))
    standard = gbp.context("Open late tonight")
    assert (await gbp.adapter.find_published(standard, standard.containers[0], 0, None)) is not None
    event = gbp.context("Open late tonight", config={"topic_type": "EVENT", "event": EVENT})
    other = gbp.context("Open early tomorrow")
    assert await gbp.adapter.find_published(event, event.containers[0], 0, None) is None
    assert await gbp.adapter.find_published(other, other.containers[0], 0, None) is None


async def test_find_published_ignores_a_repeat_made_before_the_first_send(gbp: Publishing) -> None:
    await gbp.publish(gbp.context("Yesterday's special"))
    # On the simulator's clock, which other tests move forward.
    made = datetime.fromisoformat(gbp.posts()[0]["response"]["createTime"])
    later, earlier = (replace(gbp.context("Yesterday's special"), sent_at=at) for at in (made + CLOCK_SKEW * 2, made))
    assert await gbp.adapter.find_published(later, later.containers[0], 0, None) is None
    found = await gbp.adapter.find_published(earlier, earlier.containers[0], 0, None)
    assert found is not None and found.platform_post_id == gbp.posts()[0]["id"]


async def test_find_published_adopts_the_newest_and_reads_further_pages(gbp: Publishing) -> None:
    ctx = gbp.context("Weekly special")
    await gbp.publish(gbp.context("Weekly special"))
    await gbp.publish(ctx)
    headers = {"Authorization": f"Bearer {gbp.account.access_token}"}
    for i in range(100):  # the two are now on the second page, newest first
        sent = await gbp.http.post(
            _local_posts(gbp), json={"summary": f"filler {i}", "topicType": "STANDARD"}, headers=headers
        )
        assert sent.status_code == 200, sent.text
    newest = gbp.posts()[1]
    found = await gbp.adapter.find_published(ctx, ctx.containers[0], 0, None)
    assert found is not None and found.platform_post_id == newest["id"]
    assert [r["query"].get("pageToken") for r in _calls(gbp, "local_posts_list")] == [None, "100"]


async def test_simulated_google_reads_json_as_google_does(gbp: Publishing) -> None:
    headers = {"Authorization": f"Bearer {gbp.account.access_token}"}

    async def send(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        resp = await gbp.http.post(_local_posts(gbp), json=body, headers=headers)
        return resp.status_code, resp.json()

    status, answer = await send(
        {"summary": "snake", "topic_type": "STANDARD", "call_to_action": {"action_type": "CALL"}}
    )
    assert status == 200 and (answer["topicType"], answer["callToAction"]) == ("STANDARD", {"actionType": "CALL"})
    status, answer = await send({"summary": "x", "topicType": "STANDARD", "title": "no such field"})
    assert status == 400 and answer["error"]["status"] == "INVALID_ARGUMENT"
    assert answer["error"]["message"].startswith('Invalid JSON payload received. Unknown name "title"')
    status, answer = await send({"summary": "x", "topicType": "NEWS"})
    assert status == 400 and "topic_type" in answer["error"]["details"][0]["fieldViolations"][0]["field"]
    status, answer = await send({"summary": "x", "topicType": "OFFER", "event": {"title": "t"}})
    assert status == 400 and answer["error"]["details"][0]["errorDetails"][0]["field"] == "event.schedule.start_date"
    status, answer = await send({"summary": "x"})
    assert status == 400 and answer["error"]["details"][0]["errorDetails"][0]["field"] == "topic_type"
    assert len(gbp.posts()) == 1
