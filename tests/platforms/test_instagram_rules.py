"""What an Instagram post may be, checked before it is stored: media required, a feed post of one
JPEG image (4:5 to 1.91:1, 8 MB), one video or a carousel of up to 10, a reel of one video, a story
of one image or video and no caption; 2,200 characters, 30 hashtags and 20 @mentions in a caption;
a first comment of text and no thread; `config.instagram` as Instagram documents it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crier.contracts.common import Container, MediaRef
from crier.platforms import publishing
from crier.platforms.base import PlatformAdapter, PlatformSettings
from crier.platforms.instagram import InstagramRules, rules
from tests.support.media_files import gif, jpeg, media_ref, mp4, png

MB = 1024 * 1024
IMAGE = media_ref(jpeg(1080, 1080), alt_text="a square")
VIDEO = media_ref(mp4(360, 640, seconds=3.5))


def _problems(*texts: str, media: list[MediaRef] | None = None, config: Any = None) -> list[tuple[str, str]]:
    containers = [Container(content=t, media=media if i == 0 and media else []) for i, t in enumerate(texts)]
    return [(p.field, p.code) for p in rules.check(containers, config)]


async def test_instagram_publishes_with_its_own_rules() -> None:
    assert isinstance(publishing.rules("instagram"), InstagramRules) and publishing.publishes("instagram")
    assert publishing.rules("instagram").media.required
    async with httpx.AsyncClient() as http:
        adapter = publishing.adapter("instagram", http, PlatformSettings())
    assert isinstance(adapter, PlatformAdapter) and adapter.needs_account and not adapter.transactional


def test_valid_posts_pass() -> None:
    assert _problems("caption", media=[IMAGE]) == []
    assert _problems("", media=[IMAGE]) == []  # a caption is optional
    assert _problems("caption", "a first comment", media=[IMAGE, VIDEO] * 5) == []
    assert _problems("watch", media=[VIDEO], config={"kind": "reel", "share_to_feed": True}) == []
    assert _problems("", media=[media_ref(jpeg(540, 960))], config={"kind": "story"}) == []
    assert _problems("", media=[VIDEO], config={"kind": "story"}) == []


def test_media_is_required() -> None:
    assert _problems("words alone") == [("containers[0].media", "media_required")]


@pytest.mark.parametrize(
    ("ref", "field", "code"),
    [
        (media_ref(png(1080, 1080)), "containers[0].media[0]", "media_format_unsupported"),
        (media_ref(gif()), "containers[0].media[0]", "media_type_unsupported"),
        (media_ref(jpeg(1080, 1080), size_bytes=8 * MB + 1), "containers[0].media[0]", "media_too_large"),
        (media_ref(jpeg(540, 960)), "containers[0].media[0]", "media_aspect_ratio"),
        (media_ref(jpeg(1000, 500)), "containers[0].media[0]", "media_aspect_ratio"),
        (media_ref(jpeg(), alt_text="x" * 1001), "containers[0].media[0].alt_text", "alt_text_too_long"),
        (media_ref(mp4(seconds=1.0)), "containers[0].media[0]", "media_duration"),
        (media_ref(mp4(), duration_s=901.0), "containers[0].media[0]", "media_duration"),
        (media_ref(mp4(), size_bytes=300 * MB + 1, duration_s=4.0), "containers[0].media[0]", "media_too_large"),
        (media_ref(mp4(), frame_rate=15.0, duration_s=4.0), "containers[0].media[0]", "media_frame_rate"),
        (media_ref(mp4(), frame_rate=120.0, duration_s=4.0), "containers[0].media[0]", "media_frame_rate"),
        (media_ref(mp4(), mime="video/webm"), "containers[0].media[0]", "media_format_unsupported"),
    ],
)
def test_each_media_rule_of_a_feed_post(ref: MediaRef, field: str, code: str) -> None:
    assert _problems("caption", media=[ref]) == [(field, code)]


def test_a_carousel_takes_at_most_ten() -> None:
    assert _problems("album", media=[IMAGE] * 11) == [("containers[0].media", "too_many_media")]


def test_a_reel_is_one_video() -> None:
    reel = {"kind": "reel"}
    assert _problems("r", media=[IMAGE], config=reel) == [("containers[0].media[0]", "media_type_unsupported")]
    assert set(_problems("r", media=[VIDEO, VIDEO], config=reel)) == {("containers[0].media", "too_many_media")}


def test_a_story_is_one_item_without_caption_or_comment() -> None:
    story = {"kind": "story"}
    assert _problems("words", media=[IMAGE], config=story) == [("containers[0].content", "caption_unsupported")]
    assert _problems("", "comment", media=[IMAGE], config=story) == [("containers[1]", "first_comment_unsupported")]
    long_video = media_ref(mp4(), duration_s=61.0)
    assert _problems("", media=[long_video], config=story) == [("containers[0].media[0]", "media_duration")]
    assert set(_problems("", media=[IMAGE, IMAGE], config=story)) == {("containers[0].media", "too_many_media")}
    assert _problems("", media=[IMAGE], config={**story, "collaborators": ["a"]}) == [
        ("config.instagram.collaborators", "invalid_config")
    ]


def test_the_caption_limits() -> None:
    assert _problems("x" * 2201, media=[IMAGE]) == [("containers[0].content", "too_long")]
    tags = " ".join(f"#t{i}" for i in range(31))
    assert _problems(tags, media=[IMAGE]) == [("containers[0].content", "too_many_tags")]
    mentions = " ".join(f"@user{i}" for i in range(21))
    assert _problems(mentions, media=[IMAGE]) == [("containers[0].content", "too_many_tags")]
    assert _problems(" ".join(f"#t{i}" for i in range(30)), media=[IMAGE]) == []


def test_a_comment_is_text_and_there_is_no_thread() -> None:
    with_media = [Container(content="c", media=[IMAGE]), Container(content="comment", media=[IMAGE])]
    assert [(p.field, p.code) for p in rules.check(with_media, None)] == [("containers[1].media", "media_unsupported")]
    assert _problems("c", "comment", "more", media=[IMAGE]) == [("containers[2]", "thread_unsupported")]


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"share_to_feed": True}, "config.instagram.share_to_feed"),
        ({"collaborators": ["a", "b", "c", "d"]}, "config.instagram.collaborators"),
        ({"kind": "carousel"}, "config.instagram"),
        ({"user_tags": []}, "config.instagram"),
    ],
)
def test_config_instagram_documents(config: dict[str, Any], field: str) -> None:
    assert _problems("caption", media=[IMAGE], config=config) == [(field, "invalid_config")]
