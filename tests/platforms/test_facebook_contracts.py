"""Facebook Page publishing against Meta's own node specs (`../shared/platform-contracts/meta-graph`):
the edges the adapter calls exist with the method it uses, every parameter it sends is one the edge
takes (with a documented value where the spec lists them), and the posts and comments the
simulated Graph API answers are PagePost and Comment nodes; photo and video uploads send only the
parameters the Page's photos and videos edges take."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.media_files import jpeg, mp4, png

from .conftest import Flow
from .contracts import ROOT, load, meta_errors
from .publishing import Publishing, SavedStage, connect_for_publishing

pytestmark = pytest.mark.skipif(not ROOT.is_dir(), reason=f"platform contracts not found at {ROOT}")
# Parameters every Graph edge takes, which the node specs do not repeat.
UNIVERSAL = {"fields", "limit", "after", "before"}


def _edge(node: str, method: str, endpoint: str) -> dict[str, Any]:
    [api] = [
        a
        for a in load(f"meta-graph/specs/{node}.json")["apis"]
        if (a["method"], a.get("endpoint")) == (method, endpoint)
    ]
    return api


def _enum(name: str) -> list[str]:
    [found] = [e["values"] for e in load("meta-graph/specs/enum_types.json") if e["name"] == name]
    return found


def _undocumented(node: str, method: str, endpoint: str, sent: dict[str, Any]) -> set[str]:
    return set(sent) - UNIVERSAL - {p["name"] for p in _edge(node, method, endpoint)["params"]}


@pytest.fixture
async def page(flow: Flow) -> Publishing:
    return await connect_for_publishing(flow, "facebook")


def _sent(page: Publishing, *endpoints: str) -> list[dict[str, Any]]:
    token = f"Bearer {page.account.access_token}"
    return [r for e in endpoints for r in page.sim.requests("facebook", e) if r["authorization"] == token]


async def test_what_the_adapter_sends_is_what_the_edges_take(page: Publishing) -> None:
    await page.publish(
        page.context("A post with a link", "Its first comment", "A reply", config={"link": "https://a.example"})
    )
    post, comment, reply = page.posts()
    assert _undocumented("Page", "POST", "feed", post["request"]) == set()
    assert _undocumented("PagePost", "POST", "comments", comment["request"]) == set()
    assert _undocumented("Comment", "POST", "comments", reply["request"]) == set()
    assert _undocumented("Page", "POST", "feed", {"message": "x", "visibility": "public"}) == {"visibility"}  # bites

    ctx = page.context("A post with a link", "Its first comment", "A reply")
    found_root = await page.adapter.find_published(ctx, ctx.containers[0], 0, None)
    found_comment = await page.adapter.find_published(ctx, ctx.containers[1], 1, found_root)
    await page.adapter.find_published(ctx, ctx.containers[2], 2, found_comment)
    feed_reads = _sent(page, "read_feed")
    comment_reads = _sent(page, "read_comments")
    assert [r["path"].rsplit("/", 1)[-1] for r in feed_reads] == ["feed"] and len(comment_reads) == 2
    assert _undocumented("Page", "GET", "feed", feed_reads[0]["query"]) == set()
    assert _undocumented("PagePost", "GET", "comments", comment_reads[0]["query"]) == set()
    assert _undocumented("Comment", "GET", "comments", comment_reads[1]["query"]) == set()
    query = comment_reads[0]["query"]
    assert query["filter"] in _enum("pagepostcomments_filter_enum_param")
    assert query["order"] in _enum("pagepostcomments_order_enum_param")
    requested = {f.strip() for f in feed_reads[0]["query"]["fields"].split(",")}
    assert requested <= {f["name"] for f in load("meta-graph/specs/PagePost.json")["fields"]}


async def test_posts_and_comments_are_pagepost_and_comment_nodes(page: Publishing) -> None:
    await page.publish(page.context("A post", "A comment", "A reply"))
    post, comment, reply = page.posts()
    assert meta_errors("PagePost", post["response"]) == []
    assert meta_errors("Comment", comment["response"]) == [] and meta_errors("Comment", reply["response"]) == []
    assert meta_errors("PagePost", {**post["response"], "is_published": "yes"}) != []  # the check bites
    assert meta_errors("Comment", {**reply["response"], "parent": {"id": comment["id"], "upvotes": 3}}) != []

    auth = {"Authorization": f"Bearer {page.account.access_token}"}
    base = f"{page.sim.base_url}/facebook/v23.0"
    fields = "id,message,created_time,updated_time,from,permalink_url,status_type,is_published,is_hidden"
    feed = await page.http.get(f"{base}/{page.account.network_unique_id}/feed", params={"fields": fields}, headers=auth)
    [listed] = feed.json()["data"]
    assert listed == post["response"] and meta_errors("PagePost", listed) == []
    comment_fields = "id,message,created_time,from,parent,can_comment,comment_count,like_count,is_hidden,permalink_url"
    replies = await page.http.get(f"{base}/{comment['id']}/comments", params={"fields": comment_fields}, headers=auth)
    [listed_reply] = replies.json()["data"]
    assert listed_reply["parent"] == {"id": comment["id"]} and meta_errors("Comment", listed_reply) == []
    assert listed_reply["id"] == reply["id"]


async def test_photo_and_video_uploads_send_what_the_edges_take(page: Publishing) -> None:
    refs = [page.media.add(jpeg(), alt_text="alt"), page.media.add(png())]
    await page.publish(page.context("photos", media={0: refs}))
    page.stage = SavedStage()  # another post, another target
    await page.publish(page.context("a video", media={0: [page.media.add(mp4(seconds=1.0))]}))
    photos = _sent(page, "photos")
    assert len(photos) == 2
    for upload in photos:
        # The file itself (`source`) is multipart, which the spec's parameter list leaves out.
        assert _undocumented("Page", "POST", "photos", upload["form"]) == set()
    [feed] = _sent(page, "publish")
    sent = {k.partition("[")[0] for k in feed["json"]}
    assert sent == {"message", "attached_media"} and _undocumented("Page", "POST", "feed", dict.fromkeys(sent)) == set()
    videos = _sent(page, "videos")
    assert {v["form"]["upload_phase"] for v in videos} == {"start", "transfer", "finish"}
    assert set(_enum("pagevideos_upload_phase_enum_param")) >= {"start", "transfer", "finish"}
    for call in videos:
        assert _undocumented("Page", "POST", "videos", {**call["form"], **call["files"]}) == set()
    [status] = [r for r in _sent(page, "node") if "status" in r["query"].get("fields", "")]
    wanted = {f.strip() for f in status["query"]["fields"].split(",")}
    assert wanted <= {f["name"] for f in load("meta-graph/specs/AdVideo.json")["fields"]}


async def test_a_post_of_photos_is_a_pagepost_node_with_its_attachments(page: Publishing) -> None:
    await page.publish(page.context("photos", media={0: [page.media.add(jpeg()), page.media.add(png())]}))
    [post] = page.posts()
    # `media` is the simulator's record of what the post carries (for tests), not a Graph field.
    node = {k: v for k, v in post["response"].items() if k != "media"}
    assert "attachments" in node and meta_errors("PagePost", node) == []
    [album] = node["attachments"]["data"]
    assert [a["target"]["id"] for a in album["subattachments"]["data"]] == [m["id"] for m in post["response"]["media"]]
