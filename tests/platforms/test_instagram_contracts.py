"""Instagram publishing against Meta's own node specs (`../shared/platform-contracts/meta-graph`):
the IGUser and IGMedia edges the adapter calls exist with the method it uses, every parameter it
sends is one the edge takes, the fields it reads are fields of the nodes it reads them from, and
the media and comments the simulated API answers are IGMedia and IGComment nodes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tests.support.media_files import jpeg, mp4

from .conftest import Flow
from .contracts import ROOT, load, meta_errors
from .graph_media import requests_of
from .publishing import Publishing, SavedStage, connect_for_publishing

pytestmark = pytest.mark.skipif(not ROOT.is_dir(), reason=f"platform contracts not found at {ROOT}")
UNIVERSAL = {"fields", "limit", "after", "before"}


def _params(node: str, method: str, endpoint: str) -> set[str]:
    [api] = [
        a
        for a in load(f"meta-graph/specs/{node}.json")["apis"]
        if (a["method"], a.get("endpoint")) == (method, endpoint)
    ]
    return {p["name"] for p in api["params"]} | UNIVERSAL


def _fields(node: str) -> set[str]:
    return {f["name"] for f in load(f"meta-graph/specs/{node}.json")["fields"]}


def _requested(request: dict[str, Any]) -> set[str]:
    return {f.strip() for f in request["query"]["fields"].split(",")}


@pytest.fixture
async def acct(flow: Flow) -> Publishing:
    return await connect_for_publishing(flow, "instagram")


async def test_what_the_adapter_sends_is_what_the_edges_take(acct: Publishing) -> None:
    refs = [acct.media.add(jpeg(1080, 1080), alt_text="alt"), acct.media.add(mp4(seconds=3.5))]
    config = {"collaborators": ["a.friend"], "location_id": "110843418940484"}
    ctx = acct.context("caption", "a comment", media={0: refs}, config=config)
    root, _ = await acct.publish(ctx)
    acct.stage = SavedStage()  # another post, another target
    await acct.publish(acct.context("a reel", media={0: [refs[1]]}, config={"kind": "reel", "share_to_feed": True}))
    creates = requests_of(acct, "media")
    assert len(creates) == 4
    for create in creates:
        assert set(create["json"]) - _params("IGUser", "POST", "media") == set()
    assert {"is_carousel_item", "children", "collaborators", "location_id", "share_to_feed", "alt_text"} <= {
        k for c in creates for k in c["json"]
    }
    assert "upvotes" not in _params("IGUser", "POST", "media")  # the check bites
    for publish in requests_of(acct, "media_publish"):
        assert set(publish["json"]) <= _params("IGUser", "POST", "media_publish")
    [sent_comment] = requests_of(acct, "comment")
    assert set(sent_comment["json"]) <= _params("IGMedia", "POST", "comments")
    for status in requests_of(acct, "node"):
        assert _requested(status) <= _fields("ShadowIGMediaBuilder") | _fields("IGMedia")

    # Nothing staged (the answer was lost before anything was saved): the account's media is searched.
    await acct.adapter.find_published(replace(ctx, stage=SavedStage()), ctx.containers[0], 0, None)
    await acct.adapter.find_published(ctx, ctx.containers[1], 1, root)
    [listing] = requests_of(acct, "user_media")
    assert _requested(listing) <= _fields("IGMedia")
    [comments] = requests_of(acct, "read_comments")
    assert _requested(comments) <= _fields("IGComment")


async def test_media_and_comments_are_igmedia_and_igcomment_nodes(acct: Publishing) -> None:
    ref = acct.media.add(jpeg(1080, 1080))
    await acct.publish(acct.context("caption", "a comment", media={0: [ref]}))
    post, comment = acct.posts()
    # `media` is the simulator's record of what the post carries (for tests), not a Graph field.
    node = {k: v for k, v in post["response"].items() if k != "media"}
    assert meta_errors("IGMedia", node) == []
    assert meta_errors("IGMedia", {**node, "upvotes": 3}) != []  # the check bites
    assert meta_errors("IGComment", comment["response"]) == []
