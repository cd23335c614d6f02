"""Google Business Profile: what media a local post may carry, and how it is sent.

A LocalPost carries its media as `media: [{"mediaFormat": "PHOTO" | "VIDEO", "sourceUrl": …}]`
(My Business API v4): Google fetches each `sourceUrl` itself when the post is created, so Crier
hands it a signed URL of the media and uploads nothing. `sourceUrl` is the only data field a local
post's MediaItem takes, so there is no alt text (a media item's `description` cannot be set on a
post's photo).

Google's limits for a post's media (Business Profile help, photo and video guidelines): one photo
or one video a post; photos JPG or PNG, 10 KB to 5 MB, at least 250 x 250 pixels; videos up to
30 seconds and 75 MB, at 720p or more. A post with media is `PROCESSING` until Google has fetched
and processed it, then `LIVE`, or `REJECTED`.
"""

from __future__ import annotations

from typing import Any

from crier.contracts.common import Container, MediaRef
from crier.kit.errors import Problem
from crier.platforms.base import MediaSource, PlatformError
from crier.platforms.media_rules import MB, MediaLimits

KB = 1024
MEDIA = MediaLimits(
    max_items=1,
    types=frozenset({"image", "video"}),
    image_mimes=frozenset({"image/jpeg", "image/png"}),
    video_mimes=frozenset({"video/mp4", "video/quicktime"}),
    image_max_bytes=5 * MB,
    video_max_bytes=75 * MB,
    min_side_px=250,
    max_duration_s=30,
)
# What `MediaLimits` cannot say: a smallest photo file, and a higher least side for video.
MIN_PHOTO_BYTES = 10 * KB
MIN_VIDEO_SIDE_PX = 720


def check_media(index: int, container: Container) -> list[Problem]:
    """Google's limits on a post's media beyond the shared ones (`MEDIA`)."""
    problems = []
    for i, item in enumerate(container.media):
        field = f"containers[{index}].media[{i}]"
        if item.type == "image" and 0 < item.size_bytes < MIN_PHOTO_BYTES:
            problems.append(
                Problem(field, "media_too_small", f"{item.size_bytes} bytes; Google needs a photo of at least 10 KB")
            )
        sides = [s for s in (item.width, item.height) if s]
        if item.type == "video" and sides and min(sides) < MIN_VIDEO_SIDE_PX:
            problems.append(
                Problem(field, "media_dimensions", f"{item.width}x{item.height}; Google needs a video of 720p or more")
            )
    return problems


def media_items(source: MediaSource | None, media: list[MediaRef]) -> list[dict[str, Any]]:
    """The LocalPost's `media`: a signed URL Google fetches for each item."""
    if not media:
        return []
    if source is None:
        raise PlatformError("the post's media cannot be read here", code="media_unavailable")
    return [{"mediaFormat": "VIDEO" if m.type == "video" else "PHOTO", "sourceUrl": source.url(m)} for m in media]
