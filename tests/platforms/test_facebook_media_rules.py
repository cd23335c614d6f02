"""What media a Facebook Page's post may carry, checked before it is stored: up to 10 photos (JPEG,
PNG, GIF, WebP, BMP, TIFF; 10 MB each) or one video alone (10 GB, 240 minutes), alt text, media
alone without text, no link beside media, comments of text only."""

from __future__ import annotations

from typing import Any

import pytest

from crier.contracts.common import Container, MediaRef
from crier.platforms.facebook import rules
from tests.support.media_files import gif, jpeg, media_ref, mp4, png

MB = 1024 * 1024
PHOTO = media_ref(jpeg(), alt_text="a photo")
VIDEO = media_ref(mp4(seconds=1.0))


def _problems(*containers: Container, config: Any = None) -> list[tuple[str, str]]:
    return [(p.field, p.code) for p in rules.check(list(containers), config)]


def test_photos_gifs_and_a_video_alone_pass() -> None:
    photos = [PHOTO, media_ref(png()), media_ref(gif()), media_ref(jpeg(), mime="image/webp")] * 2
    assert _problems(Container(content="", media=[*photos, PHOTO, PHOTO])) == []
    assert _problems(Container(content="a film", media=[VIDEO]), Container(content="a comment")) == []


@pytest.mark.parametrize(
    ("ref", "field", "code"),
    [
        (media_ref(jpeg(), mime="image/heic"), "containers[0].media[0]", "media_format_unsupported"),
        (media_ref(jpeg(), size_bytes=10 * MB + 1), "containers[0].media[0]", "media_too_large"),
        (media_ref(gif(), size_bytes=10 * MB + 1), "containers[0].media[0]", "media_too_large"),
        (media_ref(jpeg(), alt_text="x" * 1001), "containers[0].media[0].alt_text", "alt_text_too_long"),
        (media_ref(mp4(), duration_s=240 * 60 + 1.0), "containers[0].media[0]", "media_duration"),
        (media_ref(mp4(), size_bytes=10 * 1024 * MB + 1), "containers[0].media[0]", "media_too_large"),
        (media_ref(mp4(), mime="video/webm"), "containers[0].media[0]", "media_format_unsupported"),
    ],
)
def test_each_media_rule(ref: MediaRef, field: str, code: str) -> None:
    assert _problems(Container(content="post", media=[ref])) == [(field, code)]


def test_at_most_ten_photos() -> None:
    assert _problems(Container(content="", media=[PHOTO] * 11)) == [("containers[0].media", "too_many_media")]


def test_a_video_goes_alone() -> None:
    assert _problems(Container(content="", media=[VIDEO, PHOTO])) == [("containers[0].media", "media_mix_unsupported")]
    assert ("containers[0].media", "too_many_media") in _problems(Container(content="", media=[VIDEO, VIDEO]))


def test_comments_carry_no_media() -> None:
    assert _problems(Container(content="post"), Container(content="comment", media=[PHOTO])) == [
        ("containers[1].media", "media_unsupported")
    ]


def test_a_post_with_media_shares_no_link() -> None:
    found = _problems(Container(content="", media=[PHOTO]), config={"link": "https://example.com"})
    assert found == [("config.facebook.link", "invalid_config")]
    assert _problems(Container(content="text"), config={"link": "https://example.com"}) == []


def test_text_is_needed_without_media() -> None:
    assert _problems(Container(content=" ")) == [("containers[0].content", "empty")]
