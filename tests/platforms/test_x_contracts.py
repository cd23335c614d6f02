"""X publishing against its OpenAPI description (`../shared/platform-contracts/x/openapi.json`, API
2.167): what the adapter sends is a valid create-post request on a documented path with documented
query parameters, and what the simulated X answers is a valid CreatePostsResponse,
GetUsersPostsResponse or Problem. Also the simulated listing itself: pages, bounds, exclusions and
the older field names."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema
import pytest

from tests.support.media_files import mp4, png

from .conftest import Flow
from .contracts import ROOT, load, openapi_errors
from .publishing import Publishing, connect_for_publishing

pytestmark = pytest.mark.skipif(not ROOT.is_dir(), reason=f"platform contracts not found at {ROOT}")
SPEC = "x/openapi.json"


@pytest.fixture
async def x(flow: Flow) -> Publishing:
    return await connect_for_publishing(flow, "x")


async def _list(x: Publishing, user_id: str | None = None, **params: str) -> httpx.Response:
    return await x.http.get(
        f"{x.sim.base_url}/x/2/users/{user_id or x.user['id']}/tweets",
        params=params,
        headers={"Authorization": f"Bearer {x.account.access_token}"},
    )


def _parameter(path: str, name: str) -> dict[str, Any]:
    spec = load(SPEC)
    for param in spec["paths"][path]["get"]["parameters"]:
        if "$ref" in param:
            param = spec["components"]["parameters"][param["$ref"].rsplit("/", 1)[1]]
        if param["name"] == name:
            return dict(param)
    raise AssertionError(f"{name} is not a parameter of GET {path}")


def test_the_paths_and_parameters_the_adapter_uses_are_documented() -> None:
    paths = load(SPEC)["paths"]
    assert "post" in paths["/2/tweets"] and "get" in paths["/2/users/{id}/tweets"]
    assert "tweet.write" in paths["/2/tweets"]["post"]["security"][0]["OAuth2UserToken"]
    fields = _parameter("/2/users/{id}/tweets", "post.fields")["schema"]["items"]["enum"]
    assert {"created_at", "conversation_id"} <= set(fields)
    assert _parameter("/2/users/{id}/tweets", "max_results")["schema"]["maximum"] == 100
    assert "retweets" in _parameter("/2/users/{id}/tweets", "exclude")["schema"]["items"]["enum"]
    assert _parameter("/2/users/{id}/tweets", "start_time")["schema"]["format"] == "date-time"
    # what comes back as `referenced_posts`: the 2.167 spec names the field so on a Post
    assert "referenced_posts" in load(SPEC)["components"]["schemas"]["Post"]["properties"]


async def test_requests_and_answers(x: Publishing) -> None:
    [quoted] = await x.publish(x.context("quoted"))
    config = {"reply_settings": "following", "paid_partnership": True, "quote_tweet_id": quoted.platform_post_id}
    await x.publish(x.context("a post https://example.com #tag", "a reply", config=config))
    for post in x.posts():
        assert openapi_errors(SPEC, "CreatePostsRequest", post["request"]) == []
        assert openapi_errors(SPEC, "Post", post["response"]) == []
    made = await x.http.post(
        f"{x.sim.base_url}/x/2/tweets",
        json={"text": "straight"},
        headers={"Authorization": f"Bearer {x.account.access_token}"},
    )
    assert made.status_code == 201 and openapi_errors(SPEC, "CreatePostsResponse", made.json()) == []
    assert set(made.json()["data"]) == {"id", "text", "edit_history_post_ids"}
    looked = x.sim.requests("x", "user_tweets")
    listed = await _list(
        x,
        max_results="100",
        exclude="retweets",
        expansions="referenced_posts,author_id,in_reply_to_user_id",
        **{"post.fields": "created_at,conversation_id,reply_settings"},
    )
    assert listed.status_code == 200 and openapi_errors(SPEC, "GetUsersPostsResponse", listed.json()) == []
    assert [p["id"] for p in listed.json()["data"]] == [p["id"] for p in reversed(x.posts())]  # newest first
    reply, post = listed.json()["data"][1:3]
    assert reply["referenced_posts"] == [{"type": "replied_to", "id": post["id"]}]
    assert post["referenced_posts"] == [{"type": "quoted", "id": quoted.platform_post_id}]
    includes = listed.json()["includes"]
    assert {p["id"] for p in includes["posts"]} == {post["id"], quoted.platform_post_id}
    assert includes["users"] == [{"id": x.user["id"], "name": x.user["display_name"], "username": x.user["username"]}]
    assert len(x.sim.requests("x", "user_tweets")) == len(looked) + 1
    # the check bites
    assert openapi_errors(SPEC, "CreatePostsRequest", {"text": "x", "reply_settings": "everyone"}) != []
    assert openapi_errors(SPEC, "CreatePostsRequest", {"text": "x", "visibility": "public"}) != []
    assert openapi_errors(SPEC, "CreatePostsResponse", {"data": {"id": 5, "text": "x"}}) != []


async def test_what_find_published_asks_for_is_documented(x: Publishing) -> None:
    ctx = x.context("find me")
    await x.publish(ctx)
    assert await x.adapter.find_published(ctx, ctx.containers[0], 0, None) is not None
    asked = x.sim.requests("x", "user_tweets")[-1]["query"]
    assert {"post.fields", "expansions", "max_results", "exclude"} <= set(asked)
    for name, value in asked.items():
        schema = _parameter("/2/users/{id}/tweets", name)["schema"]
        if schema.get("type") == "array":
            assert set(value.split(",")) <= set(schema["items"]["enum"]), name
    # 2.167 names the reference an expansion only: as a post field X refuses it
    refused = await _list(x, **{"post.fields": "created_at,referenced_posts"})
    assert refused.status_code == 400 and refused.json()["errors"][0]["parameters"] == {
        "post.fields": ["referenced_posts"]
    }


async def test_refusals_are_x_problems(x: Publishing) -> None:
    url = f"{x.sim.base_url}/x/2/tweets"
    auth = {"Authorization": f"Bearer {x.account.access_token}"}
    await x.publish(x.context("once"))
    answers = [
        await x.http.post(url, json={"text": "x", "visibility": "public"}, headers=auth),
        await x.http.post(url, json={"text": "x", "reply_settings": "everyone"}, headers=auth),
        await x.http.post(url, json={"text": " "}, headers=auth),
        await x.http.post(url, json={"text": "x", "quote_tweet_id": "1"}, headers=auth),
        await _list(x, max_results="500"),
        await _list(x, **{"post.fields": "created_at,favourites"}),
    ]
    assert [a.status_code for a in answers] == [400] * 6
    for answer in answers:
        assert openapi_errors(SPEC, "InvalidRequestProblem", answer.json()) == [], answer.json()
        assert answer.json()["errors"][0]["message"]
    forbidden = [
        await x.http.post(url, json={"text": "once"}, headers=auth),
        await x.http.post(url, json={"text": "x" * 281}, headers=auth),
        await x.http.post(url, json={"text": "x", "reply": {"in_reply_to_tweet_id": "1"}}, headers=auth),
    ]
    assert [(a.status_code, a.json()["title"], a.json()["type"]) for a in forbidden] == [
        (403, "Forbidden", "about:blank")
    ] * 3
    unauthorized = await x.http.post(url, json={"text": "who"})
    assert unauthorized.status_code == 401 and unauthorized.json()["title"] == "Unauthorized"
    assert [p["text"] for p in x.posts()] == ["once"]


async def test_an_unknown_user_is_a_200_with_a_not_found_problem(x: Publishing) -> None:
    answer = await _list(x, "9999")
    assert answer.status_code == 200 and "data" not in answer.json()
    [problem] = answer.json()["errors"]
    assert openapi_errors(SPEC, "ResourceNotFoundProblem", problem) == []
    assert openapi_errors(SPEC, "GetUsersPostsResponse", answer.json()) == []


async def test_the_listing_pages_and_bounds(x: Publishing) -> None:
    published = await x.publish(x.context(*(f"part {i}" for i in range(7))))
    ids = [p.platform_post_id for p in reversed(published)]
    first = (await _list(x, max_results="5")).json()
    assert [p["id"] for p in first["data"]] == ids[:5] and set(first["data"][0]) == {
        "id",
        "text",
        "edit_history_post_ids",
    }
    assert first["meta"] == {"result_count": 5, "newest_id": ids[0], "oldest_id": ids[4], "next_token": "5"}
    second = (await _list(x, max_results="5", pagination_token="5")).json()
    assert [p["id"] for p in second["data"]] == ids[5:] and "next_token" not in second["meta"]
    assert [p["id"] for p in (await _list(x, since_id=ids[2])).json()["data"]] == ids[:2]
    assert [p["id"] for p in (await _list(x, until_id=ids[5])).json()["data"]] == ids[6:]
    assert [p["id"] for p in (await _list(x, exclude="replies")).json()["data"]] == ids[-1:]
    assert (await _list(x, start_time="2999-01-01T00:00:00Z")).json() == {"meta": {"result_count": 0}}


async def test_the_older_field_names_are_answered_in_kind(x: Publishing) -> None:
    [root, reply] = await x.publish(x.context("root", "reply"))
    fields = "created_at,conversation_id,referenced_tweets,in_reply_to_user_id"  # fields, as they were
    newest = (await _list(x, **{"tweet.fields": fields})).json()["data"][0]
    assert newest["referenced_tweets"] == [{"type": "replied_to", "id": root.platform_post_id}]
    assert newest["edit_history_tweet_ids"] == [reply.platform_post_id] and "referenced_posts" not in newest
    assert (newest["conversation_id"], newest["in_reply_to_user_id"]) == (root.platform_post_id, x.user["id"])


async def test_a_token_without_the_read_scopes_cannot_list(flow: Flow) -> None:
    x = await connect_for_publishing(flow, "x", scopes=("tweet.read", "tweet.write"))
    answer = await _list(x)
    assert answer.status_code == 403 and answer.json()["detail"] == "You are not permitted to perform this action."


def _inline_errors(path: str, method: str, part: str, data: Any) -> list[str]:
    """Where `data` breaks the schema written inline for `method path`'s request body (`part`
    "request", JSON or multipart) or its 200 answer ("200")."""
    spec = load(SPEC)
    operation = spec["paths"][path][method]
    if part == "request":
        content = operation["requestBody"]["content"]
        schema = (content.get("application/json") or content["multipart/form-data"])["schema"]
    else:
        schema = operation["responses"][part]["content"]["application/json"]["schema"]
    validator = jsonschema.Draft202012Validator({**schema, "components": spec["components"]})
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]


async def test_media_calls_and_answers(x: Publishing) -> None:
    paths = load(SPEC)["paths"]
    for path in ("/2/media/upload/initialize", "/2/media/upload/{id}/append", "/2/media/upload/{id}/finalize"):
        assert "media.write" in paths[path]["post"]["security"][0]["OAuth2UserToken"]
    assert "get" in paths["/2/media/upload"] and "post" in paths["/2/media/metadata"]
    image, video = x.media.add(png(), alt_text="alt"), x.media.add(mp4())
    await x.publish(x.context("with media", "and a video", media={0: [image], 1: [video]}))
    for post in x.posts():
        assert openapi_errors(SPEC, "CreatePostsRequest", post["request"]) == []
        assert openapi_errors(SPEC, "Post", post["response"]) == []
    mine = f"Bearer {x.account.access_token}"
    sent = [r for r in x.sim.requests("x") if r["authorization"] == mine]
    for entry in sent:
        if entry["endpoint"] == "media_initialize":
            assert _inline_errors("/2/media/upload/initialize", "post", "request", entry["json"]) == []
        if entry["endpoint"] == "media_metadata":
            assert _inline_errors("/2/media/metadata", "post", "request", entry["json"]) == []
    assert {"media_initialize", "media_append", "media_finalize", "media_metadata"} <= {e["endpoint"] for e in sent}
    auth = {"Authorization": mine}
    media_id = x.posts()[1]["request"]["media"]["media_ids"][0]
    status = await x.http.get(
        f"{x.sim.base_url}/x/2/media/upload", params={"command": "STATUS", "media_id": media_id}, headers=auth
    )
    assert status.status_code == 200 and _inline_errors("/2/media/upload", "get", "200", status.json()) == []
    assert status.json()["data"]["processing_info"]["state"] == "succeeded"
    made = await x.http.post(
        f"{x.sim.base_url}/x/2/media/upload/initialize",
        json={"media_type": "image/png", "total_bytes": 10, "media_category": "tweet_image"},
        headers=auth,
    )
    assert _inline_errors("/2/media/upload/initialize", "post", "200", made.json()) == []
    done = await x.http.post(f"{x.sim.base_url}/x/2/media/upload/{media_id}/finalize", headers=auth)
    assert _inline_errors("/2/media/upload/{id}/finalize", "post", "200", done.json()) == []
    # the checks bite
    assert _inline_errors("/2/media/upload/initialize", "post", "request", {"media_type": "image/heic"}) != []
