from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

Mode = Literal["live", "test"]
Platform = Literal[
    "x",
    "linkedin",
    "facebook",
    "instagram",
    "youtube",
    "threads",
    "bluesky",
    "mastodon",
    "tiktok",
    "pinterest",
    "google_business",
]
PLATFORMS: tuple[str, ...] = (
    "x",
    "linkedin",
    "facebook",
    "instagram",
    "youtube",
    "threads",
    "bluesky",
    "mastodon",
    "tiktok",
    "pinterest",
    "google_business",
)


class MediaRef(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    alt_text: str | None = None


class Container(msgspec.Struct, kw_only=True, frozen=True):
    """One piece of a post: index 0 is the main post, 1 the first comment, later ones replies."""

    content: str
    media: list[MediaRef] = []


class Message(msgspec.Struct, kw_only=True, frozen=True):
    """Fields every event and command carries."""

    id: str
    occurred_at: datetime
    org_id: str
    mode: Mode
