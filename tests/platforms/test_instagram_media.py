"""Instagram's adapter against the simulated Instagram Graph API, which really fetches the signed URLs
it is given and inspects what it got: an image, a carousel, a reel and a story land as containers
then `media_publish`; a first comment follows; a slow video is waited for without making its
container twice; a failed one is `media_rejected`; the publishing limit is a rate limit; a post
whose publish answer was lost is found and adopted."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from crier.platforms.base import (
    ContentRejected,
    OutcomeUnknown,
    PublishedContainer,
    RateLimited,
    StillProcessing,
    TransientError,
)
from tests.support.media_files import jpeg, mp4, png

from .conftest import Flow
from .graph_media import publish_waiting, requests_of
from .publishing import Publishing, SavedStage, connect_for_publishing

VIDEO = mp4(360, 640, seconds=3.5)


@pytest.fixture
async def acct(flow: Flow) -> Publishing:
    return await connect_for_publishing(flow, "instagram")


def _media(acct: Publishing) -> dict[str, dict]:
    """What this account's Instagram received (the simulator's library is the session's)."""
    return {m["id"]: m for m in acct.sim.media("instagram") if m["user_id"] == acct.account_author}


async def test_an_image_is_a_container_then_published(acct: Publishing) -> None:
    ref = acct.media.add(jpeg(1080, 1080), alt_text="a blue square")
    [published] = await acct.publish(acct.context("Fresh #bread", media={0: [ref]}))
    ig = acct.account.network_unique_id
    [create] = requests_of(acct, "media")
    assert create["path"] == f"/instagram/v23.0/{ig}/media"
    assert create["json"] == {"image_url": acct.media.url(ref), "alt_text": "a blue square", "caption": "Fresh #bread"}
    [publish] = requests_of(acct, "media_publish")
    assert publish["path"] == f"/instagram/v23.0/{ig}/media_publish"
    [post] = acct.posts()
    assert publish["json"] == {"creation_id": post["request"]["creation_id"]}
    assert post["page_id"] == ig and post["text"] == "Fresh #bread"
    assert (post["response"]["media_type"], post["response"]["media_product_type"]) == ("IMAGE", "FEED")
    assert published == PublishedContainer(post["id"], post["response"]["permalink"])
    [item] = post["response"]["media"]
    stored = _media(acct)[item["id"]]
    assert stored["sha256"] == ref.sha256 and stored["alt_text"] == "a blue square"
    assert stored["extra"]["url"] == acct.media.url(ref)  # Instagram fetched the signed URL itself


async def test_instagram_refuses_what_it_fetched_and_cannot_publish(acct: Publishing) -> None:
    # Past the rules (an adapter asked directly): Instagram itself inspects the bytes.
    for data, said in ((png(1080, 1080), "Only JPEG"), (jpeg(540, 960), "aspect ratio")):
        ref = acct.media.add(data)
        with pytest.raises(ContentRejected) as raised:
            await acct.publish(acct.context("nope", media={0: [ref]}))
        assert said in raised.value.message and not raised.value.retryable
    assert acct.posts() == [] and _media(acct) == {}


async def test_several_media_are_a_carousel(acct: Publishing) -> None:
    refs = [acct.media.add(jpeg(1080, 1350), alt_text="first"), acct.media.add(VIDEO)]
    await acct.publish(acct.context("an album", media={0: refs}, config={"location_id": "110843418940484"}))
    first, second, carousel = (r["json"] for r in requests_of(acct, "media"))
    assert first == {"image_url": acct.media.url(refs[0]), "alt_text": "first", "is_carousel_item": "true"}
    assert second == {"media_type": "VIDEO", "video_url": acct.media.url(refs[1]), "is_carousel_item": "true"}
    assert carousel["media_type"] == "CAROUSEL" and carousel["caption"] == "an album"
    assert carousel["location_id"] == "110843418940484" and len(carousel["children"].split(",")) == 2
    [post] = acct.posts()
    assert post["response"]["media_type"] == "CAROUSEL_ALBUM"
    assert [m["sha256"] for m in post["response"]["media"]] == [r.sha256 for r in refs]


async def test_a_reel_and_its_options(acct: Publishing) -> None:
    ref = acct.media.add(VIDEO)
    config = {"kind": "reel", "share_to_feed": False, "collaborators": ["friend.one", "friend.two"]}
    await acct.publish(acct.context("watch", media={0: [ref]}, config=config))
    [create] = requests_of(acct, "media")
    assert create["json"]["media_type"] == "REELS" and create["json"]["video_url"] == acct.media.url(ref)
    assert create["json"]["share_to_feed"] == "false"
    assert json.loads(create["json"]["collaborators"]) == ["friend.one", "friend.two"]
    [post] = acct.posts()
    assert post["response"]["media_product_type"] == "REELS" and post["response"]["media_type"] == "VIDEO"


async def test_a_single_feed_video_is_published_as_a_reel(acct: Publishing) -> None:
    await acct.publish(acct.context("a clip", media={0: [acct.media.add(VIDEO)]}))
    [create] = requests_of(acct, "media")
    assert create["json"]["media_type"] == "REELS" and "share_to_feed" not in create["json"]


