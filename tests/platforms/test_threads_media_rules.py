"""What media a Threads post may carry, checked before it is stored: up to 20 images and videos
mixed (a carousel), JPEG or PNG images up to 8 MB and 10:1, MP4 or MOV videos up to 1 GB and
5 minutes at 23-60 frames a second, alt text; a post of media alone needs no text."""

from __future__ import annotations

from typing import Any

import pytest

from crier.contracts.common import Container, MediaRef
from crier.platforms.threads import rules
from tests.support.media_files import gif, jpeg, media_ref, mp4, png

MB = 1024 * 1024
IMAGE = jpeg(640, 480)
VIDEO = mp4(seconds=1.0)


def _problems(*media: MediaRef, text: str = "caption", index: int = 0) -> list[tuple[str, str]]:
    containers = [Container(content="root")] * index + [Container(content=text, media=list(media))]
    return [(p.field, p.code) for p in rules.check(containers, None)]


def test_images_and_videos_mixed_up_to_twenty_pass() -> None:
    media = [media_ref(IMAGE, alt_text="a field"), media_ref(png(100, 100)), media_ref(VIDEO)] * 6
    assert _problems(*media[:18]) == []
    assert _problems(media_ref(IMAGE), index=2) == []  # a reply in the thread takes media too


def test_a_post_of_media_alone_needs_no_text() -> None:
    assert _problems(media_ref(IMAGE), text="") == []
    assert _problems(text="") == [("containers[0].content", "empty")]


@pytest.mark.parametrize(
    ("data", "over", "field", "code"),
    [
        (gif(), {}, "containers[0].media[0]", "media_type_unsupported"),
        (IMAGE, {"mime": "image/webp"}, "containers[0].media[0]", "media_format_unsupported"),
        (IMAGE, {"size_bytes": 8 * MB + 1}, "containers[0].media[0]", "media_too_large"),
        (IMAGE, {"width": 1100, "height": 100}, "containers[0].media[0]", "media_aspect_ratio"),
        (IMAGE, {"width": 100, "height": 1100}, "containers[0].media[0]", "media_aspect_ratio"),
        (IMAGE, {"alt_text": "x" * 1001}, "containers[0].media[0].alt_text", "alt_text_too_long"),
        (VIDEO, {"mime": "video/webm"}, "containers[0].media[0]", "media_format_unsupported"),
        (VIDEO, {"size_bytes": 1024 * MB + 1}, "containers[0].media[0]", "media_too_large"),
        (VIDEO, {"duration_s": 301.0}, "containers[0].media[0]", "media_duration"),
        (VIDEO, {"frame_rate": 120.0}, "containers[0].media[0]", "media_frame_rate"),
        (VIDEO, {"frame_rate": 15.0}, "containers[0].media[0]", "media_frame_rate"),
    ],
)
def test_each_media_rule(data: bytes, over: dict[str, Any], field: str, code: str) -> None:
    assert _problems(media_ref(data, **over)) == [(field, code)]


def test_more_than_twenty_items_are_refused() -> None:
    assert _problems(*[media_ref(IMAGE)] * 21) == [("containers[0].media", "too_many_media")]


def test_every_problem_at_once() -> None:
    found = _problems(media_ref(gif()), media_ref(VIDEO, duration_s=400.0), text="x" * 501)
    assert sorted(found) == [
        ("containers[0].content", "too_long"),
        ("containers[0].media[0]", "media_type_unsupported"),
        ("containers[0].media[1]", "media_duration"),
    ]
