"""Pinterest's adapter against the simulated Pinterest: a post is a Pin on a board, made of its media.
Images are pulled by Pinterest from the media's URL (one image, or a carousel of up to five); a
video is registered, uploaded by an S3 form POST and processed before the Pin names it. A video
still processing is waited for without a second upload; one Pinterest fails is `media_rejected`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crier.contracts.common import Container
from crier.platforms.base import (
    ContentRejected,
    NotSupported,
    PlatformError,
    PublishContext,
    PublishedContainer,
    RateLimited,
    StillProcessing,
    TransientError,
)
from tests.support.media_files import jpeg, mp4, png

from .conftest import Flow
from .contracts import ROOT, openapi_errors, requires_contracts
from .publishing import Publishing, connect_for_publishing


@pytest.fixture
async def pin(flow: Flow) -> Publishing:
    return await connect_for_publishing(flow, "pinterest")


def board(acct: Publishing) -> str:
    return str(acct.user["pages"][0]["id"])


def calls(acct: Publishing, endpoint: str) -> list[dict[str, Any]]:
    """This account's calls to an endpoint (the request log is the session's)."""
    mine = f"Bearer {acct.account.access_token}"
    return [r for r in acct.sim.requests("pinterest", endpoint) if r["authorization"] == mine]


def videos_of(acct: Publishing) -> list[dict[str, Any]]:
    """The videos Pinterest received from this account, each a completed S3 upload."""
    return [m for m in acct.sim.media("pinterest") if m["user_id"] == acct.account_author and m["kind"] == "video"]


def answered(post: dict[str, Any]) -> dict[str, Any]:
    """The Pin as the API answered it, its nulls left out (the contract is OpenAPI 3.0, whose
    `nullable` JSON Schema does not know)."""
    return {k: v for k, v in post["response"].items() if k != "_sim" and v is not None}


async def publish_through_processing(acct: Publishing, ctx: PublishContext, step_s: float = 30) -> PublishedContainer:
    """Publishes, advancing the simulator's clock past each wait Pinterest asks for (at most ten)."""
    for _ in range(10):
        try:
            [done] = await acct.publish(ctx)
            return done
        except StillProcessing:
            acct.sim.advance_clock(step_s)
    raise AssertionError("still processing after ten waits")


async def test_an_image_pin_is_pulled_from_the_media_url(pin: Publishing) -> None:
    data = png(300, 450)
    ref = pin.media.add(data, alt_text="a red rectangle")
    ctx = pin.context(
        "Red things", config={"board_id": board(pin), "title": "Red", "link": "https://ex.com/r"}, media={0: [ref]}
    )
    [published] = await pin.publish(ctx)
    [post] = pin.posts()
    assert post["request"] == {
        "board_id": board(pin),
        "title": "Red",
        "link": "https://ex.com/r",
        "description": "Red things",
        "alt_text": "a red rectangle",
        "media_source": {"source_type": "image_url", "url": pin.media.url(ref), "is_standard": True},
    }
    assert published == PublishedContainer(post["id"], f"https://www.pinterest.com/pin/{post['id']}/")
    [media] = [m for m in pin.sim.media("pinterest") if m["id"] in post["response"]["_sim"]["media_ids"]]
    assert media["sha256"] == ref.sha256 and (media["width"], media["height"]) == (300, 450)
    pin_answer = answered(post)
    assert pin_answer["media"]["media_type"] == "image"
    if ROOT.is_dir():  # and as Pinterest's own OpenAPI describes a Pin
        assert openapi_errors("pinterest/openapi.json", "Pin", pin_answer) == []


async def test_several_images_are_one_carousel_pin(pin: Publishing) -> None:
    refs = [pin.media.add(jpeg(200, 300)), pin.media.add(png(200, 300)), pin.media.add(jpeg(200, 300, quality=70))]
    await pin.publish(pin.context("", config={"board_id": board(pin)}, media={0: refs}))
    [post] = pin.posts()
    assert "description" not in post["request"]  # a media-only Pin
    assert post["request"]["media_source"] == {
        "source_type": "multiple_image_urls",
        "items": [{"url": pin.media.url(r)} for r in refs],
    }
    ids = post["response"]["_sim"]["media_ids"]
    by_id = {m["id"]: m for m in pin.sim.media("pinterest")}
    assert [by_id[i]["sha256"] for i in ids] == [r.sha256 for r in refs]
    assert post["response"]["media"]["media_type"] == "multiple_images"


async def test_a_video_is_uploaded_once_and_waited_for_while_pinterest_processes_it(pin: Publishing) -> None:
    pin.sim.configure("pinterest", processing_s=45)
    data = mp4(320, 480, seconds=4.2)
    ref = pin.media.add(data, alt_text="a short clip")
    ctx = pin.context("A clip", config={"board_id": board(pin)}, media={0: [ref]})
    with pytest.raises(StillProcessing) as waiting:
        await pin.publish(ctx)
    assert waiting.value.retryable and waiting.value.retry_after_s and waiting.value.retry_after_s > 0
    assert pin.posts() == [] and len(videos_of(pin)) == 1
    with pytest.raises(StillProcessing):
        await pin.publish(ctx)  # asked again too soon: still no second upload
    published = await publish_through_processing(pin, ctx)
    assert len(calls(pin, "register_media")) == 1 and len(videos_of(pin)) == 1
    [post] = pin.posts()
    media_id = pin.stage.get(0)["media_id"]
    assert post["request"]["media_source"] == {
        "source_type": "video_id",
        "media_id": media_id,
        "cover_image_key_frame_time": 0,
    }
    assert post["request"]["alt_text"] == "a short clip" and published.platform_post_id == post["id"]
    [video] = [m for m in pin.sim.media("pinterest") if m["id"] == media_id]
    assert video["sha256"] == ref.sha256 and video["kind"] == "video" and video["status"] == "ready"
    # The upload was the S3 form POST, with the registration's fields and no token.
    assert all(r["authorization"] is None for r in pin.sim.requests("pinterest", "media_upload"))


