"""What a TikTok post may be, checked at create: a video or up to 35 photos (never text alone, never
both), the Content Posting API's formats, sizes, durations, frame rates and pixel bounds, a caption
of 2200 (a photo post's description 4000) UTF-16 units, one container, and `config.tiktok` with the
privacy level TikTok makes the user choose."""

from __future__ import annotations

from functools import cache
from typing import Any

from crier.contracts.common import Container, MediaRef
from crier.platforms import publishing
from crier.platforms.tiktok import TikTokRules, rules
from tests.support.media_files import jpeg, media_ref, mp4, png

PUBLIC = {"privacy_level": "PUBLIC_TO_EVERYONE"}


@cache
def _video() -> bytes:
    return mp4(360, 640, seconds=0.5)


def video(**over: Any) -> MediaRef:
    return media_ref(_video(), **({"duration_s": 15.0} | over))


def photo(**over: Any) -> MediaRef:
    return media_ref(jpeg(1080, 1920), **over)


def codes(
    *media: MediaRef, text: str = "a post", config: Any = PUBLIC, more: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    containers = [Container(content=text, media=list(media)), *(Container(content=t) for t in more)]
    return [(p.field, p.code) for p in rules.check(containers, config)]


def test_tiktok_publishes_with_its_own_rules() -> None:
    assert isinstance(publishing.rules("tiktok"), TikTokRules) and publishing.publishes("tiktok")


def test_valid_posts_pass() -> None:
    assert codes(video()) == []
    assert codes(video(), text="") == []
    assert codes(*(photo() for _ in range(35))) == []
    assert codes(media_ref(jpeg(1920, 1080), mime="image/webp")) == []
    assert codes(video(), config={**PUBLIC, "disable_comment": True, "video_cover_timestamp_ms": 500}) == []
    assert (
        codes(photo(), photo(), config={"privacy_level": "SELF_ONLY", "title": "t" * 90, "photo_cover_index": 1}) == []
    )


def test_media_is_required() -> None:
    assert codes() == [("containers[0].media", "media_required")]


def test_the_privacy_level_is_required_and_tiktoks() -> None:
    assert codes(video(), config={}) == [("config.tiktok", "invalid_config")]
    assert codes(video(), config={"privacy_level": "PUBLIC"}) == [("config.tiktok", "invalid_config")]
    assert codes(video(), config={**PUBLIC, "visibility": "x"}) == [("config.tiktok", "invalid_config")]


def test_the_photo_cover_is_one_of_the_photos() -> None:
    assert codes(photo(), photo(), config={**PUBLIC, "photo_cover_index": 2}) == [
        ("config.tiktok.photo_cover_index", "invalid_config")
    ]


def test_one_container() -> None:
    assert codes(video(), more=("a comment",)) == [("containers[1]", "first_comment_unsupported")]


def test_a_caption_of_2200_and_a_photo_description_of_4000() -> None:
    assert codes(video(), text="👍" * 1100) == []
    assert codes(video(), text="👍" * 1101) == [("containers[0].content", "too_long")]
    assert codes(photo(), text="d" * 4000) == []
    assert codes(photo(), text="d" * 4001) == [("containers[0].content", "too_long")]


def test_at_most_35_photos() -> None:
    assert codes(*(photo() for _ in range(36))) == [("containers[0].media", "too_many_media")]


def test_one_video_never_mixed_with_photos() -> None:
    assert codes(video(), video()) == [("containers[0].media", "too_many_media")]
    assert codes(video(), photo()) == [("containers[0].media", "media_mix_unsupported")]


def test_formats() -> None:
    assert codes(media_ref(png(400, 400))) == [("containers[0].media[0]", "media_format_unsupported")]
    assert codes(video(mime="video/x-msvideo")) == [("containers[0].media[0]", "media_format_unsupported")]
    assert codes(media_ref(jpeg(48, 48), type="gif", mime="image/gif")) == [
        ("containers[0].media[0]", "media_type_unsupported")
    ]


def test_sizes() -> None:
    assert codes(photo(size_bytes=21 * 1024 * 1024)) == [("containers[0].media[0]", "media_too_large")]
    assert codes(video(size_bytes=5 * 1024**3)) == [("containers[0].media[0]", "media_too_large")]


def test_video_duration() -> None:
    assert codes(video(duration_s=2.9)) == [("containers[0].media[0]", "media_duration")]
    assert codes(video(duration_s=601.0)) == [("containers[0].media[0]", "media_duration")]


def test_video_frame_rate() -> None:
    assert codes(video(frame_rate=20.0)) == [("containers[0].media[0]", "media_frame_rate")]
    assert codes(video(frame_rate=120.0)) == [("containers[0].media[0]", "media_frame_rate")]


def test_pixel_bounds() -> None:
    assert codes(video(width=320, height=640)) == [("containers[0].media[0]", "media_dimensions")]
    assert codes(video(width=5000, height=2000)) == [("containers[0].media[0]", "media_dimensions")]
    assert codes(photo(width=1440, height=2560)) == [("containers[0].media[0]", "media_dimensions")]


def test_alt_text_is_not_tiktoks_and_not_a_problem() -> None:
    assert codes(photo(alt_text="a" * 5000)) == []


def test_every_problem_at_once() -> None:
    found = codes(video(duration_s=1.0, frame_rate=15.0), photo(), text="x" * 2201, config={})
    assert sorted(found) == sorted(
        [
            ("config.tiktok", "invalid_config"),
            ("containers[0].media", "media_mix_unsupported"),
            ("containers[0].media[0]", "media_duration"),
            ("containers[0].media[0]", "media_frame_rate"),
            ("containers[0].content", "too_long"),
        ]
    )
