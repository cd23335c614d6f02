"""Threads with media, against the simulated Threads API, which really fetches the signed URLs it is
given and inspects what it got: an image or video container (alt text included), a carousel of
item containers, media in a reply; a video that processes slowly is waited for without making its
container twice; a failed one is `media_rejected`; a post made with media is found again."""

from __future__ import annotations

import pytest

from crier.platforms.base import ContentRejected, OutcomeUnknown, RateLimited, StillProcessing, TransientError
from tests.support.media_files import gif, jpeg, mp4, png

from .conftest import Flow
from .graph_media import publish_waiting, requests_of
from .publishing import Publishing, connect_for_publishing


@pytest.fixture
async def acct(flow: Flow) -> Publishing:
    return await connect_for_publishing(flow, "threads")


def _media(acct: Publishing) -> dict[str, dict]:
    """What this account's Threads received as media (the simulator's library is the session's)."""
    return {m["id"]: m for m in acct.sim.media("threads") if m["user_id"] == acct.account_author}


async def test_an_image_post_is_an_image_container_threads_pulls(acct: Publishing) -> None:
    ref = acct.media.add(jpeg(640, 480), alt_text="a blue field")
    [published] = await acct.publish(acct.context("look", media={0: [ref]}))
    [create] = requests_of(acct, "threads")
    assert create["json"] == {
        "media_type": "IMAGE",
        "image_url": acct.media.url(ref),
        "alt_text": "a blue field",
        "text": "look",
    }
    [post] = acct.posts()
    assert published.platform_post_id == post["id"] and post["response"]["media_type"] == "IMAGE"
    [item] = post["response"]["media"]
    stored = _media(acct)[item["id"]]
    assert stored["sha256"] == ref.sha256 and stored["alt_text"] == "a blue field"
    assert (stored["width"], stored["height"], stored["mime"]) == (640, 480, "image/jpeg")
    assert stored["extra"]["url"] == acct.media.url(ref)  # the simulator fetched the signed URL


async def test_a_post_of_media_alone_sends_no_text(acct: Publishing) -> None:
    ref = acct.media.add(png(200, 100))
    await acct.publish(acct.context("", media={0: [ref]}))
    [create] = requests_of(acct, "threads")
    assert "text" not in create["json"] and "alt_text" not in create["json"]
    assert acct.posts()[0]["text"] == ""


async def test_several_media_are_a_carousel_of_item_containers(acct: Publishing) -> None:
    refs = [acct.media.add(jpeg(320, 320), alt_text="one"), acct.media.add(png(400, 300)), acct.media.add(mp4())]
    await acct.publish(acct.context("three things", media={0: refs}))
    creates = [r["json"] for r in requests_of(acct, "threads")]
    items, carousel = creates[:3], creates[3]
    assert [i["media_type"] for i in items] == ["IMAGE", "IMAGE", "VIDEO"]
    assert all(i["is_carousel_item"] == "true" and "text" not in i for i in items)
    assert items[2]["video_url"] == acct.media.url(refs[2])
    assert carousel["media_type"] == "CAROUSEL" and carousel["text"] == "three things"
    [post] = acct.posts()
    assert post["response"]["media_type"] == "CAROUSEL_ALBUM"
    assert post["request"]["children"] == carousel["children"]
    assert len(post["response"]["children"]["data"]) == 3
    assert [m["sha256"] for m in post["response"]["media"]] == [r.sha256 for r in refs]
    assert [m["alt_text"] for m in post["response"]["media"]] == ["one", None, None]


async def test_a_reply_carries_media_too(acct: Publishing) -> None:
    ref = acct.media.add(jpeg())
    root, reply = await acct.publish(acct.context("question", "an answer in a picture", media={1: [ref]}))
    posts = acct.posts()
    assert posts[1]["id"] == reply.platform_post_id
    assert posts[1]["reply_to"] == root.platform_post_id and posts[1]["request"]["reply_to_id"] == root.platform_post_id
    assert posts[1]["response"]["media"][0]["sha256"] == ref.sha256 and "media" not in posts[0]["response"]


