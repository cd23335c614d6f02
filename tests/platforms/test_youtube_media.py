"""YouTube's adapter against the simulated Data API: a video goes up by resumable upload in chunks of
256 KiB multiples, a delivery after a crash resumes the saved session from YouTube's committed
range instead of uploading from zero, the video counts as published once YouTube has processed it,
a processing failure is `media_rejected`, a first comment is a comment thread, and a video whose
answer was lost is found and adopted."""

from __future__ import annotations

import io
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import av
import pytest
from PIL import Image

from crier.contracts.common import MediaRef
from crier.platforms.base import (
    ContentRejected,
    OutcomeUnknown,
    PlatformError,
    PublishContext,
    RateLimited,
    StillProcessing,
    TransientError,
)
from crier.platforms.youtube_upload import CHUNK_UNIT, YouTubeAdapter
from tests.support.media_files import mp4

from .conftest import Flow
from .publishing import HostedMedia, Publishing, SavedStage, connect_for_publishing

YT = "youtube"
TITLE = {"title": "Baking bread at dawn"}


@pytest.fixture
async def yt(flow: Flow) -> Publishing:
    return await connect_for_publishing(flow, YT)


@pytest.fixture(scope="module")
def video() -> bytes:
    return mp4(320, 240, seconds=1, fps=10)


@pytest.fixture(scope="module")
def big_video() -> bytes:
    """Random pixels, which do not compress: several chunks of 256 KiB."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for _ in range(30):
            img = Image.frombytes("RGB", (320, 240), secrets.token_bytes(320 * 240 * 3))
            for packet in stream.encode(av.VideoFrame.from_image(img)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    data = out.getvalue()
    assert len(data) > 3 * CHUNK_UNIT
    return data


class Crashing(HostedMedia):
    """The media of `source`, whose reading stops (as a killed publisher would) after `pieces`."""

    def __init__(self, source: HostedMedia, pieces: int) -> None:
        self.__dict__.update(source.__dict__)
        self.pieces = pieces

    async def chunks(self, media: MediaRef, size: int = 4 << 20) -> AsyncIterator[bytes]:
        async for i, piece in _enumerate(super().chunks(media, size)):
            if i == self.pieces:
                raise RuntimeError("publisher killed")
            yield piece


async def _enumerate(pieces: AsyncIterator[bytes]) -> AsyncIterator[tuple[int, bytes]]:
    i = 0
    async for piece in pieces:
        yield i, piece
        i += 1


def _calls(yt: Publishing, endpoint: str) -> list[dict[str, Any]]:
    token = f"Bearer {yt.account.access_token}"
    return [r for r in yt.sim.requests(YT, endpoint) if r["authorization"] == token]


def _uploaded(yt: Publishing, video_id: str) -> dict[str, Any]:
    [found] = [m for m in yt.sim.media(YT) if m["id"] == video_id]
    return found


def _small_chunks(yt: Publishing) -> YouTubeAdapter:
    adapter = yt.adapter_with()
    assert isinstance(adapter, YouTubeAdapter)
    adapter.chunk_bytes = CHUNK_UNIT
    return adapter


async def _until_published(yt: Publishing, ctx: PublishContext, adapter: Any = None) -> list[Any]:
    """Publishes, moving the simulator's clock past each processing wait, as re-deliveries would."""
    for _ in range(10):
        try:
            return await yt.publish(ctx, adapter)
        except StillProcessing as waiting:
            yt.sim.advance_clock((waiting.retry_after_s or 1) + 1)
    raise AssertionError("still processing after 10 deliveries")


async def test_a_video_goes_up_resumably_with_its_metadata(yt: Publishing, video: bytes) -> None:
    ref = yt.media.add(video)
    config = {**TITLE, "tags": ["bread", "sour dough"], "category_id": "26", "privacy_status": "unlisted"}
    [published] = await yt.publish(yt.context("How we bake", config=config, media={0: [ref]}))
    [post] = yt.posts()
    assert post["request"] == {
        "snippet": {
            "title": "Baking bread at dawn",
            "description": "How we bake",
            "tags": ["bread", "sour dough"],
            "categoryId": "26",
        },
        "status": {"privacyStatus": "unlisted", "selfDeclaredMadeForKids": False},
    }
    assert published.platform_post_id == post["id"] == post["response"]["id"]
    assert published.url == f"https://www.youtube.com/watch?v={post['id']}"
    assert post["page_id"] == yt.account.network_unique_id
    [start] = _calls(yt, "upload_session")
    assert start["query"] == {"uploadType": "resumable", "part": "snippet,status"}
    uploaded = _uploaded(yt, post["id"])
    assert uploaded["sha256"] == ref.sha256 and uploaded["kind"] == "video"
    assert uploaded["extra"]["chunks"] == [[0, len(video) - 1]]
    assert yt.stage.get(0) == {"video_id": post["id"]}


