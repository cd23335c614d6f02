"""LinkedIn's adapter with media against the simulated Images and Videos APIs: images are initialized
for the author and PUT to their upload URL, then carried by the post with their alt text (one as
`content.media`, several as `content.multiImage`); a video is uploaded in LinkedIn's parts with
their ETags, finalized and waited for until AVAILABLE, never uploaded twice; a video LinkedIn fails
is `media_rejected`; the first comment stays text."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from crier.platforms.base import (
    ContentRejected,
    OutcomeUnknown,
    PublishContext,
    PublishedContainer,
    RateLimited,
    StillProcessing,
    TransientError,
)
from tests.support.media_files import gif, jpeg, mp4, png

from .conftest import Flow
from .publishing import Publishing, connect_for_publishing
from .test_linkedin_publishing import as_organization

MB = 1024 * 1024


@cache
def clip(size: int = 80 * 1024) -> bytes:
    """A 3.5 s MP4 padded to `size` bytes: LinkedIn wants at least 75 KB (the padding after the
    file's boxes is ignored by readers)."""
    data = mp4(320, 240, seconds=3.5)
    return data + b"\0" * max(0, size - len(data))


@pytest.fixture
async def li(flow: Flow) -> Publishing:
    return await connect_for_publishing(flow, "linkedin", pages=1)


def calls(acct: Publishing, endpoint: str) -> list[dict[str, Any]]:
    """This account's calls to an endpoint (the request log is the session's)."""
    mine = f"Bearer {acct.account.access_token}"
    return [r for r in acct.sim.requests("linkedin", endpoint) if r["authorization"] == mine]


def media_of(acct: Publishing, post: dict[str, Any]) -> list[dict[str, Any]]:
    by_id = {m["id"]: m for m in acct.sim.media("linkedin")}
    return [by_id[i] for i in post["response"]["_sim"]["media_ids"]]


async def publish_through_processing(
    acct: Publishing, ctx: PublishContext, step_s: float = 30
) -> list[PublishedContainer]:
    """Publishes, advancing the simulator's clock past each wait LinkedIn asks for (at most ten)."""
    for _ in range(10):
        try:
            return await acct.publish(ctx)
        except StillProcessing:
            acct.sim.advance_clock(step_s)
    raise AssertionError("still processing after ten waits")


async def test_an_image_is_uploaded_for_the_author_and_carried_with_its_alt_text(li: Publishing) -> None:
    ref = li.media.add(png(120, 80), alt_text="a red rectangle")
    [published] = await li.publish(li.context("Look (at this)", media={0: [ref]}))
    [post] = li.posts()
    author = f"urn:li:person:{li.user['id']}"
    [init] = calls(li, "images")
    assert init["query"] == {"action": "initializeUpload"}
    assert init["json"] == {"initializeUploadRequest": {"owner": author}}
    [image] = media_of(li, post)
    assert post["request"]["content"] == {"media": {"id": image["id"], "altText": "a red rectangle"}}
    assert post["request"]["commentary"] == "Look \\(at this\\)" and image["id"].startswith("urn:li:image:")
    assert image["sha256"] == ref.sha256 and published.platform_post_id == post["id"]
    [upload] = [r for r in li.sim.requests("linkedin", "media_upload") if r["authorization"] == init["authorization"]]
    assert upload["method"] == "PUT" and upload["path"].startswith("/linkedin/dms-uploads/")


async def test_several_images_are_a_multi_image_post(li: Publishing) -> None:
    refs = [li.media.add(jpeg(60, 40), alt_text=f"photo {i}") for i in range(3)]
    await li.publish(li.context("", media={0: refs}))
    [post] = li.posts()
    images = media_of(li, post)
    assert post["request"]["commentary"] == ""  # media alone
    assert post["request"]["content"] == {
        "multiImage": {"images": [{"id": m["id"], "altText": f"photo {i}"} for i, m in enumerate(images)]}
    }
    assert [m["sha256"] for m in images] == [r.sha256 for r in refs]


async def test_an_organization_uploads_as_itself(li: Publishing) -> None:
    org, org_id = as_organization(li)
    await org.publish(org.context("from the page", media={0: [org.media.add(gif())]}))
    [init] = calls(li, "images")
    assert init["json"]["initializeUploadRequest"]["owner"] == f"urn:li:organization:{org_id}"
    [post] = org.sim.posts("linkedin", author=org_id)
    assert post["request"]["content"]["media"]["id"].startswith("urn:li:image:")


async def test_a_video_is_uploaded_in_parts_once_and_waited_for(li: Publishing) -> None:
    li.sim.configure("linkedin", processing_s=40)
    data = clip(9 * MB)  # three parts of at most 4 MB
    ref = li.media.add(data)
    ctx = li.context("A clip", "first!", config={"video_title": "My clip"}, media={0: [ref]})
    with pytest.raises(StillProcessing) as waiting:
        await li.publish(ctx)
    assert waiting.value.retry_after_s and waiting.value.retry_after_s > 0 and li.posts() == []
    init, finalize = calls(li, "videos")
    assert (init["query"]["action"], finalize["query"]["action"]) == ("initializeUpload", "finalizeUpload")
    assert init["json"]["initializeUploadRequest"] == {
        "owner": f"urn:li:person:{li.user['id']}",
        "fileSizeBytes": len(data),
        "uploadCaptions": False,
        "uploadThumbnail": False,
    }
    post, comment = await publish_through_processing(li, ctx)
    inits = [c for c in calls(li, "videos") if c["query"]["action"] == "initializeUpload"]
    finals = [c for c in calls(li, "videos") if c["query"]["action"] == "finalizeUpload"]
    assert (
        len(inits) == 1 and len(finals) == 1 and len(finals[0]["json"]["finalizeUploadRequest"]["uploadedPartIds"]) == 3
    )
    made, reply = li.posts()
    [video] = media_of(li, made)
    assert made["request"]["content"] == {"media": {"id": video["id"], "title": "My clip"}}
    assert video["sha256"] == ref.sha256 and video["bytes"] == len(data) and video["status"] == "ready"
    assert reply["request"]["message"] == {"text": "first!"} and "content" not in reply["request"]
    assert post.platform_post_id == made["id"] and comment.platform_post_id == reply["id"]


async def test_a_video_linkedin_fails_is_media_rejected(li: Publishing) -> None:
    short = li.media.add(mp4(320, 240, seconds=1.0) + b"\0" * (80 * 1024))
    with pytest.raises(ContentRejected) as failed:
        await li.publish(li.context("too short", media={0: [short]}))
    assert failed.value.code == "media_rejected" and "3 seconds" in failed.value.message
    li.sim.configure("linkedin", processing_fails=True)
    with pytest.raises(ContentRejected) as failed:
        await li.publish(li.context("failed", media={0: [li.media.add(clip())]}))
    assert failed.value.code == "media_rejected"
    assert li.posts() == []


async def test_find_published_adopts_a_post_made_with_media(li: Publishing) -> None:
    ref = li.media.add(png())
    ctx = li.context("with a picture", media={0: [ref]})
    [published] = await li.publish(ctx)
    assert await li.adapter.find_published(ctx, ctx.containers[0], 0, None) == published
    assert len(calls(li, "images")) == 1


async def test_the_same_text_with_other_media_is_not_a_duplicate(li: Publishing) -> None:
    await li.publish(li.context("same words", media={0: [li.media.add(png())]}))
    await li.publish(li.context("same words", media={0: [li.media.add(jpeg())]}))
    assert len(li.posts()) == 2


async def test_upload_faults_are_retried_without_redoing_what_was_uploaded(li: Publishing) -> None:
    refs = [li.media.add(png()), li.media.add(jpeg())]
    ctx = li.context("two", media={0: refs})
    li.sim.fault("linkedin", "images", "rate_limit", retry_after=11)
    with pytest.raises(RateLimited) as limited:
        await li.publish(ctx)
    assert limited.value.retry_after_s == 11
    li.sim.fault("linkedin", "media_upload", "server_error")
    with pytest.raises(TransientError):
        await li.publish(ctx)
    # Both images go up, the post fails: the next delivery posts with them, uploading nothing.
    li.sim.fault("linkedin", "publish", "server_error")
    with pytest.raises(TransientError):
        await li.publish(ctx)
    assert len(li.stage.get(0)["urns"]) == 2 and li.posts() == []
    initialized = len(calls(li, "images"))
    await li.publish(ctx)
    assert len(calls(li, "images")) == initialized
    [post] = li.posts()
    assert [m["sha256"] for m in media_of(li, post)] == [r.sha256 for r in refs]


async def test_find_published_tells_media_posts_apart(li: Publishing) -> None:
    first = li.context("", media={0: [li.media.add(png())]})
    [made] = await li.publish(first)
    other = li.context("", media={0: [li.media.add(jpeg())]})
    # Never uploaded, so never posted: the same (empty) words are not enough.
    assert await li.adapter.find_published(other, other.containers[0], 0, None) is None
    assert await li.adapter.find_published(first, first.containers[0], 0, None) == made


async def test_a_media_post_whose_answer_was_lost_is_adopted(li: Publishing) -> None:
    ctx = li.context("lost answer", media={0: [li.media.add(png())]})
    li.sim.fault("linkedin", "publish", "accept_then_timeout", hang_s=2)
    with pytest.raises(OutcomeUnknown):
        await li.publish(ctx, li.adapter_with(timeout_s=0.3))
    [post] = li.made(1)
    found = await li.adapter.find_published(ctx, ctx.containers[0], 0, None)
    assert found is not None and found.platform_post_id == post["id"]
    assert len(calls(li, "images")) == 1 and len(li.posts()) == 1