async def test_a_slow_video_is_waited_for_without_a_second_container(acct: Publishing) -> None:
    acct.sim.configure("threads", processing_s=90)
    ref = acct.media.add(mp4(seconds=1.0))
    ctx = acct.context("a film", media={0: [ref]})
    with pytest.raises(StillProcessing) as waiting:
        await acct.publish(ctx)
    assert waiting.value.retry_after_s == 30 and acct.posts() == []
    container = acct.stage.get(0)["container"]
    # Still processing: the publisher's lookup finds nothing published and searches nothing.
    assert await acct.adapter.find_published(ctx, ctx.containers[0], 0, None) is None
    [published] = await publish_waiting(acct, ctx)
    assert len(requests_of(acct, "threads")) == 1 and len(requests_of(acct, "threads_publish")) == 1
    assert requests_of(acct, "threads_publish")[0]["json"] == {"creation_id": container}
    assert acct.posts()[0]["id"] == published.platform_post_id
    assert [r["query"]["fields"] for r in requests_of(acct, "media")][:1] == ["status,error_message"]


async def test_a_carousel_waits_for_its_items_and_makes_each_once(acct: Publishing) -> None:
    acct.sim.configure("threads", processing_s=45)
    refs = [acct.media.add(jpeg()), acct.media.add(mp4(seconds=1.0))]
    await publish_waiting(acct, acct.context("slow album", media={0: refs}))
    assert len(requests_of(acct, "threads")) == 3  # two items and the carousel, each made once
    assert len(acct.posts()[0]["response"]["media"]) == 2


async def test_media_that_fails_processing_is_rejected(acct: Publishing) -> None:
    acct.sim.configure("threads", processing_s=10, processing_fails=True)
    ref = acct.media.add(mp4(seconds=1.0))
    with pytest.raises(ContentRejected) as raised:
        await publish_waiting(acct, acct.context("broken", media={0: [ref]}))
    assert raised.value.code == "media_rejected" and not raised.value.retryable
    assert "MEDIA_PROCESSING_FAILED" in raised.value.message and acct.posts() == []


async def test_threads_inspects_what_it_fetched(acct: Publishing) -> None:
    # Past the rules (an adapter asked directly): Threads itself refuses them.
    for data, said in ((png(1100, 100), "aspect ratio"), (gif(), "image format")):
        ref = acct.media.add(data)
        with pytest.raises(ContentRejected) as raised:
            await acct.publish(acct.context("odd", media={0: [ref]}))
        assert said in raised.value.message
    assert acct.posts() == [] and _media(acct) == {}


async def test_a_post_made_with_media_is_found_and_adopted(acct: Publishing) -> None:
    ref = acct.media.add(jpeg())
    ctx = acct.context("did it go out?", media={0: [ref]})
    acct.sim.fault("threads", "threads_publish", "accept_then_timeout", hang_s=5)
    with pytest.raises(OutcomeUnknown):
        await acct.publish(ctx, acct.adapter_with(timeout_s=0.3))
    [made] = acct.made(1)
    found = await acct.adapter.find_published(ctx, ctx.containers[0], 0, None)
    assert found is not None and found.platform_post_id == made["id"]
    assert found.url == made["response"]["permalink"]
    assert len(requests_of(acct, "threads")) == 1  # nothing was made again


async def test_faults_on_the_container_step(acct: Publishing) -> None:
    ref = acct.media.add(jpeg())
    acct.sim.fault("threads", "threads", "rate_limit", retry_after=9)
    with pytest.raises(RateLimited) as limited:
        await acct.publish(acct.context("hi", media={0: [ref]}))
    assert limited.value.retry_after_s == 9
    acct.sim.fault("threads", "threads", "server_error")
    with pytest.raises(TransientError) as outage:
        await acct.publish(acct.context("hi", media={0: [ref]}))
    assert "500" in outage.value.message and acct.posts() == [] and acct.stage.get(0) == {}
