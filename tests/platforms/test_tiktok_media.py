"""TikTok's adapter against the simulated Content Posting API: the creator's options are asked for
first, a video is uploaded in TikTok's chunks and a photo post pulled from the media URLs, then the
post is followed through TikTok's processing without a second upload, and what TikTok fails is
`media_rejected`."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from crier.contracts.common import Container
from crier.platforms.base import (
    ContentRejected,
    NotSupported,
    PublishContext,
    PublishedContainer,
    RateLimited,
    StillProcessing,
    TransientError,
)
from crier.platforms.simulator.tiktok_posts import _chunk_problem
from crier.platforms.tiktok_posts import CHUNK, chunk_plan
from tests.support.media_files import jpeg, media_ref, mp4

from .conftest import Flow
from .publishing import Publishing, connect_for_publishing

MB = 1024 * 1024
PUBLIC = {"privacy_level": "PUBLIC_TO_EVERYONE"}


@cache
def clip() -> bytes:
    return mp4(640, 360, seconds=3.5)


@pytest.fixture
async def tt(flow: Flow) -> Publishing:
    return await connect_for_publishing(flow, "tiktok")


def calls(acct: Publishing, endpoint: str) -> list[dict[str, Any]]:
    """This account's calls to an endpoint of the Content Posting API (the log is the session's)."""
    mine = f"Bearer {acct.account.access_token}"
    return [r for r in acct.sim.requests("tiktok", endpoint) if r["authorization"] == mine]


def chunks_sent(acct: Publishing, publish_id: str) -> list[dict[str, Any]]:
    """The chunk PUTs of one upload (they carry no token: the upload URL names the upload)."""
    return [r for r in acct.sim.requests("tiktok", "video_upload") if r["query"].get("upload_id") == publish_id]


def videos_of(acct: Publishing) -> list[dict[str, Any]]:
    """The videos TikTok received from this account, each a completed upload."""
    return [m for m in acct.sim.media("tiktok") if m["user_id"] == acct.account_author and m["kind"] == "video"]


async def publish_through_processing(acct: Publishing, ctx: PublishContext, step_s: float = 30) -> PublishedContainer:
    """Publishes, advancing the simulator's clock past each wait TikTok asks for (at most ten)."""
    for _ in range(10):
        try:
            [done] = await acct.publish(ctx)
            return done
        except StillProcessing:
            acct.sim.advance_clock(step_s)
    raise AssertionError("still processing after ten waits")


async def test_a_video_is_uploaded_in_one_chunk_and_published(tt: Publishing) -> None:
    ref = tt.media.add(clip())
    ctx = tt.context("my clip #fun", config=PUBLIC | {"video_cover_timestamp_ms": 1000}, media={0: [ref]})
    [published] = await tt.publish(ctx)
    [post] = tt.posts()
    assert post["request"] == {
        "post_info": {
            "title": "my clip #fun",
            "privacy_level": "PUBLIC_TO_EVERYONE",
            "disable_comment": False,
            "disable_duet": False,
            "disable_stitch": False,
            "video_cover_timestamp_ms": 1000,
        },
        "source_info": {
            "source": "FILE_UPLOAD",
            "video_size": len(clip()),
            "chunk_size": len(clip()),
            "total_chunk_count": 1,
        },
    }
    assert published == PublishedContainer(
        post["id"], f"https://www.tiktok.com/@{tt.account.username}/video/{post['id']}"
    )
    [creator], [init] = calls(tt, "creator_info"), calls(tt, "video_init")
    [upload] = chunks_sent(tt, tt.stage.get(0)["publish_id"])
    assert creator["at"] <= init["at"] <= upload["at"] and upload["authorization"] is None
    [video] = [m for m in tt.sim.media("tiktok") if m["id"] in post["response"]["media_ids"]]
    assert video["sha256"] == ref.sha256 and video["kind"] == "video"


