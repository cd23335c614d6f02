"""A Facebook Page's photos and videos, against the simulated Graph API: photos uploaded unpublished
then gathered in one feed post by `attached_media`, a video uploaded in the ranges Facebook asks
for and posted once processed; nothing is uploaded twice across deliveries; a failed video is
`media_rejected`; a post made with media is found again."""

from __future__ import annotations

import json

import pytest

from crier.platforms.base import ContentRejected, OutcomeUnknown, RateLimited, StillProcessing, TransientError
from tests.support.media_files import gif, jpeg, mp4, png

from .conftest import Flow
from .graph_media import publish_waiting, requests_of
from .publishing import Publishing, SavedStage, connect_for_publishing


@pytest.fixture
async def page(flow: Flow) -> Publishing:
    return await connect_for_publishing(flow, "facebook")


def _media(page: Publishing) -> dict[str, dict]:
    """What this Page's Facebook received (the simulator's library is the session's)."""
    return {m["id"]: m for m in page.sim.media("facebook") if m["user_id"] == page.account_author}


def _attached(feed_request: dict) -> list[str]:
    form = feed_request["json"]
    keys = sorted(k for k in form if k.startswith("attached_media["))
    return [json.loads(form[k])["media_fbid"] for k in keys]


async def test_a_photo_is_uploaded_then_attached_to_a_feed_post(page: Publishing) -> None:
    ref = page.media.add(jpeg(800, 600), alt_text="the shop front")
    [published] = await page.publish(page.context("We are open", media={0: [ref]}))
    page_id = page.account.network_unique_id
    [upload] = requests_of(page, "photos")
    assert upload["path"] == f"/facebook/v23.0/{page_id}/photos"
    assert upload["form"] == {"published": "false", "alt_text_custom": "the shop front"}
    assert upload["files"] == {"source": ref.size_bytes}
    [feed] = requests_of(page, "publish")
    assert feed["json"]["message"] == "We are open"
    [post] = page.posts()
    assert published.platform_post_id == post["id"] and post["response"]["status_type"] == "added_photos"
    [photo_id] = _attached(feed)
    assert [m["id"] for m in post["response"]["media"]] == [photo_id]
    stored = _media(page)[photo_id]
    assert stored["sha256"] == ref.sha256 and stored["alt_text"] == "the shop front"


async def test_several_photos_make_one_post_in_order(page: Publishing) -> None:
    refs = [page.media.add(png(300, 200)), page.media.add(gif()), page.media.add(jpeg())]
    await page.publish(page.context("", media={0: refs}))
    [feed] = requests_of(page, "publish")
    assert "message" not in feed["json"]  # a post of photos alone
    [post] = page.posts()
    assert [m["sha256"] for m in post["response"]["media"]] == [r.sha256 for r in refs]
    assert [m["id"] for m in post["response"]["media"]] == _attached(feed)


async def test_a_retried_post_does_not_upload_its_photos_again(page: Publishing) -> None:
    refs = [page.media.add(jpeg()), page.media.add(png())]
    ctx = page.context("two photos", media={0: refs})
    page.sim.fault("facebook", "publish", "server_error")
    with pytest.raises(TransientError):
        await page.publish(ctx)
    assert page.posts() == [] and len(requests_of(page, "photos")) == 2
    await page.publish(ctx)
    assert len(requests_of(page, "photos")) == 2 and len(_media(page)) == 2
    assert [m["sha256"] for m in page.posts()[0]["response"]["media"]] == [r.sha256 for r in refs]