async def test_a_video_pinterest_fails_is_media_rejected(pin: Publishing) -> None:
    pin.sim.configure("pinterest", processing_fails=True)
    ref = pin.media.add(mp4(320, 480, seconds=4.2))
    with pytest.raises(ContentRejected) as rejected:
        await pin.publish(pin.context("A clip", config={"board_id": board(pin)}, media={0: [ref]}))
    assert rejected.value.code == "media_rejected" and not rejected.value.retryable
    assert pin.posts() == []


async def test_find_published_adopts_a_pin_made_with_media(pin: Publishing) -> None:
    ref = pin.media.add(jpeg(200, 300))
    ctx = pin.context("Found again", config={"board_id": board(pin), "title": "T"}, media={0: [ref]})
    [published] = await pin.publish(ctx)
    found = await pin.adapter.find_published(ctx, ctx.containers[0], 0, None)
    assert found == published
    other = pin.context("Not posted", config={"board_id": board(pin)}, media={0: [ref]})
    assert await pin.adapter.find_published(other, other.containers[0], 0, None) is None


async def test_an_upload_rate_limited_or_failing_is_retried_later(pin: Publishing) -> None:
    ref = pin.media.add(mp4(320, 480, seconds=4.2))
    ctx = pin.context("A clip", config={"board_id": board(pin)}, media={0: [ref]})
    pin.sim.fault("pinterest", "register_media", "rate_limit", retry_after=7)
    with pytest.raises(RateLimited) as limited:
        await pin.publish(ctx)
    assert limited.value.retry_after_s == 7
    pin.sim.fault("pinterest", "media_upload", "server_error")
    with pytest.raises(TransientError):
        await pin.publish(ctx)
    assert pin.stage.get(0) == {}  # nothing uploaded yet: the next delivery registers anew
    await publish_through_processing(pin, ctx)
    assert len(pin.posts()) == 1


async def test_a_pin_on_a_board_not_the_users_is_refused(pin: Publishing) -> None:
    ref = pin.media.add(jpeg(200, 300))
    with pytest.raises(PlatformError) as refused:
        await pin.publish(pin.context("x", config={"board_id": "123456"}, media={0: [ref]}))
    assert refused.value.code == "not_found" and "Board not found" in refused.value.message


async def test_a_pin_without_its_board_or_media_is_refused_before_any_call(pin: Publishing) -> None:
    before = len(pin.sim.requests("pinterest"))
    with pytest.raises(ContentRejected) as no_board:
        await pin.publish(pin.context("x", media={0: [pin.media.add(png())]}))
    assert no_board.value.code == "invalid_content" and "board_id" in no_board.value.message
    with pytest.raises(ContentRejected):
        await pin.publish(pin.context("text only", config={"board_id": board(pin)}))
    with pytest.raises(NotSupported):
        await pin.adapter.publish_container(pin.context("a", "b"), Container(content="b"), 1, None)
    assert len(pin.sim.requests("pinterest")) == before


@requires_contracts
async def test_media_answers_follow_pinterests_schema(pin: Publishing) -> None:
    ref = pin.media.add(mp4(320, 480, seconds=4.2))
    await publish_through_processing(pin, pin.context("", config={"board_id": board(pin)}, media={0: [ref]}))
    [post] = pin.posts()
    pin_answer = answered(post)
    assert openapi_errors("pinterest/openapi.json", "Pin", pin_answer) == []
    assert pin_answer["media"]["media_type"] == "video" and pin_answer["creative_type"] == "VIDEO"


async def test_find_published_looks_for_a_video_pin_only_once_its_video_is_uploaded(pin: Publishing) -> None:
    pin.sim.configure("pinterest", processing_s=45)
    ctx = pin.context("A clip", config={"board_id": board(pin)}, media={0: [pin.media.add(mp4(320, 480, seconds=4.2))]})
    assert await pin.adapter.find_published(ctx, ctx.containers[0], 0, None) is None
    assert calls(pin, "board_pins") == []  # nothing uploaded: no Pin can exist, nothing to list
    with pytest.raises(StillProcessing):
        await pin.publish(ctx)
    assert await pin.adapter.find_published(ctx, ctx.containers[0], 0, None) is None
    published = await publish_through_processing(pin, ctx)
    assert await pin.adapter.find_published(ctx, ctx.containers[0], 0, None) == published


@requires_contracts
async def test_media_registration_and_status_follow_pinterests_schema(pin: Publishing, http: httpx.AsyncClient) -> None:
    base, auth = f"{pin.sim.base_url}/pinterest", {"Authorization": f"Bearer {pin.account.access_token}"}
    registered = (await http.post(f"{base}/v5/media", json={"media_type": "video"}, headers=auth)).json()
    assert openapi_errors("pinterest/openapi.json", "MediaUpload", registered) == []
    status = (await http.get(f"{base}/v5/media/{registered['media_id']}", headers=auth)).json()
    assert openapi_errors("pinterest/openapi.json", "Media", status) == [] and status["status"] == "registered"
    refused = await http.post(f"{base}/v5/media", json={"media_type": "image"}, headers=auth)
    assert refused.status_code == 400 and openapi_errors("pinterest/openapi.json", "Error", refused.json()) == []
