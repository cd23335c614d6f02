"""Google Business Profile publishing against Google's published LocalPost (My Business API v4):
what the adapter sends is a LocalPost, what the simulated API answers is a LocalPost, a
ListLocalPostsResponse or a google.rpc.Status error.

v4 was never listed in Google's discovery service, so `../shared/platform-contracts` has no copy of
it (its README's "localPosts gap"): the schema below is transcribed from Google's reference
(developers.google.com/my-business/reference/rest/v4/accounts.locations.localPosts), every object
closed to fields it does not declare."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from tests.support.media_files import noisy_jpeg

from .conftest import Flow
from .publishing import Publishing, connect_for_publishing


def _object(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "additionalProperties": False}


_STR, _INT = {"type": "string"}, {"type": "integer"}
_TIMESTAMP = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$"}
SCHEMAS: dict[str, Any] = {
    "LocalPost": _object(
        name={"type": "string", "pattern": r"^accounts/[^/]+/locations/[^/]+/localPosts/[^/]+$"},
        languageCode=_STR,
        summary=_STR,
        callToAction={"$ref": "#/$defs/CallToAction"},
        createTime=_TIMESTAMP,
        updateTime=_TIMESTAMP,
        event={"$ref": "#/$defs/LocalPostEvent"},
        state={"enum": ["LOCAL_POST_STATE_UNSPECIFIED", "REJECTED", "LIVE", "PROCESSING"]},
        media={"type": "array", "items": {"$ref": "#/$defs/MediaItem"}},
        searchUrl={"type": "string", "pattern": "^https://"},
        topicType={"enum": ["LOCAL_POST_TOPIC_TYPE_UNSPECIFIED", "STANDARD", "EVENT", "OFFER", "ALERT"]},
        alertType={"enum": ["ALERT_TYPE_UNSPECIFIED", "COVID_19"]},
        offer={"$ref": "#/$defs/LocalPostOffer"},
    ),
    "CallToAction": _object(
        actionType={
            "enum": ["ACTION_TYPE_UNSPECIFIED", "BOOK", "ORDER", "SHOP", "LEARN_MORE", "SIGN_UP", "GET_OFFER", "CALL"]
        },
        url=_STR,
    ),
    "LocalPostEvent": _object(title=_STR, schedule={"$ref": "#/$defs/TimeInterval"}),
    "TimeInterval": _object(
        startDate={"$ref": "#/$defs/Date"},
        startTime={"$ref": "#/$defs/TimeOfDay"},
        endDate={"$ref": "#/$defs/Date"},
        endTime={"$ref": "#/$defs/TimeOfDay"},
    ),
    "Date": _object(year=_INT, month=_INT, day=_INT),
    "TimeOfDay": _object(hours=_INT, minutes=_INT, seconds=_INT, nanos=_INT),
    "LocalPostOffer": _object(couponCode=_STR, redeemOnlineUrl=_STR, termsConditions=_STR),
    # accounts.locations.media's MediaItem; a local post's takes `sourceUrl` as its only data field.
    "MediaItem": _object(
        name=_STR,
        mediaFormat={"enum": ["MEDIA_FORMAT_UNSPECIFIED", "PHOTO", "VIDEO"]},
        locationAssociation={"type": "object"},
        googleUrl=_STR,
        thumbnailUrl=_STR,
        createTime=_TIMESTAMP,
        dimensions=_object(widthPixels=_INT, heightPixels=_INT),
        insights={"type": "object"},
        attribution={"type": "object"},
        description=_STR,
        sourceUrl=_STR,
        dataRef=_object(resourceName=_STR),
    ),
    "ListLocalPostsResponse": _object(
        localPosts={"type": "array", "items": {"$ref": "#/$defs/LocalPost"}}, nextPageToken=_STR
    ),
    # google.rpc.Status as JSON; older APIs' `errors` list may come along.
    "Error": _object(
        error={
            **_object(
                code=_INT,
                message=_STR,
                status=_STR,
                details={"type": "array", "items": {"type": "object", "required": ["@type"]}},
                errors={"type": "array"},
            ),
            "required": ["code", "message", "status"],
        }
    ),
}
# What Google fills in on every LocalPost it answers.
ANSWERED = ["name", "createTime", "updateTime", "state", "searchUrl", "topicType"]


def errors(schema: str, data: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator({"$ref": f"#/$defs/{schema}", "$defs": SCHEMAS})
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]


@pytest.fixture
async def gbp(flow: Flow) -> Publishing:
    return await connect_for_publishing(flow, "google_business")


async def test_requests_and_local_posts(gbp: Publishing) -> None:
    event = {
        "title": "Open day",
        "schedule": {"start_date": "2031-06-01", "start_time": "10:00", "end_date": "2031-06-01", "end_time": "16:00"},
    }
    configs: list[dict[str, Any]] = [
        {},
        {"language_code": "en-US", "call_to_action": {"action_type": "LEARN_MORE", "url": "https://example.com"}},
        {"call_to_action": {"action_type": "CALL"}},
        {
            "topic_type": "EVENT",
            "event": event,
            "call_to_action": {"action_type": "BOOK", "url": "https://example.com"},
        },
        {"topic_type": "OFFER", "event": event, "offer": {"coupon_code": "C", "redeem_online_url": "https://e.com"}},
        {"topic_type": "ALERT"},
    ]
    for config in configs:
        await gbp.publish(gbp.context("Something is happening", config=config))
    posts = gbp.posts()
    assert len(posts) == len(configs)
    for post in posts:
        assert errors("LocalPost", post["request"]) == []
        assert errors("LocalPost", post["response"]) == []
        assert set(ANSWERED) <= set(post["response"])
    listed = await gbp.http.get(
        f"{gbp.sim.base_url}/google_business/v4/{gbp.account.network_unique_id}/localPosts",
        params={"pageSize": "4"},
        headers={"Authorization": f"Bearer {gbp.account.access_token}"},
    )
    assert errors("ListLocalPostsResponse", listed.json()) == [] and listed.json()["nextPageToken"]
    assert [p["name"] for p in listed.json()["localPosts"]] == [p["id"] for p in reversed(posts)][:4]
    assert errors("LocalPost", {"summary": "x", "topicType": "NEWS"}) != []  # the check bites
    assert errors("LocalPost", {"summary": "x", "topic_type": "STANDARD"}) != []


async def test_refusals_are_google_errors(gbp: Publishing) -> None:
    url = f"{gbp.sim.base_url}/google_business/v4/{gbp.account.network_unique_id}/localPosts"
    auth = {"Authorization": f"Bearer {gbp.account.access_token}"}
    answers = [
        await gbp.http.post(url, json={"summary": "x", "topicType": "EVENT"}, headers=auth),
        await gbp.http.post(url, json={"summary": "x", "topicType": "STANDARD", "extra": 1}, headers=auth),
        await gbp.http.post(url, json={"summary": "x", "topicType": "STANDARD"}),
        await gbp.http.post(url.replace("/locations/", "/locations/9"), json={"summary": "x"}, headers=auth),
    ]
    assert [a.status_code for a in answers] == [400, 400, 401, 403]
    for answer in answers:
        assert errors("Error", answer.json()) == []
    gbp.sim.fault("google_business", "local_posts", "rate_limit")
    limited = await gbp.http.post(url, json={"summary": "x", "topicType": "STANDARD"}, headers=auth)
    assert limited.status_code == 429 and errors("Error", limited.json()) == []
    assert gbp.posts() == []


async def test_a_post_with_a_photo_and_what_google_answers_of_it(gbp: Publishing) -> None:
    ref = gbp.media.add(noisy_jpeg(300, 300))
    await gbp.publish(gbp.context("With a photo", media={0: [ref]}))
    [post] = gbp.posts()
    assert errors("LocalPost", post["request"]) == [] and errors("LocalPost", post["response"]) == []
    [item] = post["response"]["media"]
    assert item["mediaFormat"] == "PHOTO" and item["sourceUrl"] == gbp.media.url(ref)
    one = await gbp.http.get(
        f"{gbp.sim.base_url}/google_business/v4/{post['id']}",
        headers={"Authorization": f"Bearer {gbp.account.access_token}"},
    )
    assert one.status_code == 200 and errors("LocalPost", one.json()) == [] and one.json()["state"] == "LIVE"
    assert errors("LocalPost", {"summary": "x", "media": [{"mediaFormat": "GIF"}]}) != []  # the check bites