async def test_a_video_is_uploaded_in_the_ranges_facebook_asks_for(page: Publishing) -> None:
    page.sim.configure("facebook", video_chunk_bytes=8192)
    data = mp4(seconds=1.0)
    ref = page.media.add(data)
    [published] = await page.publish(page.context("A short film", media={0: [ref]}))
    calls = requests_of(page, "videos")
    assert calls[0]["path"] == f"/facebook/v23.0/{page.account.network_unique_id}/videos"
    phases = [c["form"]["upload_phase"] for c in calls]
    assert phases[0] == "start" and phases[-1] == "finish" and set(phases[1:-1]) == {"transfer"}
    assert calls[0]["form"]["file_size"] == str(len(data))
    transfers = calls[1:-1]
    assert len(transfers) == -(-len(data) // 8192)
    assert [int(c["form"]["start_offset"]) for c in transfers] == list(range(0, len(data), 8192))
    assert sum(c["files"]["video_file_chunk"] for c in transfers) == len(data)
    assert calls[-1]["form"]["description"] == "A short film"
    [post] = page.posts()
    assert published.platform_post_id == post["id"] and post["response"]["status_type"] == "added_video"
    [video] = post["response"]["media"]
    assert video["sha256"] == ref.sha256 and _media(page)[video["id"]]["kind"] == "video"


async def test_a_slow_video_is_waited_for_without_a_second_upload(page: Publishing) -> None:
    page.sim.configure("facebook", processing_s=100)
    ref = page.media.add(mp4(seconds=1.0))
    ctx = page.context("processing", media={0: [ref]})
    with pytest.raises(StillProcessing) as waiting:
        await page.publish(ctx)
    assert waiting.value.retry_after_s == 30 and page.posts() == []
    assert await page.adapter.find_published(ctx, ctx.containers[0], 0, None) is None
    [published] = await publish_waiting(page, ctx)
    starts = [c for c in requests_of(page, "videos") if c["form"]["upload_phase"] == "start"]
    assert len(starts) == 1 and published.platform_post_id == page.posts()[0]["id"]
    assert await page.adapter.find_published(ctx, ctx.containers[0], 0, None) == published


async def test_a_video_facebook_cannot_process_is_rejected(page: Publishing) -> None:
    page.sim.configure("facebook", processing_s=5, processing_fails=True)
    with pytest.raises(ContentRejected) as raised:
        await publish_waiting(page, page.context("broken", media={0: [page.media.add(mp4(seconds=1.0))]}))
    assert raised.value.code == "media_rejected" and "could not be processed" in raised.value.message
    assert page.posts() == []


async def test_facebook_refuses_what_is_not_an_image(page: Publishing) -> None:
    # Past the rules (an adapter asked directly): Facebook reads the bytes it was sent.
    ref = page.media.add(mp4(seconds=1.0), type="image", mime="image/jpeg")
    with pytest.raises(ContentRejected) as raised:
        await page.publish(page.context("not a photo", media={0: [ref]}))
    assert "#324" in raised.value.message and _media(page) == {}


async def test_a_post_made_with_photos_is_found_and_adopted(page: Publishing) -> None:
    ctx = page.context("did it go out?", media={0: [page.media.add(jpeg())]})
    page.sim.fault("facebook", "publish", "accept_then_timeout", hang_s=5)
    with pytest.raises(OutcomeUnknown):
        await page.publish(ctx, page.adapter_with(timeout_s=0.3))
    [made] = page.made(1)
    found = await page.adapter.find_published(ctx, ctx.containers[0], 0, None)
    assert found is not None and found.platform_post_id == made["id"]


async def test_faults_on_the_upload_endpoints(page: Publishing) -> None:
    page.sim.fault("facebook", "photos", "rate_limit", retry_after=13)
    with pytest.raises(RateLimited) as limited:
        await page.publish(page.context("hi", media={0: [page.media.add(jpeg())]}))
    assert limited.value.retry_after_s == 13
    page.sim.fault("facebook", "videos", "server_error")
    with pytest.raises(TransientError) as outage:
        await page.publish(page.context("hi", media={0: [page.media.add(mp4(seconds=1.0))]}))
    assert "500" in outage.value.message and page.posts() == []


async def test_a_photo_post_is_known_by_its_photos_as_well_as_its_words(page: Publishing) -> None:
    await page.publish(page.context("same words", media={0: [page.media.add(jpeg())]}))
    page.stage = SavedStage()  # another target of the same words, with other photos
    refs = [page.media.add(png()), page.media.add(gif())]
    ctx = page.context("same words", media={0: refs})
    assert await page.adapter.find_published(ctx, ctx.containers[0], 0, None) is None
    assert requests_of(page, "read_feed") == []  # no photo uploaded yet: nothing to look for
    page.sim.fault("facebook", "publish", "server_error")
    with pytest.raises(TransientError):
        await page.publish(ctx)  # both photos uploaded, the post not made
    assert await page.adapter.find_published(ctx, ctx.containers[0], 0, None) is None
    [read] = requests_of(page, "read_feed")
    assert "attachments{target,subattachments}" in read["query"]["fields"]
    [published] = await page.publish(ctx)
    assert await page.adapter.find_published(ctx, ctx.containers[0], 0, None) == published
