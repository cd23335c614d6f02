"""What a YouTube upload may be (YouTube Data API v3, `videos.insert` and `commentThreads.insert`).

- Container 0 is the video: exactly one, required (YouTube publishes nothing else), up to 256 GB
  (the `maxSize` of `videos.insert`) and 12 hours (YouTube's limit for verified channels), any video
  format Crier can read (YouTube takes `video/*`). Its text is the description: optional, at most
  5000 bytes of UTF-8, without `<` or `>`.
- Container 1 is a first comment (a comment thread on the video): text only, up to 10,000
  characters. No thread of replies.
- `config.youtube.title` is required (YouTube refuses a video without one): at most 100
  characters, without `<` or `>`. Tags count as YouTube counts them: 500 characters in all, the
  commas between tags included, and a tag with a space counts its quotation marks.
- `made_for_kids` is always sent (`status.selfDeclaredMadeForKids`, false unless set): YouTube
  requires every upload to say whether it is made for children (COPPA).
- `publish_at` schedules a private video to go public, so it needs `privacy_status: private`.
- A Short (`shorts: true`) is vertical or square (width over height at most 1) and at most
  3 minutes long; `#Shorts` goes into its description unless the title or description has it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from crier.contracts.common import Container
from crier.kit.errors import Problem
from crier.platforms.media_rules import NO_MEDIA, MediaLimits
from crier.platforms.rules import Rules

GB = 1024**3
MAX_TITLE = 100
MAX_DESCRIPTION_BYTES = 5000
MAX_TAGS = 500
MAX_COMMENT = 10_000
SHORTS_MAX_S = 180.0
SHORTS_TAG = "#Shorts"
_ANGLES = re.compile(r"[<>]")
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")
CategoryId = Annotated[str, msgspec.Meta(pattern=r"^[0-9]+$")]

VIDEO = MediaLimits(
    max_items=1,
    types=frozenset({"video"}),
    required=True,
    video_mimes=frozenset(),
    video_max_bytes=256 * GB,
    max_duration_s=12 * 3600,
)


class YouTubeConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    title: str | None = None
    tags: list[str] = []
    # A video category's id (`videoCategories.list`): "22" is People & Blogs.
    category_id: CategoryId | None = None
    privacy_status: Literal["public", "unlisted", "private"] = "public"
    made_for_kids: bool = False
    notify_subscribers: bool = True
    publish_at: datetime | None = None
    default_language: str | None = None
    shorts: bool = False


def tags_length(tags: Sequence[str]) -> int:
    """The tags' length as YouTube counts it against its 500 characters."""
    return sum(len(t) + (2 if " " in t else 0) for t in tags) + max(len(tags) - 1, 0)


def description(text: str, options: YouTubeConfig) -> str:
    """The description sent: the container's text, with `#Shorts` for a Short that lacks it."""
    if not options.shorts or SHORTS_TAG.lower() in f"{options.title or ''} {text}".lower():
        return text
    return f"{text}\n\n{SHORTS_TAG}" if text.strip() else SHORTS_TAG


def video_resource(text: str, options: YouTubeConfig) -> dict[str, Any]:
    """The `video` resource `videos.insert` is sent with (parts snippet and status)."""
    snippet: dict[str, Any] = {"title": options.title or "", "description": description(text, options)}
    if options.tags:
        snippet["tags"] = list(options.tags)
    if options.category_id is not None:
        snippet["categoryId"] = options.category_id
    if options.default_language is not None:
        snippet["defaultLanguage"] = options.default_language
    status: dict[str, Any] = {
        "privacyStatus": options.privacy_status,
        "selfDeclaredMadeForKids": options.made_for_kids,
    }
    if options.publish_at is not None:
        status["publishAt"] = options.publish_at.isoformat().replace("+00:00", "Z")
    return {"snippet": snippet, "status": status}


class YouTubeRules(Rules):
    platform = "youtube"
    config_type = YouTubeConfig
    first_comment = True
    text_required = False
    media = VIDEO
    reply_media = NO_MEDIA

    def check_text(self, index: int, container: Container) -> list[Problem]:
        field = f"containers[{index}].content"
        problems = super().check_text(index, container)
        if index == 0:
            size = len(container.content.encode())
            if size > MAX_DESCRIPTION_BYTES:
                problems.append(Problem(field, "too_long", f"{size} bytes; a description takes at most 5000"))
            if _ANGLES.search(container.content):
                problems.append(Problem(field, "invalid_characters", "YouTube takes no < or > in a description"))
        elif len(container.content) > MAX_COMMENT:
            problems.append(
                Problem(field, "too_long", f"{len(container.content)} characters; a comment takes at most 10000")
            )
        return problems

    def check_config(self, config: Any, containers: Sequence[Container]) -> list[Problem]:
        problems: list[Problem] = []

        def refuse(where: str, message: str) -> None:
            problems.append(Problem(f"config.youtube.{where}", "invalid_config", message))

        title = config.title
        if title is None or not title.strip():
            refuse("title", "YouTube needs a title for the video")
        elif len(title) > MAX_TITLE:
            refuse("title", f"{len(title)} characters; at most {MAX_TITLE}")
        elif _ANGLES.search(title):
            refuse("title", "YouTube takes no < or > in a title")
        if tags_length(config.tags) > MAX_TAGS:
            refuse("tags", f"{tags_length(config.tags)} characters as YouTube counts tags; at most {MAX_TAGS}")
        if config.publish_at is not None and config.privacy_status != "private":
            refuse("publish_at", "a scheduled video is private until it goes public: set privacy_status private")
        if config.default_language is not None and not _LANGUAGE_TAG.fullmatch(config.default_language):
            refuse("default_language", f"{config.default_language!r} is not a BCP 47 language tag")
        if containers:
            problems += _check_description(config, containers[0])
            if config.shorts:
                problems += _check_short(containers[0])
        return problems


def _check_description(config: YouTubeConfig, container: Container) -> list[Problem]:
    """The `#Shorts` Crier adds must fit in the description too."""
    size = len(description(container.content, config).encode())
    if size > MAX_DESCRIPTION_BYTES >= len(container.content.encode()):
        return [Problem("containers[0].content", "too_long", f"{size} bytes with #Shorts; at most 5000")]
    return []


def _check_short(container: Container) -> list[Problem]:
    problems = []
    for i, item in enumerate(container.media):
        field = f"containers[0].media[{i}]"
        ratio = item.aspect_ratio
        if ratio is not None and ratio > 1 + 1e-3:
            problems.append(
                Problem(field, "media_aspect_ratio", f"aspect ratio {ratio:.3f}; a Short is vertical or square")
            )
        if item.duration_s is not None and item.duration_s > SHORTS_MAX_S:
            problems.append(Problem(field, "media_duration", f"{item.duration_s:.1f} s; a Short is at most 180 s"))
    return problems


rules = YouTubeRules()