async def test_a_story_has_no_caption(acct: Publishing) -> None:
    ref = acct.media.add(jpeg(540, 960))  # 9:16, which a story takes and a feed post does not
    [published] = await acct.publish(acct.context("", media={0: [ref]}, config={"kind": "story"}))
    [create] = requests_of(acct, "media")
    assert create["json"] == {"media_type": "STORIES", "image_url": acct.media.url(ref)}
    assert acct.posts()[0]["response"]["media_product_type"] == "STORY"
    # Nothing staged (the publish answer was lost before anything was saved): found among stories.
    ctx = replace(acct.context("", media={0: [ref]}, config={"kind": "story"}), stage=SavedStage())
    found = await acct.adapter.find_published(ctx, ctx.containers[0], 0, None)
    assert found == published and requests_of(acct, "user_stories")


async def test_the_first_comment_follows_the_post(acct: Publishing) -> None:
    ref = acct.media.add(jpeg())
    post, comment = await acct.publish(acct.context("caption", "#details in a comment", media={0: [ref]}))
    [sent] = requests_of(acct, "comment")
    assert sent["path"] == f"/instagram/v23.0/{post.platform_post_id}/comments"
    assert sent["json"] == {"message": "#details in a comment"}
    made = acct.posts()[1]
    assert made["id"] == comment.platform_post_id and made["reply_to"] == post.platform_post_id
    assert comment.url == post.url
    ctx = acct.context("caption", "#details in a comment", media={0: [ref]})
    assert await acct.adapter.find_published(ctx, ctx.containers[1], 1, post) == comment


async def test_a_slow_video_is_waited_for_without_a_second_container(acct: Publishing) -> None:
    acct.sim.configure("instagram", processing_s=150)
    ctx = acct.context("slow reel", media={0: [acct.media.add(VIDEO)]})
    with pytest.raises(StillProcessing) as waiting:
        await acct.publish(ctx)
    assert waiting.value.retry_after_s == 60 and acct.posts() == []
    assert [r["query"]["fields"] for r in requests_of(acct, "node")] == ["status_code,status"]
    # Made, not published: the publisher's lookup publishes it rather than searching or re-making.
    assert await acct.adapter.find_published(ctx, ctx.containers[0], 0, None) is None
    assert requests_of(acct, "user_media") == []
    [published] = await publish_waiting(acct, ctx)
    assert len(requests_of(acct, "media")) == 1 and len(requests_of(acct, "media_publish")) == 1
    assert acct.posts()[0]["id"] == published.platform_post_id


async def test_a_video_that_fails_processing_is_rejected(acct: Publishing) -> None:
    acct.sim.configure("instagram", processing_s=5, processing_fails=True)
    with pytest.raises(ContentRejected) as raised:
        await publish_waiting(acct, acct.context("broken", media={0: [acct.media.add(VIDEO)]}))
    assert raised.value.code == "media_rejected" and "ERROR" in raised.value.message
    assert "MEDIA_PROCESSING_FAILED" in raised.value.message and acct.posts() == []


async def test_the_publishing_limit_is_a_rate_limit(acct: Publishing) -> None:
    acct.sim.configure("instagram", publishing_limit=1)
    await acct.publish(acct.context("one", media={0: [acct.media.add(jpeg())]}))
    acct.stage = SavedStage()  # another post, another target
    with pytest.raises(RateLimited) as raised:
        await acct.publish(acct.context("two", media={0: [acct.media.add(jpeg())]}))
    assert "content_publishing_limit" in raised.value.message and len(acct.posts()) == 1
    assert raised.value.retry_after_s == 3600  # a moving day's limit: looked at again in an hour


async def test_a_lost_publish_is_found_and_adopted(acct: Publishing) -> None:
    ref = acct.media.add(jpeg())
    ctx = acct.context("did it go out?", media={0: [ref]})
    acct.sim.fault("instagram", "media_publish", "accept_then_timeout", hang_s=5)
    with pytest.raises(OutcomeUnknown):
        await acct.publish(ctx, acct.adapter_with(timeout_s=0.3))
    [made] = acct.made(1)
    found = await acct.adapter.find_published(ctx, ctx.containers[0], 0, None)
    assert found == PublishedContainer(made["id"], made["response"]["permalink"])
    assert len(requests_of(acct, "media")) == 1 and requests_of(acct, "user_media")


async def test_faults_on_the_container_step(acct: Publishing) -> None:
    ref = acct.media.add(jpeg())
    acct.sim.fault("instagram", "media", "rate_limit", retry_after=11)
    with pytest.raises(RateLimited) as limited:
        await acct.publish(acct.context("hi", media={0: [ref]}))
    assert limited.value.retry_after_s == 11
    acct.sim.fault("instagram", "media", "server_error")
    with pytest.raises(TransientError) as outage:
        await acct.publish(acct.context("hi", media={0: [ref]}))
    assert "500" in outage.value.message and acct.posts() == [] and acct.stage.get(0) == {}


async def test_nothing_is_published_without_media(acct: Publishing) -> None:
    with pytest.raises(ContentRejected) as raised:
        await acct.publish(acct.context("words alone"))
    assert raised.value.code == "invalid_content" and requests_of(acct, "media") == []
