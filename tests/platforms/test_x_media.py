"""X media against the simulated API v2: the chunked upload (initialize, append, finalize), alt
text as media metadata, `media.media_ids` on the post, a video's processing waited on without a
second upload, a failed processing refused for good, a post with media found again, faults on the
upload calls; and each of X's media rules refusing at create."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from crier.contracts.common import Container, MediaRef
from crier.platforms.base import (
    ContentRejected,
    PublishContext,
    PublishedContainer,
    RateLimited,
    StillProcessing,
    TransientError,
)
from crier.platforms.x import rules
from tests.support.media_files import gif, jpeg, media_ref, mp4, png

from .conftest import Flow
from .publishing import Publishing, SavedStage, connect_for_publishing


@pytest.fixture
async def x(flow: Flow) -> Publishing:
    return await connect_for_publishing(flow, "x")


async def _publish_through_processing(acct: Publishing, ctx: PublishContext) -> list[PublishedContainer]:
    """Publishes as the publisher would: each StillProcessing waits (on the simulator's clock) as
    long as X asked, then the delivery resumes with the same stage."""
    for _ in range(10):
        try:
            return await acct.publish(ctx)
        except StillProcessing as waiting:
            assert waiting.retry_after_s is not None and waiting.retry_after_s > 0
            acct.sim.advance_clock(waiting.retry_after_s)
    raise AssertionError("still processing after 10 waits")


def _calls(acct: Publishing, endpoint: str) -> list[dict]:
    """The account's own requests to `endpoint` (the simulator's log spans the session)."""
    mine = f"Bearer {acct.account.access_token}"
    return [r for r in acct.sim.requests(acct.platform, endpoint) if r["authorization"] == mine]


def _media(acct: Publishing) -> list[dict]:
    """What the account uploaded, finished or not."""
    return [m for m in acct.sim.media(acct.platform) if m["user_id"] == acct.account_author]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_an_image_with_alt_text_is_uploaded_in_chunks_and_named_by_the_post(x: Publishing) -> None:
    data = png(640, 480)
    ref = x.media.add(data, alt_text="a red square")
    [published] = await x.publish(x.context("look", media={0: [ref]}))
    [item] = _media(x)
    assert item["sha256"] == _sha(data) and item["kind"] == "image" and item["alt_text"] == "a red square"
    [post] = x.posts()
    assert post["id"] == published.platform_post_id
    assert post["request"] == {"text": "look", "media": {"media_ids": [item["id"]]}}
    assert post["response"]["attachments"] == {"media_keys": [f"3_{item['id']}"]}
    [init] = _calls(x, "media_initialize")
    assert init["json"] == {"media_type": "image/png", "total_bytes": len(data), "media_category": "tweet_image"}
    assert len(_calls(x, "media_append")) == 1 and len(_calls(x, "media_finalize")) == 1
    [meta] = _calls(x, "media_metadata")
    assert meta["json"] == {"id": item["id"], "metadata": {"alt_text": {"text": "a red square"}}}
    assert x.stage.get(0)["media"][ref.id]["id"] == item["id"]


async def test_four_images_without_text_make_a_media_only_post(x: Publishing) -> None:
    files = [png(64, 48, (i * 50, 10, 10)) for i in range(3)] + [jpeg(80, 60)]
    refs = [x.media.add(data) for data in files]
    await x.publish(x.context("", media={0: refs}))
    [post] = x.posts()
    uploaded = {m["sha256"]: m["id"] for m in _media(x)}
    assert post["request"] == {"media": {"media_ids": [uploaded[_sha(d)] for d in files]}}
    assert _calls(x, "media_metadata") == []  # no alt text, no metadata call


async def test_a_large_file_goes_in_several_segments_in_order(x: Publishing) -> None:
    data = mp4(320, 240, seconds=1.0)
    ref = x.media.add(data)
    original = x.media.chunks

    async def small_chunks(media: MediaRef, size: int = 4 << 20):  # type: ignore[no-untyped-def]
        async for chunk in original(media, 4096):
            yield chunk

    x.media.chunks = small_chunks  # type: ignore[method-assign]
    await _publish_through_processing(x, x.context("segments", media={0: [ref]}))
    [item] = _media(x)
    assert item["sha256"] == _sha(data) and item["kind"] == "video"
    assert len(_calls(x, "media_append")) == -(-len(data) // 4096) > 1


async def test_a_reply_in_the_thread_carries_its_own_media(x: Publishing) -> None:
    first, second = x.media.add(png()), x.media.add(gif())
    await x.publish(x.context("the post", "the reply", media={0: [first], 1: [second]}))
    root, reply = x.posts()
    kinds = {m["id"]: m["kind"] for m in _media(x)}
    assert [kinds[i] for i in root["request"]["media"]["media_ids"]] == ["image"]
    assert [kinds[i] for i in reply["request"]["media"]["media_ids"]] == ["gif"]
    assert reply["reply_to"] == root["id"]
    [gif_init] = [r for r in _calls(x, "media_initialize") if r["json"]["media_category"] == "tweet_gif"]
    assert gif_init["json"]["media_type"] == "image/gif"


async def test_a_video_still_processing_is_waited_for_and_never_uploaded_twice(x: Publishing) -> None:
    x.sim.configure("x", processing_s=30)
    data = mp4()
    ref = x.media.add(data, alt_text="two seconds of colour")
    ctx = x.context("a video", media={0: [ref]})
    with pytest.raises(StillProcessing) as waiting:
        await x.publish(ctx)
    assert 25 <= (waiting.value.retry_after_s or 0) <= 30 and x.posts() == []
    with pytest.raises(StillProcessing):  # not yet: asked again, and nothing uploaded again
        await x.publish(ctx)
    x.sim.advance_clock(31)
    await x.publish(ctx)
    [post] = x.posts()
    [item] = _media(x)
    assert post["request"]["media"] == {"media_ids": [item["id"]]} and item["sha256"] == _sha(data)
    assert post["response"]["attachments"] == {"media_keys": [f"7_{item['id']}"]}
    assert [len(_calls(x, e)) for e in ("media_initialize", "media_finalize", "media_metadata")] == [1, 1, 0]
    assert item["alt_text"] is None  # X takes no alt text for a video
    assert len(_calls(x, "media_status")) == 3
    status = _calls(x, "media_status")[0]["query"]
    assert status == {"command": "STATUS", "media_id": item["id"]}


async def test_a_processing_failure_is_a_permanent_media_rejection(x: Publishing) -> None:
    x.sim.configure("x", processing_s=5, processing_fails=True)
    ctx = x.context("doomed", media={0: [x.media.add(mp4())]})
    with pytest.raises(StillProcessing):
        await x.publish(ctx)
    x.sim.advance_clock(6)
    with pytest.raises(ContentRejected) as refused:
        await x.publish(ctx)
    assert refused.value.code == "media_rejected" and not refused.value.retryable
    assert x.posts() == []


async def test_media_of_the_wrong_kind_is_refused_by_x_as_media_rejected(x: Publishing) -> None:
    # The gateway says PNG; the bytes X receives are a JPEG sent as a video: X's FINALIZE refuses.
    ref = x.media.add(jpeg(), type="video", mime="video/mp4")
    with pytest.raises(ContentRejected) as refused:
        await x.publish(x.context("not a video", media={0: [ref]}))
    assert refused.value.code == "media_rejected" and "InvalidMedia" in refused.value.message


async def test_find_published_adopts_the_post_with_the_staged_media_only(x: Publishing) -> None:
    ref = x.media.add(png(), alt_text="found")
    ctx = x.context("lost answer", media={0: [ref]})
    [published] = await x.publish(ctx)
    found = await x.adapter.find_published(ctx, ctx.containers[0], 0, None)
    assert found == published
    # A delivery whose stage has no finished upload for this container cannot have posted it.
    fresh = replace(ctx, stage=SavedStage())
    assert await x.adapter.find_published(fresh, ctx.containers[0], 0, None) is None
    # Other media under the same text is another post.
    other = replace(ctx, containers=(Container(content="lost answer", media=[ref]),))
    await x.stage.save(0, {"media": {ref.id: {"id": "1234567890", "pending": False, "alt": True}}})
    assert await x.adapter.find_published(other, other.containers[0], 0, None) is None


async def test_a_rate_limited_upload_waits_for_the_reset(x: Publishing) -> None:
    x.sim.fault("x", "media_initialize", "rate_limit", retry_after=9)
    with pytest.raises(RateLimited) as raised:
        await x.publish(x.context("soon", media={0: [x.media.add(png())]}))
    assert raised.value.retry_after_s is not None and 7 <= raised.value.retry_after_s <= 9
    assert x.posts() == []


async def test_a_server_error_while_appending_is_transient_and_the_retry_uploads_it_whole(x: Publishing) -> None:
    data = png()
    ctx = x.context("retry", media={0: [x.media.add(data)]})
    x.sim.fault("x", "media_append", "server_error")
    with pytest.raises(TransientError):
        await x.publish(ctx)
    assert x.stage.get(0) == {}  # nothing finished, nothing saved
    await x.publish(ctx)
    [post] = x.posts()
    [finished] = [m for m in _media(x) if m["sha256"] == _sha(data)]
    assert post["request"]["media"]["media_ids"] == [finished["id"]]


# -- rules ------------------------------------------------------------------------------------


def _problems(*media: MediaRef, text: str = "caption") -> list[tuple[str, str]]:
    return [(p.field, p.code) for p in rules.check([Container(content=text, media=list(media))], None)]


def test_valid_media_passes_and_text_may_be_left_out() -> None:
    assert _problems(*(media_ref(png()) for _ in range(4)), text="") == []
    assert _problems(media_ref(gif())) == []
    assert _problems(media_ref(mp4(), alt_text="a" * 1000)) == []
    assert rules.check([Container(content="", media=[])], None)[0].code == "empty"


@pytest.mark.parametrize(
    ("media", "problem"),
    [
        ([media_ref(png())] * 5, ("containers[0].media", "too_many_media")),
        ([media_ref(png()), media_ref(gif())], ("containers[0].media", "media_mix_unsupported")),
        ([media_ref(mp4()), media_ref(mp4())], ("containers[0].media", "too_many_media")),
        ([media_ref(png(), mime="image/bmp")], ("containers[0].media[0]", "media_format_unsupported")),
        ([media_ref(png(), size_bytes=5 * 1024 * 1024 + 1)], ("containers[0].media[0]", "media_too_large")),
        ([media_ref(gif(), size_bytes=15 * 1024 * 1024 + 1)], ("containers[0].media[0]", "media_too_large")),
        ([media_ref(mp4(), size_bytes=8 * 1024**3 + 1)], ("containers[0].media[0]", "media_too_large")),
        ([media_ref(mp4(), duration_s=0.4)], ("containers[0].media[0]", "media_duration")),
        ([media_ref(mp4(), duration_s=20 * 60 + 1)], ("containers[0].media[0]", "media_duration")),
        ([media_ref(mp4(), frame_rate=120.0)], ("containers[0].media[0]", "media_frame_rate")),
        ([media_ref(mp4(), width=1000, height=300)], ("containers[0].media[0]", "media_aspect_ratio")),
        ([media_ref(mp4(), width=31, height=31)], ("containers[0].media[0]", "media_dimensions")),
        ([media_ref(png(), alt_text="a" * 1001)], ("containers[0].media[0].alt_text", "alt_text_too_long")),
    ],
)
def test_each_media_rule_refuses(media: list[MediaRef], problem: tuple[str, str]) -> None:
    assert problem in _problems(*media)


def test_a_reply_is_held_to_the_same_media_rules() -> None:
    containers = [Container(content="post"), Container(content="reply", media=[media_ref(png())] * 5)]
    assert [(p.field, p.code) for p in rules.check(containers, None)] == [("containers[1].media", "too_many_media")]


async def test_x_refuses_a_post_naming_media_it_may_not_carry(x: Publishing) -> None:
    auth = {"Authorization": f"Bearer {x.account.access_token}"}
    base = f"{x.sim.base_url}/x/2"

    async def upload(data: bytes, mime: str, category: str) -> str:
        init = {"media_type": mime, "total_bytes": len(data), "media_category": category}
        media_id = (await x.http.post(f"{base}/media/upload/initialize", json=init, headers=auth)).json()["data"]["id"]
        await x.http.post(
            f"{base}/media/upload/{media_id}/append",
            data={"segment_index": "0"},
            files={"media": ("blob", data, "application/octet-stream")},
            headers=auth,
        )
        await x.http.post(f"{base}/media/upload/{media_id}/finalize", headers=auth)
        return str(media_id)

    image, animated = await upload(png(), "image/png", "tweet_image"), await upload(gif(), "image/gif", "tweet_gif")
    x.sim.configure("x", processing_s=60)
    video = await upload(mp4(), "video/mp4", "tweet_video")
    for ids in ([image, animated], [video], ["123"], [image] * 5):
        refused = await x.http.post(f"{base}/tweets", json={"text": "t", "media": {"media_ids": ids}}, headers=auth)
        assert refused.status_code == 400, ids
    made = await x.http.post(f"{base}/tweets", json={"media": {"media_ids": [image]}}, headers=auth)
    assert made.status_code == 201 and x.posts()[0]["response"]["attachments"] == {"media_keys": [f"3_{image}"]}