async def test_a_large_video_goes_in_tiktoks_chunks_in_order(tt: Publishing) -> None:
    # A real MP4 with trailing padding: 21 MB, so two chunks of 10 MB, the last with the rest.
    data = clip() + b"\0" * (21 * MB - len(clip()))
    ref = media_ref(data)
    tt.media._bytes[ref.id] = data  # too large to host on the simulator, and TikTok pulls no video
    await tt.publish(tt.context("big", config=PUBLIC, media={0: [ref]}))
    [init] = calls(tt, "video_init")
    assert init["json"]["source_info"] == {
        "source": "FILE_UPLOAD",
        "video_size": len(data),
        "chunk_size": CHUNK,
        "total_chunk_count": 2,
    }
    first, last = chunks_sent(tt, tt.stage.get(0)["publish_id"])
    assert first["at"] <= last["at"]
    [post] = tt.posts()
    [video] = [m for m in tt.sim.media("tiktok") if m["id"] in post["response"]["media_ids"]]
    assert video["sha256"] == ref.sha256 and video["bytes"] == len(data)


async def test_photos_are_pulled_from_the_media_urls(tt: Publishing) -> None:
    refs = [tt.media.add(jpeg(400, 300)) for _ in range(3)]
    config = {"privacy_level": "PUBLIC_TO_EVERYONE", "title": "three", "photo_cover_index": 1, "auto_add_music": True}
    [published] = await tt.publish(tt.context("a photo post", config=config, media={0: refs}))
    [post] = tt.posts()
    assert post["request"] == {
        "post_info": {
            "description": "a photo post",
            "title": "three",
            "privacy_level": "PUBLIC_TO_EVERYONE",
            "disable_comment": False,
            "auto_add_music": True,
        },
        "source_info": {
            "source": "PULL_FROM_URL",
            "photo_cover_index": 1,
            "photo_images": [tt.media.url(r) for r in refs],
        },
        "post_mode": "DIRECT_POST",
        "media_type": "PHOTO",
    }
    assert published.url == f"https://www.tiktok.com/@{tt.account.username}/photo/{post['id']}"
    by_id = {m["id"]: m for m in tt.sim.media("tiktok")}
    assert [by_id[i]["sha256"] for i in post["response"]["media_ids"]] == [r.sha256 for r in refs]


async def test_processing_is_waited_for_without_a_second_upload(tt: Publishing) -> None:
    tt.sim.configure("tiktok", processing_s=45)
    ctx = tt.context("slow", config=PUBLIC, media={0: [tt.media.add(clip())]})
    with pytest.raises(StillProcessing) as waiting:
        await tt.publish(ctx)
    assert waiting.value.retry_after_s and waiting.value.retry_after_s > 0 and tt.posts() == []
    assert await tt.adapter.find_published(ctx, ctx.containers[0], 0, None) is None  # still processing
    published = await publish_through_processing(tt, ctx)
    assert [len(calls(tt, e)) for e in ("creator_info", "video_init")] == [1, 1]
    assert len(chunks_sent(tt, tt.stage.get(0)["publish_id"])) == 1 and len(videos_of(tt)) == 1
    [post] = tt.posts()
    assert published.platform_post_id == post["id"]
    # An answer lost after that: the saved publish id finds the post.
    assert await tt.adapter.find_published(ctx, ctx.containers[0], 0, None) == published


async def test_a_post_tiktok_fails_is_media_rejected(tt: Publishing) -> None:
    tt.sim.configure("tiktok", processing_fails=True)
    with pytest.raises(ContentRejected) as failed:
        await tt.publish(tt.context("x", config=PUBLIC, media={0: [tt.media.add(clip())]}))
    assert failed.value.code == "media_rejected" and "internal" in failed.value.message


async def test_a_video_tiktoks_checks_refuse_is_media_rejected(tt: Publishing) -> None:
    short = tt.media.add(mp4(640, 360, seconds=1.0))
    with pytest.raises(ContentRejected) as failed:
        await tt.publish(tt.context("short", config=PUBLIC, media={0: [short]}))
    assert failed.value.code == "media_rejected" and "duration_check_failed" in failed.value.message


async def test_a_privacy_level_the_creator_does_not_offer_is_invalid_config(tt: Publishing) -> None:
    tt.sim.configure("tiktok", privacy_level_options=["SELF_ONLY"])
    with pytest.raises(ContentRejected) as refused:
        await tt.publish(tt.context("x", config=PUBLIC, media={0: [tt.media.add(clip())]}))
    assert refused.value.code == "invalid_config" and "SELF_ONLY" in refused.value.message
    assert calls(tt, "video_init") == []


async def test_a_video_longer_than_the_creator_may_post_is_refused(tt: Publishing) -> None:
    tt.sim.configure("tiktok", max_video_post_duration_sec=3)
    with pytest.raises(ContentRejected) as refused:
        await tt.publish(tt.context("x", config=PUBLIC, media={0: [tt.media.add(clip())]}))
    assert refused.value.code == "invalid_content" and calls(tt, "video_init") == []


