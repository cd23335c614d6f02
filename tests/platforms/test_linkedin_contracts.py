"""LinkedIn publishing against the Posts and Comments APIs as LinkedIn's reference pages describe
them (no machine-readable contract exists; see ../shared/platform-contracts/README.md): the
schemas below are transcribed from the "Posts API" and "Comments API" pages of the versioned
Community Management docs. What the adapter sends carries only documented fields, and what the
simulated LinkedIn answers (posts, comments, listings, errors) has the documented shape."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from .conftest import Flow
from .publishing import Publishing, connect_for_publishing

URN = {"type": "string", "pattern": r"^urn:li:[A-Za-z]+:"}
AUDIT_STAMP = {
    "type": "object",
    "required": ["actor", "time"],
    "properties": {"actor": URN, "impersonator": URN, "time": {"type": "integer"}},
}
DISTRIBUTION = {
    "type": "object",
    "required": ["feedDistribution"],
    "additionalProperties": False,
    "properties": {
        "feedDistribution": {"enum": ["MAIN_FEED", "NONE"]},
        "targetEntities": {"type": "array"},
        "thirdPartyDistributionChannels": {"type": "array"},
    },
}
# Posts API, "Post Schema" (the fields a text post may carry; media fields left out).
CREATE_POST: dict[str, Any] = {
    "type": "object",
    "required": ["author", "commentary", "visibility", "distribution", "lifecycleState"],
    "additionalProperties": False,
    "properties": {
        "author": {"type": "string", "pattern": r"^urn:li:(person|organization):[^:]+$"},
        "commentary": {"type": "string"},
        "visibility": {"enum": ["CONNECTIONS", "PUBLIC", "LOGGED_IN", "CONTAINER"]},
        "distribution": DISTRIBUTION,
        "lifecycleState": {"enum": ["DRAFT", "PUBLISHED", "PUBLISH_REQUESTED", "PUBLISH_FAILED"]},
        "isReshareDisabledByAuthor": {"type": "boolean"},
    },
}
POST: dict[str, Any] = {
    "type": "object",
    "required": ["id", "author", "commentary", "visibility", "distribution", "lifecycleState", "createdAt"],
    "properties": {
        **CREATE_POST["properties"],
        "id": {"type": "string", "pattern": r"^urn:li:(share|ugcPost):\d+$"},
        "createdAt": {"type": "integer"},
        "publishedAt": {"type": "integer"},
        "lastModifiedAt": {"type": "integer"},
        "isEditedByAuthor": {"type": "boolean"},
        "lifecycleStateInfo": {"type": "object"},
    },
}
# Comments API, "Create a Comment" and the Comment schema.
CREATE_COMMENT: dict[str, Any] = {
    "type": "object",
    "required": ["actor", "message"],
    "additionalProperties": False,
    "properties": {
        "actor": {"type": "string", "pattern": r"^urn:li:(person|organization):[^:]+$"},
        "object": URN,
        "message": {
            "type": "object",
            "required": ["text"],
            "properties": {"text": {"type": "string"}, "attributes": {"type": "array"}},
        },
        "parentComment": URN,
    },
}
COMMENT: dict[str, Any] = {
    "type": "object",
    "required": ["id", "actor", "object", "message", "created"],
    "properties": {
        **CREATE_COMMENT["properties"],
        "id": {"type": "string"},
        "commentUrn": {"type": "string", "pattern": r"^urn:li:comment:\(urn:li:[A-Za-z]+:\d+,\d+\)$"},
        "$URN": {"type": "string"},
        "agent": URN,
        "created": AUDIT_STAMP,
        "lastModified": AUDIT_STAMP,
    },
}
COLLECTION: dict[str, Any] = {
    "type": "object",
    "required": ["elements", "paging"],
    "properties": {
        "elements": {"type": "array"},
        "paging": {"type": "object", "required": ["start", "count"]},
    },
}
ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["status", "message"],
    "properties": {
        "status": {"type": "integer"},
        "serviceErrorCode": {"type": "integer"},
        "code": {"type": "string"},
        "message": {"type": "string"},
    },
}


def errors(schema: dict[str, Any], value: Any) -> list[str]:
    return [e.message for e in Draft202012Validator(schema).iter_errors(value)]


@pytest.fixture
async def li(flow: Flow) -> Publishing:
    return await connect_for_publishing(flow, "linkedin")


def _rest(li: Publishing) -> dict[str, str]:
    return {"Authorization": f"Bearer {li.account.access_token}", "LinkedIn-Version": li.settings.linkedin_version}


async def test_requests_and_answers(li: Publishing) -> None:
    config = {"visibility": "CONNECTIONS", "disable_reshare": True}
    await li.publish(li.context("a post (with markup) #tag @someone", "a comment", config=config))
    post, comment = li.posts()
    assert errors(CREATE_POST, post["request"]) == [] and errors(POST, post["response"]) == []
    assert errors(CREATE_COMMENT, comment["request"]) == [] and errors(COMMENT, comment["response"]) == []
    base = f"{li.sim.base_url}/linkedin/rest"
    listed = await li.http.get(
        f"{base}/posts", params={"q": "author", "author": li.account.network_unique_id}, headers=_rest(li)
    )
    assert listed.status_code == 200 and errors(COLLECTION, listed.json()) == []
    assert [errors(POST, p) for p in listed.json()["elements"]] == [[]]
    comments = await li.http.get(f"{base}/socialActions/{post['id']}/comments", headers=_rest(li))
    assert comments.status_code == 200 and errors(COLLECTION, comments.json()) == []
    assert [errors(COMMENT, c) for c in comments.json()["elements"]] == [[]]


async def test_refusals_have_linkedins_error_shape(li: Publishing) -> None:
    base = f"{li.sim.base_url}/linkedin/rest"
    body = {
        "author": li.account.network_unique_id,
        "commentary": "twice",
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED",
    }
    first = await li.http.post(f"{base}/posts", json=body, headers=_rest(li))
    assert (
        first.status_code == 201 and first.content == b"" and first.headers["x-restli-id"].startswith("urn:li:share:")
    )
    answers = [
        await li.http.post(f"{base}/posts", json=body, headers=_rest(li)),  # 422 duplicate
        await li.http.post(f"{base}/posts", json={**body, "commentary": "x" * 3001}, headers=_rest(li)),  # 400
        await li.http.post(f"{base}/posts", json=body, headers={"Authorization": _rest(li)["Authorization"]}),  # 426
        await li.http.post(f"{base}/posts", json=body, headers={**_rest(li), "Authorization": "Bearer nope"}),  # 401
    ]
    assert [a.status_code for a in answers] == [422, 400, 426, 401]
    for answer in answers:
        assert errors(ERROR, answer.json()) == [], answer.text
    assert answers[0].json()["code"] == "DUPLICATE_POST"
    assert answers[2].json()["code"] == "VERSION_MISSING"
