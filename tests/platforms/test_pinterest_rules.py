"""What a Pin may be, checked at create: media required (images, a carousel of up to five, or one
video), Pinterest's formats, sizes, video length and shape, alt text, a description of 500, one
container only, and `config.pinterest` with its required board."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from crier.contracts.common import Container, MediaRef
from crier.platforms import publishing
from crier.platforms.pinterest import PinterestRules, rules
from crier.platforms.rules import AnyText
from tests.support.media_files import gif, jpeg, media_ref, mp4, png

BOARD = {"board_id": "549755885175"}


@cache
def _video() -> bytes:
    return mp4(160, 240, seconds=0.5)


def image(**over: Any) -> MediaRef:
    return media_ref(png(200, 300), **over)


def video(**over: Any) -> MediaRef:
    return media_ref(_video(), **({"duration_s": 30.0} | over))


def codes(
    *media: MediaRef, text: str = "A pin", config: Any = BOARD, more: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    containers = [Container(content=text, media=list(media)), *(Container(content=t) for t in more)]
    return [(p.field, p.code) for p in rules.check(containers, config)]


def test_pinterest_publishes_with_its_own_rules() -> None:
    assert isinstance(publishing.rules("pinterest"), PinterestRules) and publishing.publishes("pinterest")
    assert not isinstance(publishing.rules("pinterest"), AnyText)


def test_valid_pins_pass() -> None:
    assert codes(image(alt_text="a" * 500)) == []
    assert codes(*(media_ref(jpeg(200, 300)) for _ in range(5))) == []
    assert codes(media_ref(gif())) == []
    assert codes(video()) == []
    assert codes(image(), text="") == []  # a Pin of media alone
    assert codes(image(), config={**BOARD, "board_section_id": "1", "title": "t" * 100, "link": "https://e.com"}) == []


def test_media_is_required() -> None:
    assert codes() == [("containers[0].media", "media_required")]


def test_a_board_is_required() -> None:
    assert codes(image(), config={}) == [("config.pinterest", "invalid_config")]
    assert codes(image(), config={"board_id": "my-board"}) == [("config.pinterest", "invalid_config")]


@pytest.mark.parametrize(
    "config", [{**BOARD, "title": "t" * 101}, {**BOARD, "link": "ftp://x"}, {**BOARD, "privacy": "public"}]
)
def test_the_options_are_pinterests(config: dict[str, Any]) -> None:
    assert codes(image(), config=config) == [("config.pinterest", "invalid_config")]


def test_the_description_takes_500() -> None:
    assert codes(image(), text="d" * 500) == []
    assert codes(image(), text="d" * 501) == [("containers[0].content", "too_long")]


def test_a_pin_is_one_container() -> None:
    assert codes(image(), more=("a comment",)) == [("containers[1]", "first_comment_unsupported")]


def test_at_most_five_images() -> None:
    assert codes(*(image() for _ in range(6))) == [("containers[0].media", "too_many_media")]


def test_images_and_a_video_do_not_mix() -> None:
    assert codes(image(), video()) == [("containers[0].media", "media_mix_unsupported")]


def test_one_video() -> None:
    assert codes(video(), video()) == [("containers[0].media", "too_many_media")]


def test_formats() -> None:
    assert codes(image(mime="image/heic")) == [("containers[0].media[0]", "media_format_unsupported")]
    assert codes(video(mime="video/webm")) == [("containers[0].media[0]", "media_format_unsupported")]


def test_sizes() -> None:
    assert codes(image(size_bytes=21 * 1024 * 1024)) == [("containers[0].media[0]", "media_too_large")]
    assert codes(video(size_bytes=3 * 1024**3)) == [("containers[0].media[0]", "media_too_large")]


def test_video_length() -> None:
    assert codes(video(duration_s=3.5)) == [("containers[0].media[0]", "media_duration")]
    assert codes(video(duration_s=15 * 60 + 1)) == [("containers[0].media[0]", "media_duration")]


def test_video_shape() -> None:
    assert codes(video(width=1920, height=1000)) == [("containers[0].media[0]", "media_aspect_ratio")]
    assert codes(video(width=400, height=1000)) == [("containers[0].media[0]", "media_aspect_ratio")]


def test_alt_text_takes_500() -> None:
    assert codes(image(alt_text="a" * 501)) == [("containers[0].media[0].alt_text", "alt_text_too_long")]


def test_every_problem_at_once() -> None:
    found = codes(image(alt_text="a" * 501), video(duration_s=1.0), text="d" * 501, config={})
    assert sorted(found) == sorted(
        [
            ("config.pinterest", "invalid_config"),
            ("containers[0].media", "media_mix_unsupported"),
            ("containers[0].media[0].alt_text", "alt_text_too_long"),
            ("containers[0].media[1]", "media_duration"),
            ("containers[0].content", "too_long"),
        ]
    )