async def test_what_the_creator_turned_off_stays_off(tt: Publishing) -> None:
    tt.sim.configure("tiktok", comment_disabled=True, stitch_disabled=True)
    await tt.publish(tt.context("x", config=PUBLIC, media={0: [tt.media.add(clip())]}))
    info = calls(tt, "video_init")[0]["json"]["post_info"]
    assert (info["disable_comment"], info["disable_duet"], info["disable_stitch"]) == (True, False, True)


async def test_a_private_post_has_only_its_publish_id(tt: Publishing) -> None:
    ctx = tt.context("just me", config={"privacy_level": "SELF_ONLY"}, media={0: [tt.media.add(clip())]})
    [published] = await tt.publish(ctx)
    assert published == PublishedContainer(tt.stage.get(0)["publish_id"]) and len(tt.posts()) == 1


async def test_upload_faults_are_retried_and_a_retry_uploads_anew(tt: Publishing) -> None:
    ctx = tt.context("x", config=PUBLIC, media={0: [tt.media.add(clip())]})
    tt.sim.fault("tiktok", "video_upload", "rate_limit", retry_after=9)
    with pytest.raises(RateLimited) as limited:
        await tt.publish(ctx)
    assert limited.value.retry_after_s == 9
    tt.sim.fault("tiktok", "video_init", "server_error")
    with pytest.raises(TransientError):
        await tt.publish(ctx)
    tt.sim.fault("tiktok", "video_upload", "server_error")
    with pytest.raises(TransientError):
        await tt.publish(ctx)
    assert tt.stage.get(0)["uploading"] is True  # TikTok has none of its bytes: the next try starts over
    await tt.publish(ctx)
    assert len(tt.posts()) == 1


async def test_only_one_container_and_media_required(tt: Publishing) -> None:
    with pytest.raises(ContentRejected) as text_only:
        await tt.publish(tt.context("text only", config=PUBLIC))
    assert text_only.value.code == "invalid_content"
    with pytest.raises(ContentRejected) as no_privacy:
        await tt.publish(tt.context("x", media={0: [tt.media.add(clip())]}))
    assert "privacy_level" in no_privacy.value.message
    with pytest.raises(NotSupported):
        await tt.adapter.publish_container(tt.context("a", "b"), Container(content="b"), 1, None)
    assert calls(tt, "creator_info") == []


@pytest.mark.parametrize("size", [1, 4 * MB, 5 * MB, 19 * MB, 20 * MB, 64 * MB + 3, 1024 * MB, 4096 * MB])
def test_the_chunk_plan_is_one_tiktok_takes(size: int) -> None:
    chunk, count = chunk_plan(size)
    assert _chunk_problem(size, chunk, count) is None
    assert size - chunk * (count - 1) < 2 * CHUNK or count == 1


async def test_an_upload_cut_short_starts_over_and_a_complete_one_is_never_sent_again(tt: Publishing) -> None:
    data = clip() + b"\0" * (21 * MB - len(clip()))
    ref = media_ref(data)
    tt.media._bytes[ref.id] = data  # too large to host on the simulator, and TikTok pulls no video
    ctx = tt.context("big", config=PUBLIC, media={0: [ref]})
    tt.sim.fault("tiktok", "video_upload", "server_error")
    with pytest.raises(TransientError):
        await tt.publish(ctx)
    cut_short = tt.stage.get(0)
    assert cut_short["uploading"] is True and chunks_sent(tt, cut_short["publish_id"])
    tt.sim.configure("tiktok", processing_s=45)
    with pytest.raises(StillProcessing):
        await tt.publish(ctx)  # TikTok has none of that upload's bytes: a new one, in full
    again = tt.stage.get(0)
    assert again["publish_id"] != cut_short["publish_id"] and "uploading" not in again
    assert len(chunks_sent(tt, again["publish_id"])) == 2
    # A crash after the last chunk, before the stage said so: TikTok has every byte, so no new upload.
    await tt.stage.save(0, again | {"uploading": True})
    await publish_through_processing(tt, ctx)
    assert len(calls(tt, "video_init")) == 2 and len(chunks_sent(tt, again["publish_id"])) == 2
    assert len(tt.posts()) == 1
