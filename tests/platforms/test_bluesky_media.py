"""Bluesky media against the simulated PDS: blobs through `com.atproto.repo.uploadBlob`, embedded as
the PDS answered them in `app.bsky.embed.images` (alt text, aspect ratio) or `app.bsky.embed.video`;
an image over the blob limit re-encoded and the stage saying so; a retry after a failed record
reusing the blobs; a post with media found again; faults on the upload; a video streamed to a
DPoP-bound account's PDS; and each of Bluesky's media rules refusing at create."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from typing import Any

import pytest
from PIL import Image
from structlog.testing import capture_logs

from crier.contracts.common import Container, MediaRef
from crier.platforms.atproto.oauth import Bound
from crier.platforms.base import ContentRejected, RateLimited, TransientError
from crier.platforms.bluesky import rules
from tests.support.media_files import gif, jpeg, media_ref, mp4, noisy_jpeg, png

from .bluesky_accounts import bluesky_account
from .conftest import Flow
from .publishing import Publishing, SavedStage
from .test_bluesky_oauth import _publishing as oauth_account


@pytest.fixture
async def bsky(flow: Flow) -> Publishing:
    return await bluesky_account(flow)


def _calls(acct: Publishing, endpoint: str) -> list[dict[str, Any]]:
    mine = f"Bearer {acct.account.access_token}"
    return [r for r in acct.sim.requests(acct.platform, endpoint) if r["authorization"] == mine]


def _media(acct: Publishing) -> dict[str, dict[str, Any]]:
    """The account's blobs by CID."""
    return {m["id"]: m for m in acct.sim.media(acct.platform) if m["user_id"] == acct.account_author}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_images_are_blobs_embedded_with_alt_text_and_aspect_ratio(bsky: Publishing) -> None:
    first, second = png(640, 480), jpeg(300, 600)
    refs = [bsky.media.add(first, alt_text="a red square"), bsky.media.add(second)]
    [published] = await bsky.publish(bsky.context("two pictures", media={0: refs}))
    [post] = bsky.posts()
    assert post["id"] == published.platform_post_id
    embed = post["request"]["record"]["embed"]
    blobs = _media(bsky)
    assert embed["$type"] == "app.bsky.embed.images" and len(embed["images"]) == 2
    (a, b) = embed["images"]
    assert a["alt"] == "a red square" and a["aspectRatio"] == {"width": 640, "height": 480}
    assert b["alt"] == "" and b["aspectRatio"] == {"width": 300, "height": 600}  # alt is required, even empty
    for image, data, mime in ((a, first, "image/png"), (b, second, "image/jpeg")):
        blob = blobs[image["image"]["ref"]["$link"]]
        assert blob["sha256"] == _sha(data) and blob["mime"] == mime
        assert image["image"] == {"$type": "blob", "ref": {"$link": blob["id"]}, "mimeType": mime, "size": len(data)}
    assert blobs[a["image"]["ref"]["$link"]]["alt_text"] == "a red square"
    assert len(_calls(bsky, "uploadBlob")) == 2 and bsky.stage.get(0)["reencoded"] == []


async def test_a_video_is_one_blob_in_a_video_embed_without_text(bsky: Publishing) -> None:
    data = mp4(320, 240)
    ref = bsky.media.add(data, alt_text="moving colours")
    await bsky.publish(bsky.context("", media={0: [ref]}))
    [post] = bsky.posts()
    record = post["request"]["record"]
    assert record["text"] == "" and "facets" not in record
    embed = record["embed"]
    [blob] = _media(bsky).values()
    assert blob["sha256"] == _sha(data) and blob["kind"] == "video" and blob["alt_text"] == "moving colours"
    assert embed == {
        "$type": "app.bsky.embed.video",
        "video": {"$type": "blob", "ref": {"$link": blob["id"]}, "mimeType": "video/mp4", "size": len(data)},
        "alt": "moving colours",
        "aspectRatio": {"width": 320, "height": 240},
    }


async def test_an_image_over_the_blob_limit_is_reencoded_and_recorded(bsky: Publishing) -> None:
    data = noisy_jpeg(1800, 1200)
    assert len(data) > 2_000_000
    ref = bsky.media.add(data, alt_text="noise")
    assert rules.check([Container(content="big", media=[ref])], None) == []  # re-encoded, not refused
    with capture_logs() as logs:
        [published] = await bsky.publish(bsky.context("big", media={0: [ref]}))
    # The target's record says what Crier changed to fit the platform.
    [note] = published.notes
    assert ref.id in note and "re-encoded" in note
    [post] = bsky.posts()
    [image] = post["request"]["record"]["embed"]["images"]
    blob = _media(bsky)[image["image"]["ref"]["$link"]]
    assert blob["bytes"] <= 2_000_000 and blob["mime"] == "image/jpeg" and blob["sha256"] != _sha(data)
    assert image["aspectRatio"] == {"width": 1800, "height": 1200} and image["alt"] == "noise"
    assert bsky.stage.get(0)["reencoded"] == [ref.id]
    assert [e["media_id"] for e in logs if e["event"] == "bluesky.image_reencoded"] == [ref.id]


async def test_a_record_refused_after_the_upload_reuses_the_blob(bsky: Publishing) -> None:
    ctx = bsky.context("again", media={0: [bsky.media.add(png())]})
    bsky.sim.fault("bluesky", "createRecord", "server_error")
    with pytest.raises(TransientError):
        await bsky.publish(ctx)
    await bsky.publish(ctx)
    [post] = bsky.posts()
    [blob] = _media(bsky).values()
    assert post["request"]["record"]["embed"]["images"][0]["image"]["ref"]["$link"] == blob["id"]
    assert len(_calls(bsky, "uploadBlob")) == 1


