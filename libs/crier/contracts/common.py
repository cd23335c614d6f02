from __future__ import annotations

from datetime import datetime
from typing import Literal, TypeVar, get_args

import msgspec

Mode = Literal["live", "test"]
MODES: tuple[Mode, ...] = get_args(Mode)

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
PLATFORMS: tuple[Platform, ...] = get_args(Platform)
# Platforms whose accounts live on a server the user chose (a Mastodon instance, a Bluesky PDS),
# not on the platform's one host.
PER_INSTANCE: frozenset[Platform] = frozenset({"mastodon", "bluesky"})

# A post's status is the roll-up of its targets' (see the gateway's Post aggregate).
PostStatus = Literal["draft", "scheduled", "queued", "publishing", "published", "partial", "failed", "canceled"]
POST_STATUSES: tuple[PostStatus, ...] = get_args(PostStatus)

# pending → queued → publishing → published | retrying (→ publishing) | failed | dead; canceled
# from pending or queued.
TargetStatus = Literal["pending", "queued", "publishing", "retrying", "published", "failed", "dead", "canceled"]
TARGET_STATUSES: tuple[TargetStatus, ...] = get_args(TargetStatus)

Choice = TypeVar("Choice", bound=str)


def one_of(raw: str, choices: tuple[Choice, ...]) -> Choice | None:
    """`raw` as one of a Literal's values (`MODES`, `PLATFORMS`, …), typed as such; None if it is none."""
    return next((c for c in choices if c == raw), None)


# What a media object is, from its bytes (never the file name or the client's Content-Type).
MediaType = Literal["image", "gif", "video"]
MEDIA_TYPES: tuple[MediaType, ...] = get_args(MediaType)


class MediaRef(msgspec.Struct, kw_only=True, frozen=True):
    """One media object a container carries, with what the gateway found in its bytes when the
    post was made. Platform rules and adapters work from these facts; the bytes themselves are read
    from the media store under `key` (or pulled by a platform from a signed URL)."""

    id: str
    alt_text: str | None = None
    # The fields below are filled in by the gateway at create; a ref that names only an `id` (an
    # older event) has the defaults, and the publisher refuses to deliver media it knows nothing of.
    type: MediaType | None = None
    mime: str = ""
    size_bytes: int = 0
    sha256: str = ""
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    frame_rate: float | None = None
    codec: str | None = None
    # The object's name in the media store.
    key: str = ""

    @property
    def aspect_ratio(self) -> float | None:
        """Width over height, when both are known."""
        if not self.width or not self.height:
            return None
        return self.width / self.height


class Container(msgspec.Struct, kw_only=True, frozen=True):
    """One piece of a post: index 0 is the main post, 1 the first comment, later ones replies."""

    content: str
    media: list[MediaRef] = []


class AccountLimits(msgspec.Struct, kw_only=True, frozen=True):
    """What one account may post where accounts of one platform differ, as connect last read it from
    the platform. A None is the platform's own default (and what an account connected before Crier
    read any of this holds)."""

    # The longest status the account's Mastodon instance takes (its `configuration.statuses.max_characters`).
    max_characters: int | None = None


class Message(msgspec.Struct, kw_only=True, frozen=True):
    """Fields every event and command carries."""

    id: str
    occurred_at: datetime
    org_id: str
    mode: Mode