async def test_chunks_are_256_kib_multiples_and_a_crash_resumes_the_session(yt: Publishing, big_video: bytes) -> None:
    ref = yt.media.add(big_video)
    adapter = _small_chunks(yt)
    ctx = yt.context("Resumed", config=TITLE, media={0: [ref]})
    with pytest.raises(RuntimeError, match="publisher killed"):
        await yt.publish(replace(ctx, media=Crashing(yt.media, pieces=1)), adapter)
    session = yt.stage.get(0)["session"]
    assert session.startswith(f"{yt.sim.base_url}/youtube/upload/youtube/v3/videos?")
    assert len(_calls(yt, "upload")) == 1  # the first chunk went; the second was being read
    [published] = await _until_published(yt, ctx, adapter)
    uploaded = _uploaded(yt, published.platform_post_id)
    chunks = uploaded["extra"]["chunks"]
    assert chunks[0] == [0, CHUNK_UNIT - 1] and chunks[1][0] == CHUNK_UNIT
    assert [c[0] for c in chunks].count(0) == 1 and chunks[-1][1] == len(big_video) - 1
    assert all((last - first + 1) % CHUNK_UNIT == 0 for first, last in chunks[:-1])
    assert uploaded["sha256"] == ref.sha256
    assert len(_calls(yt, "upload_session")) == 1
    # One PUT per chunk, and the one asking the session where it stood.
    assert len(_calls(yt, "upload")) == len(chunks) + 1


async def test_a_video_is_published_once_processed_without_a_second_upload(yt: Publishing, video: bytes) -> None:
    yt.sim.configure(YT, processing_s=120)
    ctx = yt.context("Slow", config=TITLE, media={0: [yt.media.add(video)]})
    with pytest.raises(StillProcessing) as waiting:
        await yt.publish(ctx)
    assert waiting.value.retry_after_s is not None and 100 <= waiting.value.retry_after_s <= 120
    [post] = yt.posts()
    assert yt.stage.get(0) == {"video_id": post["id"]}
    assert await yt.adapter.find_published(ctx, ctx.containers[0], 0, None) is None
    yt.sim.advance_clock(121)
    [published] = await yt.publish(ctx)
    assert published.platform_post_id == post["id"]
    assert len(_calls(yt, "upload_session")) == 1 and len(_calls(yt, "upload")) == 1
    [status] = _calls(yt, "videos")[-1:]
    assert status["query"] == {"part": "processingDetails,status", "id": post["id"]}


async def test_processing_that_fails_is_media_rejected(yt: Publishing, video: bytes) -> None:
    yt.sim.configure(YT, processing_s=10, processing_fails=True)
    ctx = yt.context("Broken", config=TITLE, media={0: [yt.media.add(video)]})
    with pytest.raises(StillProcessing):
        await yt.publish(ctx)
    yt.sim.advance_clock(11)
    with pytest.raises(ContentRejected) as raised:
        await yt.publish(ctx)
    assert raised.value.code == "media_rejected" and "conversion" in raised.value.message


async def test_bytes_that_are_no_video_fail_as_youtube_says(yt: Publishing, video: bytes) -> None:
    ref = yt.media.add(video)
    yt.media._bytes[ref.id] = b"\0" * ref.size_bytes
    with pytest.raises(ContentRejected) as raised:
        await yt.publish(yt.context("Not a video", config=TITLE, media={0: [ref]}))
    assert raised.value.code == "media_rejected" and "invalidFile" in raised.value.message


async def test_a_first_comment_is_a_comment_thread_on_the_video(yt: Publishing, video: bytes) -> None:
    ctx = yt.context("With a comment", "Recipe in the description!", config=TITLE, media={0: [yt.media.add(video)]})
    video_post, comment = await yt.publish(ctx)
    made = yt.posts()
    assert [p["id"] for p in made] == [video_post.platform_post_id, comment.platform_post_id]
    assert made[1]["request"] == {
        "snippet": {
            "videoId": video_post.platform_post_id,
            "topLevelComment": {"snippet": {"textOriginal": "Recipe in the description!"}},
        }
    }
    assert comment.url == f"https://www.youtube.com/watch?v={video_post.platform_post_id}&lc={comment.platform_post_id}"
    found = await yt.adapter.find_published(ctx, ctx.containers[1], 1, video_post)
    assert found == comment


async def test_a_short_says_so_and_links_to_shorts(yt: Publishing) -> None:
    ref = yt.media.add(mp4(180, 320, seconds=1, fps=10))
    config = {**TITLE, "shorts": True, "made_for_kids": True, "notify_subscribers": False}
    [published] = await yt.publish(yt.context("Quick one", config=config, media={0: [ref]}))
    [post] = yt.posts()
    assert post["request"]["snippet"]["description"] == "Quick one\n\n#Shorts"
    assert post["request"]["status"]["selfDeclaredMadeForKids"] is True
    assert published.url == f"https://www.youtube.com/shorts/{post['id']}"
    [start] = _calls(yt, "upload_session")
    assert start["query"]["notifySubscribers"] == "false"


