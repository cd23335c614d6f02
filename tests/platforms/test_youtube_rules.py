"""What a YouTube upload may be, checked before it is stored: exactly one video (required), its
description within 5000 bytes, a title in `config.youtube` as YouTube takes it, tags as YouTube
counts them, Shorts vertical and short, a first comment without media, and no thread."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crier.contracts.common import Container, MediaRef
from crier.platforms import publishing
from crier.platforms.base import PlatformAdapter, PlatformSettings
from crier.platforms.youtube_rules import YouTubeConfig, YouTubeRules, rules, tags_length, video_resource
from tests.support.media_files import media_ref, mp4, png

TITLE = {"title": "Baking bread"}


@pytest.fixture(scope="module")
def video() -> MediaRef:
    return media_ref(mp4(320, 240, seconds=1, fps=10))


@pytest.fixture(scope="module")
def vertical() -> MediaRef:
    return media_ref(mp4(180, 320, seconds=1, fps=10))


def _codes(*containers: Container, config: Any = TITLE) -> list[tuple[str, str]]:
    return [(p.field, p.code) for p in rules.check(list(containers), config)]


def _video(text: str, *media: MediaRef) -> Container:
    return Container(content=text, media=list(media))


async def test_youtube_publishes_with_its_own_rules() -> None:
    assert isinstance(publishing.rules("youtube"), YouTubeRules) and publishing.publishes("youtube")
    async with httpx.AsyncClient() as http:
        adapter = publishing.adapter("youtube", http, PlatformSettings())
    assert isinstance(adapter, PlatformAdapter) and adapter.needs_account and not adapter.transactional


def test_a_video_with_a_title_passes_and_needs_no_description(video: MediaRef) -> None:
    assert _codes(_video("How we bake", video)) == []
    assert _codes(_video("", video)) == []
    assert _codes(_video("video", video), Container(content="first comment")) == []


def test_a_video_is_required_and_only_one(video: MediaRef) -> None:
    assert _codes(Container(content="text only")) == [("containers[0].media", "media_required")]
    assert set(_codes(_video("two", video, video))) == {("containers[0].media", "too_many_media")}
    assert _codes(_video("an image", media_ref(png()))) == [("containers[0].media[0]", "media_type_unsupported")]


def test_up_to_256_gb_and_12_hours(video: MediaRef) -> None:
    big = media_ref(mp4(320, 240, seconds=1, fps=10), size_bytes=256 * 1024**3 + 1)
    assert _codes(_video("big", big)) == [("containers[0].media[0]", "media_too_large")]
    long = media_ref(mp4(320, 240, seconds=1, fps=10), duration_s=12 * 3600 + 1)
    assert _codes(_video("long", long)) == [("containers[0].media[0]", "media_duration")]


def test_the_description_is_5000_bytes_without_angle_brackets(video: MediaRef) -> None:
    assert _codes(_video("x" * 5000, video)) == []
    assert _codes(_video("é" * 2501, video)) == [("containers[0].content", "too_long")]
    assert _codes(_video("a <b> tag", video)) == [("containers[0].content", "invalid_characters")]


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({}, "title"),
        ({"title": "  "}, "title"),
        ({"title": "x" * 101}, "title"),
        ({"title": "a < b"}, "title"),
        ({**TITLE, "tags": ["x" * 250, "y" * 250]}, "tags"),
        ({**TITLE, "publish_at": "2031-01-01T10:00:00Z"}, "publish_at"),
        ({**TITLE, "default_language": "english!"}, "default_language"),
    ],
)
def test_options_youtube_refuses(video: MediaRef, config: dict[str, Any], problem: str) -> None:
    assert _codes(_video("v", video), config=config) == [(f"config.youtube.{problem}", "invalid_config")]


@pytest.mark.parametrize(
    "config",
    [
        {**TITLE, "privacy_status": "secret"},
        {**TITLE, "category_id": "music"},
        {**TITLE, "made_for_kids": "no"},
        {**TITLE, "isShort": True},
    ],
)
def test_options_that_are_not_youtube_s_are_invalid(video: MediaRef, config: dict[str, Any]) -> None:
    assert _codes(_video("v", video), config=config) == [("config.youtube", "invalid_config")]


def test_tags_count_commas_and_the_quotes_of_tags_with_spaces(video: MediaRef) -> None:
    assert tags_length(["Foo-Baz"]) == 7 and tags_length(["Foo Baz"]) == 9 and tags_length(["a", "b"]) == 3
    fits = ["x" * 249, "y" * 250]  # 249 + 1 + 250
    assert _codes(_video("v", video), config={**TITLE, "tags": fits}) == []
    spaced = ["x y" * 83 + "z", "w" * 247]  # 250 + 2 quotes + 1 + 247 = 500
    assert tags_length(spaced) == 500 and _codes(_video("v", video), config={**TITLE, "tags": spaced}) == []
    over = [spaced[0], "w" * 248]
    assert _codes(_video("v", video), config={**TITLE, "tags": over}) == [("config.youtube.tags", "invalid_config")]


def test_a_scheduled_video_is_private(video: MediaRef) -> None:
    config = {**TITLE, "privacy_status": "private", "publish_at": "2031-01-01T10:00:00Z"}
    assert _codes(_video("later", video), config=config) == []


def test_a_short_is_vertical_and_at_most_3_minutes(video: MediaRef, vertical: MediaRef) -> None:
    shorts = {**TITLE, "shorts": True}
    assert _codes(_video("short", vertical), config=shorts) == []
    assert _codes(_video("wide", video), config=shorts) == [("containers[0].media[0]", "media_aspect_ratio")]
    long = media_ref(mp4(180, 320, seconds=1, fps=10), duration_s=181)
    assert _codes(_video("long", long), config=shorts) == [("containers[0].media[0]", "media_duration")]
    assert _codes(_video("x" * 4995, vertical), config=shorts) == [("containers[0].content", "too_long")]


def test_a_first_comment_is_text_only_and_no_thread(video: MediaRef) -> None:
    comment_with_media = Container(content="look", media=[video])
    assert _codes(_video("v", video), comment_with_media) == [("containers[1].media", "media_unsupported")]
    assert _codes(_video("v", video), Container(content="c" * 10_001)) == [("containers[1].content", "too_long")]
    assert _codes(_video("v", video), Container(content=" ")) == [("containers[1].content", "empty")]
    assert _codes(_video("v", video), Container(content="a"), Container(content="b")) == [
        ("containers[2]", "thread_unsupported")
    ]


def test_every_problem_at_once(video: MediaRef) -> None:
    assert sorted(_codes(Container(content="<>"), Container(content=""), config={"tags": ["t" * 501]})) == [
        ("config.youtube.tags", "invalid_config"),
        ("config.youtube.title", "invalid_config"),
        ("containers[0].content", "invalid_characters"),
        ("containers[0].media", "media_required"),
        ("containers[1].content", "empty"),
    ]


def test_the_video_resource_youtube_is_sent() -> None:
    options = YouTubeConfig(title="T", tags=["a"], category_id="22", default_language="de", shorts=True)
    assert video_resource("Text", options) == {
        "snippet": {
            "title": "T",
            "description": "Text\n\n#Shorts",
            "tags": ["a"],
            "categoryId": "22",
            "defaultLanguage": "de",
        },
        "status": {"privacyStatus": "public", "selfDeclaredMadeForKids": False},
    }
    tagged = YouTubeConfig(title="Fast #shorts", shorts=True)
    assert video_resource("", tagged)["snippet"]["description"] == ""
    assert video_resource("", YouTubeConfig(title="T"))["status"] == {
        "privacyStatus": "public",
        "selfDeclaredMadeForKids": False,
    }
