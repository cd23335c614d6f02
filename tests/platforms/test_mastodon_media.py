"""Mastodon media against the simulated instance: `POST /api/v2/media` (multipart, alt text as
`description`), `media_ids` on the status, a video's 202 processing waited on without a second
upload, a failed processing refused for good, a status with media found again, faults on the
upload; and each of Mastodon's media rules refusing at create."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

import msgspec
import pytest

from crier.contracts.common import AccountLimits, Container, MediaRef
from crier.platforms.base import ContentRejected, RateLimited, StillProcessing, TransientError
from crier.platforms.mastodon import rules
from tests.support.media_files import gif, jpeg, media_ref, mp4, png

from .conftest import Flow
from .publishing import Publishing, SavedStage, connect_for_publishing


@pytest.fixture
async def masto(flow: Flow) -> Publishing:
    return await connect_for_publishing(flow, "mastodon")


def _calls(acct: Publishing, endpoint: str) -> list[dict[str, Any]]:
    """The account's own requests to `endpoint` (the simulator's log spans the session)."""
    mine = f"Bearer {acct.account.access_token}"
    return [r for r in acct.sim.requests(acct.platform, endpoint) if r["authorization"] == mine]


def _media(acct: Publishing) -> list[dict[str, Any]]:
    return [m for m in acct.sim.media(acct.platform) if m["user_id"] == acct.account_author]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_an_image_with_alt_text_is_uploaded_and_attached_to_the_status(masto: Publishing) -> None:
    data = jpeg(640, 480)
    ref = masto.media.add(data, alt_text="a blue field")
    [published] = await masto.publish(masto.context("look", media={0: [ref]}))
    [item] = _media(masto)
    assert item["sha256"] == _sha(data) and item["kind"] == "image" and item["alt_text"] == "a blue field"
    [upload] = _calls(masto, "media")
    assert upload["form"] == {"description": "a blue field", "filename": f"{ref.id}.jpg", "content_type": "image/jpeg"}
    [status] = masto.posts()
    assert status["id"] == published.platform_post_id
    assert status["request"]["media_ids"] == [item["id"]] and status["request"]["status"] == "look"
    [attachment] = status["response"]["media_attachments"]
    assert attachment["id"] == item["id"] and attachment["type"] == "image" and attachment["url"]
    assert attachment["description"] == "a blue field"
    assert _calls(masto, "media_show") == []  # an image is ready at once: nothing to ask


async def test_images_and_a_gif_together_without_text(masto: Publishing) -> None:
    files = [png(), jpeg(), gif()]
    refs = [masto.media.add(d) for d in files]
    await masto.publish(masto.context("", media={0: refs}))
    [status] = masto.posts()
    by_sha = {m["sha256"]: m["id"] for m in _media(masto)}
    assert status["request"]["media_ids"] == [by_sha[_sha(d)] for d in files]
    assert [a["type"] for a in status["response"]["media_attachments"]] == ["image", "image", "gifv"]


async def test_a_video_still_processing_is_waited_for_and_never_uploaded_twice(masto: Publishing) -> None:
    masto.sim.configure("mastodon", processing_s=20)
    data = mp4()
    ref = masto.media.add(data, alt_text="moving colours")
    ctx = masto.context("a video", "its reply", media={0: [ref]})
    with pytest.raises(StillProcessing) as waiting:
        await masto.publish(ctx)
    assert waiting.value.retry_after_s == 5.0 and masto.posts() == []
    with pytest.raises(StillProcessing):
        await masto.publish(ctx)
    masto.sim.advance_clock(21)
    await masto.publish(ctx)
    status, reply = masto.posts()
    [item] = _media(masto)
    assert item["sha256"] == _sha(data) and item["kind"] == "video"
    assert status["request"]["media_ids"] == [item["id"]] and "media_ids" not in reply["request"]
    assert status["response"]["media_attachments"][0]["type"] == "video"
    assert len(_calls(masto, "media")) == 1 and len(_calls(masto, "media_show")) == 3


async def test_a_processing_failure_is_a_permanent_media_rejection(masto: Publishing) -> None:
    masto.sim.configure("mastodon", processing_s=3, processing_fails=True)
    ctx = masto.context("doomed", media={0: [masto.media.add(mp4())]})
    with pytest.raises(StillProcessing):
        await masto.publish(ctx)
    masto.sim.advance_clock(4)
    with pytest.raises(ContentRejected) as refused:
        await masto.publish(ctx)
    assert refused.value.code == "media_rejected" and "Error processing" in refused.value.message
    assert masto.posts() == []


async def test_an_upload_the_instance_refuses_is_a_media_rejection(masto: Publishing) -> None:
    # What the gateway took for an image is, to the instance, no media at all.
    ref = masto.media.add(png(), alt_text="x" * 10)
    masto.media._bytes[ref.id] = b"not an image at all"
    ref = msgspec.structs.replace(ref, size_bytes=len(b"not an image at all"))
    with pytest.raises(ContentRejected) as refused:
        await masto.publish(masto.context("broken", media={0: [ref]}))
    assert refused.value.code == "media_rejected" and "content type is invalid" in refused.value.message


async def test_find_published_adopts_the_status_with_the_staged_media_only(masto: Publishing) -> None:
    ref = masto.media.add(png(), alt_text="found")
    ctx = masto.context("lost answer", media={0: [ref]})
    [published] = await masto.publish(ctx)
    assert await masto.adapter.find_published(ctx, ctx.containers[0], 0, None) == published
    fresh = replace(ctx, stage=SavedStage())
    assert await masto.adapter.find_published(fresh, ctx.containers[0], 0, None) is None
    other = SavedStage()
    await other.save(0, {"media": {ref.id: {"id": "999", "ready": True}}})
    assert await masto.adapter.find_published(replace(ctx, stage=other), ctx.containers[0], 0, None) is None


async def test_a_rate_limited_upload_is_retried_later(masto: Publishing) -> None:
    masto.sim.fault("mastodon", "media", "rate_limit", retry_after=6)
    with pytest.raises(RateLimited) as raised:
        await masto.publish(masto.context("soon", media={0: [masto.media.add(png())]}))
    assert raised.value.retry_after_s is not None and 4 <= raised.value.retry_after_s <= 6
    assert masto.posts() == [] and _media(masto) == []


async def test_a_server_error_on_the_status_reuses_the_upload(masto: Publishing) -> None:
    ctx = masto.context("retry", media={0: [masto.media.add(png())]})
    masto.sim.fault("mastodon", "statuses", "server_error")
    with pytest.raises(TransientError):
        await masto.publish(ctx)
    await masto.publish(ctx)
    [status] = masto.posts()
    [item] = _media(masto)
    assert status["request"]["media_ids"] == [item["id"]] and len(_calls(masto, "media")) == 1


async def test_a_server_error_on_the_upload_is_transient(masto: Publishing) -> None:
    masto.sim.fault("mastodon", "media", "unavailable")
    with pytest.raises(TransientError):
        await masto.publish(masto.context("later", media={0: [masto.media.add(png())]}))
    assert masto.posts() == []


# -- rules ------------------------------------------------------------------------------------


def _problems(*media: MediaRef, text: str = "caption") -> list[tuple[str, str]]:
    return [(p.field, p.code) for p in rules.check([Container(content=text, media=list(media))], None)]


def test_valid_media_passes_and_text_may_be_left_out() -> None:
    assert _problems(media_ref(png()), media_ref(gif()), media_ref(jpeg()), media_ref(png()), text="") == []
    assert _problems(media_ref(mp4(), alt_text="a" * 1500)) == []


@pytest.mark.parametrize(
    ("media", "problem"),
    [
        ([media_ref(png())] * 5, ("containers[0].media", "too_many_media")),
        ([media_ref(png()), media_ref(mp4())], ("containers[0].media", "media_mix_unsupported")),
        ([media_ref(mp4()), media_ref(mp4())], ("containers[0].media", "too_many_media")),
        ([media_ref(png(), mime="image/tiff")], ("containers[0].media[0]", "media_format_unsupported")),
        ([media_ref(png(), size_bytes=16 * 1024 * 1024 + 1)], ("containers[0].media[0]", "media_too_large")),
        ([media_ref(gif(), size_bytes=16 * 1024 * 1024 + 1)], ("containers[0].media[0]", "media_too_large")),
        ([media_ref(mp4(), size_bytes=99 * 1024 * 1024 + 1)], ("containers[0].media[0]", "media_too_large")),
        ([media_ref(mp4(), frame_rate=144.0)], ("containers[0].media[0]", "media_frame_rate")),
        ([media_ref(png(), alt_text="a" * 1501)], ("containers[0].media[0].alt_text", "alt_text_too_long")),
    ],
)
def test_each_media_rule_refuses(media: list[MediaRef], problem: tuple[str, str]) -> None:
    assert problem in _problems(*media)


def test_an_instance_with_its_own_limit_keeps_the_media_rules() -> None:
    held = rules.for_account("profile", AccountLimits(max_characters=1000))
    assert [p.code for p in held.check([Container(content="x", media=[media_ref(png())] * 5)], None)] == [
        "too_many_media"
    ]


async def test_the_instance_refuses_attachments_a_status_may_not_carry(masto: Publishing) -> None:
    auth = {"Authorization": f"Bearer {masto.account.access_token}"}
    base = f"{masto.sim.base_url}/mastodon/api"
    ids = []
    for data, mime in ((png(), "image/png"), (mp4(), "video/mp4")):
        made = await masto.http.post(f"{base}/v2/media", files={"file": ("f", data, mime)}, headers=auth)
        ids.append(made.json()["id"])
    mixed = await masto.http.post(f"{base}/v1/statuses", data={"status": "", "media_ids[]": ids}, headers=auth)
    assert mixed.status_code == 422 and "video" in mixed.json()["error"]
    unknown = await masto.http.post(f"{base}/v1/statuses", json={"status": "x", "media_ids": ["1"]}, headers=auth)
    assert unknown.status_code == 422 and "not found" in unknown.json()["error"]
    alone = await masto.http.post(f"{base}/v1/statuses", data={"media_ids[]": ids[1]}, headers=auth)
    assert alone.status_code == 200 and alone.json()["media_attachments"][0]["id"] == ids[1]
    again = await masto.http.post(f"{base}/v1/statuses", json={"media_ids": [ids[1]]}, headers=auth)
    assert again.status_code == 422 and "already attached" in again.json()["error"]