async def test_youtube_refuses_a_video_without_a_title(yt: Publishing, video: bytes) -> None:
    with pytest.raises(ContentRejected) as raised:
        await yt.publish(yt.context("No title", media={0: [yt.media.add(video)]}))
    assert "title" in raised.value.message and yt.posts() == [] and yt.stage.get(0) == {}


async def test_a_lost_answer_to_the_last_chunk_is_resumed_not_reuploaded(yt: Publishing, video: bytes) -> None:
    ctx = yt.context("Lost answer", config=TITLE, media={0: [yt.media.add(video)]})
    yt.sim.fault(YT, "upload", "accept_then_timeout", hang_s=5)
    with pytest.raises(OutcomeUnknown):
        await yt.publish(ctx, yt.adapter_with(timeout_s=0.5))
    [post] = yt.made(1)  # YouTube made the video; the answer never came
    assert await yt.adapter.find_published(ctx, ctx.containers[0], 0, None) is None  # the session says
    [published] = await yt.publish(ctx)
    assert published.platform_post_id == post["id"] and len(yt.posts()) == 1
    assert len(_calls(yt, "upload")) == 2 and _uploaded(yt, post["id"])["extra"]["chunks"] == [[0, len(video) - 1]]


async def test_find_published_adopts_a_video_of_the_channel_by_title(yt: Publishing, video: bytes) -> None:
    ctx = yt.context("Adopt me", config=TITLE, media={0: [yt.media.add(video)]})
    await yt.publish(ctx)
    [post] = yt.posts()
    fresh = replace(ctx, stage=SavedStage())
    found = await yt.adapter.find_published(fresh, fresh.containers[0], 0, None)
    assert found is not None and found.platform_post_id == post["id"]
    [search] = _calls(yt, "search")
    assert search["query"] == {
        "part": "snippet",
        "forMine": "true",
        "type": "video",
        "order": "date",
        "maxResults": "50",
    }
    media = {0: list(ctx.containers[0].media)}
    other = replace(yt.context("x", config={"title": "Another title"}, media=media), stage=SavedStage())
    assert await yt.adapter.find_published(other, other.containers[0], 0, None) is None


async def test_a_rate_limit_at_the_start_and_a_server_error_mid_upload(yt: Publishing, video: bytes) -> None:
    ctx = yt.context("Busy", config=TITLE, media={0: [yt.media.add(video)]})
    yt.sim.fault(YT, "upload_session", "rate_limit", retry_after=11)
    with pytest.raises(RateLimited) as limited:
        await yt.publish(ctx)
    assert limited.value.retry_after_s == 11 and yt.stage.get(0) == {}
    yt.sim.fault(YT, "upload", "server_error")
    with pytest.raises(TransientError) as failed:
        await yt.publish(ctx)
    assert not isinstance(failed.value, OutcomeUnknown) and "session" in yt.stage.get(0)
    [published] = await yt.publish(ctx)
    assert len(_calls(yt, "upload_session")) == 2  # the one refused with a 429, and the session resumed
    assert _uploaded(yt, published.platform_post_id)["extra"]["chunks"] == [[0, len(video) - 1]]


async def test_a_session_youtube_no_longer_knows_starts_over(yt: Publishing, big_video: bytes) -> None:
    ref = yt.media.add(big_video)
    adapter = _small_chunks(yt)
    ctx = yt.context("Expired", config=TITLE, media={0: [ref]})
    with pytest.raises(RuntimeError, match="publisher killed"):
        await yt.publish(replace(ctx, media=Crashing(yt.media, pieces=1)), adapter)
    expired = yt.stage.get(0)["session"]
    body = {"error": {"code": 404, "message": "Not Found", "errors": [{"reason": "notFound"}]}}
    yt.sim.fault(YT, "upload", "status", status=404, body=body)
    [published] = await yt.publish(ctx, adapter)
    assert len(_calls(yt, "upload_session")) == 2 and yt.stage.get(0) == {"video_id": published.platform_post_id}
    chunks = _uploaded(yt, published.platform_post_id)["extra"]["chunks"]
    assert chunks[0] == [0, CHUNK_UNIT - 1] and _uploaded(yt, published.platform_post_id)["sha256"] == ref.sha256
    assert expired.split("upload_id=")[1] != _uploaded(yt, published.platform_post_id)["extra"]["session"]


async def test_a_session_answered_without_a_location_is_retried_uploading_nothing(yt: Publishing, video: bytes) -> None:
    yt.sim.fault(YT, "upload_session", "status", status=200, body={})
    with pytest.raises(PlatformError) as raised:
        await yt.publish(yt.context("Nowhere", config=TITLE, media={0: [yt.media.add(video)]}))
    assert raised.value.code == "upload_failed" and raised.value.retryable
    assert _calls(yt, "upload") == [] and yt.stage.get(0) == {}
