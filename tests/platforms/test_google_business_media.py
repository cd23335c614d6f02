"""Google Business Profile local posts with a photo or a video: Google's media limits at create,
the LocalPost's `media` with a signed URL Google fetches (the simulator really fetches and inspects
it), a post that is PROCESSING until its media is, followed from the stage without a second post,
REJECTED as `media_rejected`, and a post whose answer was lost found and adopted."""

from __future__ import annotations

from typing import Any

import pytest

from crier.contracts.common import Container, MediaRef
from crier.platforms.base import ContentRejected, OutcomeUnknown, RateLimited, StillProcessing, TransientError
from crier.platforms.google_business import rules
from tests.support.media_files import gif, jpeg, media_ref, mp4, noisy_jpeg, png

from .conftest import Flow
from .publishing import Publishing, connect_for_publishing

GBP = "google_business"
MB = 1024 * 1024


@pytest.fixture
async def gbp(flow: Flow) -> Publishing:
    return await connect_for_publishing(flow, GBP)


@pytest.fixture(scope="module")
def photo() -> bytes:
    """A JPEG Google takes: over 10 KB, at least 250 x 250."""
    return noisy_jpeg(320, 260)


@pytest.fixture(scope="module")
def video() -> bytes:
    return mp4(1280, 720, seconds=1, fps=10)


def _problems(*media: MediaRef) -> list[tuple[str, str]]:
    return [(p.field, p.code) for p in rules.check([Container(content="Our new shop", media=list(media))], {})]


def _calls(gbp: Publishing, endpoint: str) -> list[dict[str, Any]]:
    prefix = f"/google_business/v4/{gbp.account.network_unique_id}/localPosts"
    return [r for r in gbp.sim.requests(GBP, endpoint) if r["path"].startswith(prefix)]


def _sim_media(gbp: Publishing, post: dict[str, Any]) -> dict[str, Any]:
    [item] = post["response"]["media"]
    media_id = item["name"].rsplit("/", 1)[-1]
    [found] = [m for m in gbp.sim.media(GBP) if m["id"] == media_id]
    return found


# -- rules ------------------------------------------------------------------------------------


def test_a_photo_or_a_video_google_takes_passes(photo: bytes, video: bytes) -> None:
    assert _problems(media_ref(photo)) == []
    assert _problems(media_ref(png(300, 300), size_bytes=20_000)) == []
    assert _problems(media_ref(video)) == []


def test_one_item_a_post(photo: bytes) -> None:
    assert _problems(media_ref(photo), media_ref(photo)) == [("containers[0].media", "too_many_media")]


def test_no_gif_and_no_webp(photo: bytes) -> None:
    assert _problems(media_ref(gif(300, 300))) == [("containers[0].media[0]", "media_type_unsupported")]
    webp = media_ref(photo, mime="image/webp")
    assert _problems(webp) == [("containers[0].media[0]", "media_format_unsupported")]


def test_a_photo_of_10_kb_to_5_mb(photo: bytes) -> None:
    assert _problems(media_ref(photo, size_bytes=5 * MB + 1)) == [("containers[0].media[0]", "media_too_large")]
    assert _problems(media_ref(photo, size_bytes=10 * 1024 - 1)) == [("containers[0].media[0]", "media_too_small")]


def test_a_photo_of_at_least_250_pixels_a_side() -> None:
    small = media_ref(noisy_jpeg(400, 249))
    assert _problems(small) == [("containers[0].media[0]", "media_dimensions")]


def test_a_video_of_at_most_30_seconds_and_75_mb_at_720p(video: bytes) -> None:
    assert _problems(media_ref(video, duration_s=30.5)) == [("containers[0].media[0]", "media_duration")]
    assert _problems(media_ref(video, size_bytes=75 * MB + 1)) == [("containers[0].media[0]", "media_too_large")]
    assert _problems(media_ref(video, width=1280, height=719)) == [("containers[0].media[0]", "media_dimensions")]


def test_every_media_problem_at_once(video: bytes) -> None:
    assert _problems(media_ref(video, duration_s=31.0, width=640, height=360, size_bytes=80 * MB)) == [
        ("containers[0].media[0]", "media_too_large"),
        ("containers[0].media[0]", "media_duration"),
        ("containers[0].media[0]", "media_dimensions"),
    ]


# -- publishing -------------------------------------------------------------------------------


async def test_a_photo_post_hands_google_a_url_it_fetches(gbp: Publishing, photo: bytes) -> None:
    ref = gbp.media.add(photo)
    [published] = await gbp.publish(gbp.context("Our new shop", media={0: [ref]}))
    [post] = gbp.posts()
    assert post["request"]["media"] == [{"mediaFormat": "PHOTO", "sourceUrl": gbp.media.url(ref)}]
    assert post["request"]["summary"] == "Our new shop" and published.platform_post_id == post["id"]
    assert post["response"]["state"] == "LIVE"
    fetched = _sim_media(gbp, post)
    assert fetched["sha256"] == ref.sha256 and (fetched["kind"], fetched["mime"]) == ("image", "image/jpeg")
    assert (fetched["width"], fetched["height"]) == (320, 260)
    assert gbp.media.reads == []  # Google pulls the bytes; Crier reads none
    assert gbp.stage.get(0) == {"post": post["id"]}