async def test_a_reply_carries_its_own_images(bsky: Publishing) -> None:
    await bsky.publish(bsky.context("post", "reply with a gif", media={1: [bsky.media.add(gif())]}))
    root, reply = bsky.posts()
    assert "embed" not in root["request"]["record"]
    [image] = reply["request"]["record"]["embed"]["images"]
    assert image["image"]["mimeType"] == "image/gif" and reply["reply_to"] == root["id"]


async def test_find_published_adopts_the_post_with_the_staged_blobs_only(bsky: Publishing) -> None:
    ref = bsky.media.add(png(), alt_text="found")
    ctx = bsky.context("lost answer", media={0: [ref]})
    [published] = await bsky.publish(ctx)
    assert await bsky.adapter.find_published(ctx, ctx.containers[0], 0, None) == published
    assert await bsky.adapter.find_published(replace(ctx, stage=SavedStage()), ctx.containers[0], 0, None) is None
    other = SavedStage()
    await other.save(0, {"blobs": {ref.id: {"$type": "blob", "ref": {"$link": "bafkother"}}}})
    assert await bsky.adapter.find_published(replace(ctx, stage=other), ctx.containers[0], 0, None) is None


async def test_a_rate_limited_upload_waits_for_the_reset(bsky: Publishing) -> None:
    bsky.sim.fault("bluesky", "uploadBlob", "rate_limit", retry_after=8)
    with pytest.raises(RateLimited) as raised:
        await bsky.publish(bsky.context("soon", media={0: [bsky.media.add(png())]}))
    assert raised.value.retry_after_s is not None and 6 <= raised.value.retry_after_s <= 8
    assert bsky.posts() == []


async def test_a_server_error_on_the_upload_is_transient(bsky: Publishing) -> None:
    bsky.sim.fault("bluesky", "uploadBlob", "unavailable")
    with pytest.raises(TransientError):
        await bsky.publish(bsky.context("later", media={0: [bsky.media.add(png())]}))
    assert bsky.posts() == [] and bsky.stage.get(0) == {}


async def test_a_blob_over_the_pds_limit_is_a_media_rejection(bsky: Publishing) -> None:
    bsky.sim.configure("bluesky", blob_limit=1000)
    with pytest.raises(ContentRejected) as refused:
        await bsky.publish(bsky.context("too big", media={0: [bsky.media.add(mp4())]}))
    assert refused.value.code == "media_rejected" and bsky.posts() == []


async def test_a_video_streams_to_a_dpop_bound_accounts_pds(flow: Flow) -> None:
    acct, tokens = await oauth_account(flow)
    data = mp4()
    # The adapter knows no nonce of this PDS yet: a video cannot be streamed twice, so it learns one
    # before the upload.
    await acct.publish(acct.context("over OAuth", media={0: [acct.media.add(data)]}))
    [post] = acct.posts()
    [blob] = [m for m in flow.sim.media("bluesky") if m["user_id"] == acct.account_author]
    assert blob["sha256"] == _sha(data)
    assert post["request"]["record"]["embed"]["video"]["ref"]["$link"] == blob["id"]
    raw = Bound.decode(tokens.access_token).token  # type: ignore[union-attr]
    uploads = [r for r in flow.sim.requests("bluesky", "uploadBlob") if r["authorization"] == f"DPoP {raw}"]
    assert len(uploads) == 1
    # the PDS's nonce was learnt first, with a call that can be made again
    [session] = [r for r in flow.sim.requests("bluesky", "getSession") if r["authorization"] == f"DPoP {raw}"][-1:]
    assert session["at"] <= uploads[0]["at"]


# -- rules ------------------------------------------------------------------------------------


def _problems(*media: MediaRef, text: str = "caption") -> list[tuple[str, str]]:
    return [(p.field, p.code) for p in rules.check([Container(content=text, media=list(media))], None)]


def _webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20)).save(out, format="WEBP")
    return out.getvalue()


def test_valid_media_passes_and_text_may_be_left_out() -> None:
    assert _problems(media_ref(png()), media_ref(jpeg()), media_ref(gif()), media_ref(_webp()), text="") == []
    assert _problems(media_ref(mp4(), alt_text="a" * 2000)) == []


@pytest.mark.parametrize(
    ("media", "problem"),
    [
        ([media_ref(png())] * 5, ("containers[0].media", "too_many_media")),
        ([media_ref(png()), media_ref(mp4())], ("containers[0].media", "media_mix_unsupported")),
        ([media_ref(mp4()), media_ref(mp4())], ("containers[0].media", "too_many_media")),
        ([media_ref(mp4(), mime="video/quicktime")], ("containers[0].media[0]", "media_format_unsupported")),
        ([media_ref(gif(), size_bytes=2_000_001)], ("containers[0].media[0]", "media_too_large")),
        ([media_ref(mp4(), size_bytes=100 * 1024 * 1024 + 1)], ("containers[0].media[0]", "media_too_large")),
        ([media_ref(mp4(), duration_s=181.0)], ("containers[0].media[0]", "media_duration")),
        ([media_ref(png(), alt_text="a" * 2001)], ("containers[0].media[0].alt_text", "alt_text_too_long")),
    ],
)
def test_each_media_rule_refuses(media: list[MediaRef], problem: tuple[str, str]) -> None:
    assert problem in _problems(*media)