async def test_a_video_post_is_followed_until_google_has_processed_it(gbp: Publishing, video: bytes) -> None:
    gbp.sim.configure(GBP, processing_s=60)
    ref = gbp.media.add(video)
    ctx = gbp.context("Watch us bake", media={0: [ref]})
    with pytest.raises(StillProcessing) as waiting:
        await gbp.publish(ctx)
    assert waiting.value.retry_after_s and waiting.value.retry_after_s > 0
    [post] = gbp.posts()
    assert post["request"]["media"][0]["mediaFormat"] == "VIDEO"
    assert await gbp.adapter.find_published(ctx, ctx.containers[0], 0, None) is None  # not live yet
    with pytest.raises(StillProcessing):
        await gbp.publish(ctx)
    gbp.sim.advance_clock(61)
    [published] = await gbp.publish(ctx)
    assert published.platform_post_id == post["id"] and len(gbp.posts()) == 1
    assert len(_calls(gbp, "local_posts")) == 1 and len(_calls(gbp, "local_post")) == 3
    assert _sim_media(gbp, post)["sha256"] == ref.sha256
    found = await gbp.adapter.find_published(ctx, ctx.containers[0], 0, None)
    assert found is not None and found.platform_post_id == post["id"]


async def test_media_google_fails_to_process_is_media_rejected(gbp: Publishing, photo: bytes) -> None:
    gbp.sim.configure(GBP, processing_s=5, processing_fails=True)
    ctx = gbp.context("Blurry", media={0: [gbp.media.add(photo)]})
    with pytest.raises(StillProcessing):
        await gbp.publish(ctx)
    gbp.sim.advance_clock(6)
    with pytest.raises(ContentRejected) as raised:
        await gbp.publish(ctx)
    assert raised.value.code == "media_rejected" and not raised.value.retryable
    assert len(_calls(gbp, "local_posts")) == 1


async def test_what_google_will_not_take_is_refused_with_its_field(gbp: Publishing) -> None:
    tiny = gbp.media.add(jpeg(300, 300))  # under 10 KB
    with pytest.raises(ContentRejected) as raised:
        await gbp.publish(gbp.context("Tiny", media={0: [tiny]}))
    assert "media[0]" in raised.value.message and "10 KB" in raised.value.message
    low = gbp.media.add(mp4(640, 360, seconds=1, fps=10))
    with pytest.raises(ContentRejected) as raised:
        await gbp.publish(gbp.context("Low", media={0: [low]}))
    assert "720p" in raised.value.message
    assert gbp.posts() == [] and not {tiny.sha256, low.sha256} & {m["sha256"] for m in gbp.sim.media(GBP)}


async def test_a_url_google_cannot_fetch_is_refused(gbp: Publishing, photo: bytes) -> None:
    ref = gbp.media.add(photo)
    gbp.media._urls[ref.id] = f"{gbp.sim.base_url}/_sim/files/gone"
    with pytest.raises(ContentRejected) as raised:
        await gbp.publish(gbp.context("Lost", media={0: [ref]}))
    assert "could not be fetched" in raised.value.message and gbp.posts() == []


async def test_a_post_with_media_made_but_unanswered_is_found_and_adopted(gbp: Publishing, photo: bytes) -> None:
    ctx = gbp.context("Did the photo go out?", media={0: [gbp.media.add(photo)]})
    gbp.sim.fault(GBP, "local_posts", "accept_then_timeout", hang_s=5)
    with pytest.raises(OutcomeUnknown):
        await gbp.adapter_with(timeout_s=0.5).publish_container(ctx, ctx.containers[0], 0, None)
    [made] = gbp.made(1)
    assert gbp.stage.get(0) == {}
    found = await gbp.adapter.find_published(ctx, ctx.containers[0], 0, None)
    assert found is not None and found.platform_post_id == made["id"]


async def test_a_processing_post_found_after_a_lost_answer_is_followed(gbp: Publishing, photo: bytes) -> None:
    gbp.sim.configure(GBP, processing_s=30)
    ctx = gbp.context("Still fetching?", media={0: [gbp.media.add(photo)]})
    gbp.sim.fault(GBP, "local_posts", "accept_then_timeout", hang_s=5)
    with pytest.raises(OutcomeUnknown):
        await gbp.adapter_with(timeout_s=0.5).publish_container(ctx, ctx.containers[0], 0, None)
    [made] = gbp.made(1)
    assert await gbp.adapter.find_published(ctx, ctx.containers[0], 0, None) is None
    assert gbp.stage.get(0) == {"post": made["id"]}
    gbp.sim.advance_clock(31)
    [published] = await gbp.publish(ctx)
    assert published.platform_post_id == made["id"] and len(gbp.posts()) == 1


async def test_a_rate_limit_on_a_post_with_media(gbp: Publishing, photo: bytes) -> None:
    ctx = gbp.context("Busy", media={0: [gbp.media.add(photo)]})
    gbp.sim.fault(GBP, "local_posts", "rate_limit", retry_after=9)
    with pytest.raises(RateLimited) as raised:
        await gbp.publish(ctx)
    assert raised.value.retry_after_s == 9 and gbp.posts() == [] and gbp.stage.get(0) == {}
    gbp.sim.fault(GBP, "local_posts", "server_error")
    with pytest.raises(TransientError) as failed:
        await gbp.publish(ctx)
    assert not isinstance(failed.value, OutcomeUnknown) and gbp.posts() == []
    await gbp.publish(ctx)
    assert len(gbp.posts()) == 1
