"""What media one container may carry on a platform: how many items, of which types and formats,
how large, what shape, how long. Each platform module states its numbers as a `MediaLimits` (from
the platform's own documentation) and `Rules.check_container` checks every media item against them,
reporting every problem at once.

Problem codes (documented in the README): `media_unsupported`, `media_required`, `too_many_media`,
`media_type_unsupported`, `media_format_unsupported`, `media_mix_unsupported`, `media_too_large`, `media_too_small`,
`media_dimensions`, `media_aspect_ratio`, `media_duration`, `media_frame_rate`, `alt_text_too_long`,
`media_unknown` (a reference the gateway has not inspected).

A limit a platform lets Crier meet without changing what the user meant is not a problem: with
`reencode_images`, an image over `image_max_bytes` is re-encoded by the adapter (Bluesky's blob
limit), and the adapter records that it did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crier.contracts.common import MediaRef, MediaType
from crier.kit.errors import Problem

MB = 1024 * 1024


@dataclass(frozen=True)
class MediaLimits:
    """One platform's documented media limits for one kind of container. The defaults take nothing."""

    # How many media items a container may carry (0: none at all).
    max_items: int = 0
    # Which types it takes, and how many of each type at most.
    types: frozenset[MediaType] = frozenset()
    max_videos: int = 1
    max_gifs: int = 1
    # Whether one container may mix types (images with a video, a GIF with images).
    mix: bool = False
    # Whether container 0 must carry media (Instagram, YouTube, TikTok, Pinterest).
    required: bool = False
    # The MIME types taken, by media type; an empty set takes every one Crier can inspect.
    image_mimes: frozenset[str] = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
    video_mimes: frozenset[str] = frozenset({"video/mp4", "video/quicktime"})
    # Largest size in bytes, by type (None: no limit Crier knows of).
    image_max_bytes: int | None = None
    gif_max_bytes: int | None = None
    video_max_bytes: int | None = None
    # Smallest video in bytes (LinkedIn refuses a video under 75 KB in processing).
    video_min_bytes: int | None = None
    # An image over `image_max_bytes` is re-encoded smaller instead of refused.
    reencode_images: bool = False
    # Pixel bounds (either side), images and videos alike.
    min_side_px: int | None = None
    max_side_px: int | None = None
    # Width / height bounds.
    image_aspect: tuple[float, float] | None = None
    video_aspect: tuple[float, float] | None = None
    # Video duration bounds in seconds, and the highest frame rate.
    min_duration_s: float | None = None
    max_duration_s: float | None = None
    max_frame_rate: float | None = None
    # The longest alt text (None: the platform takes no alt text, and it is not sent).
    max_alt_text: int | None = None


NO_MEDIA = MediaLimits()


def check_media(limits: MediaLimits, index: int, media: Sequence[MediaRef], platform: str) -> list[Problem]:
    """Every problem `media` (container `index`'s) has against `limits`."""
    field = f"containers[{index}].media"
    if not media:
        if limits.required and index == 0:
            return [Problem(field, "media_required", f"{platform} publishes nothing without media")]
        return []
    if limits.max_items == 0:
        where = "in this container" if index else "in a post"
        return [Problem(field, "media_unsupported", f"{platform} takes no media {where}")]
    problems: list[Problem] = []
    if len(media) > limits.max_items:
        problems.append(
            Problem(field, "too_many_media", f"{len(media)} items; {platform} takes at most {limits.max_items}")
        )
    problems += _check_mix(limits, field, media, platform)
    for i, item in enumerate(media):
        problems += _check_item(limits, f"{field}[{i}]", item, platform)
    return problems


def _check_mix(limits: MediaLimits, field: str, media: Sequence[MediaRef], platform: str) -> list[Problem]:
    kinds = {m.type for m in media if m.type is not None}
    problems: list[Problem] = []
    if len(kinds) > 1 and not limits.mix:
        problems.append(Problem(field, "media_mix_unsupported", f"{platform} cannot mix {' and '.join(sorted(kinds))}"))
    for kind, most in (("video", limits.max_videos), ("gif", limits.max_gifs)):
        count = sum(1 for m in media if m.type == kind)
        if count > most and kind in limits.types:
            problems.append(Problem(field, "too_many_media", f"{count} {kind}s; {platform} takes at most {most}"))
    return problems


def _check_item(limits: MediaLimits, field: str, item: MediaRef, platform: str) -> list[Problem]:
    if item.type is None:
        return [Problem(field, "media_unknown", f"media {item.id} has not been inspected")]
    if item.type not in limits.types:
        return [Problem(field, "media_type_unsupported", f"{platform} takes no {item.type} here")]
    mimes = limits.video_mimes if item.type == "video" else limits.image_mimes
    if mimes and item.mime not in mimes:
        return [Problem(field, "media_format_unsupported", f"{platform} takes no {item.mime or 'unknown format'}")]
    problems = _check_size(limits, field, item, platform)
    problems += _check_shape(limits, field, item, platform)
    if item.type == "video":
        problems += _check_video(limits, field, item, platform)
    if item.alt_text and limits.max_alt_text is not None and len(item.alt_text) > limits.max_alt_text:
        problems.append(
            Problem(f"{field}.alt_text", "alt_text_too_long", f"{platform} takes at most {limits.max_alt_text}")
        )
    return problems


def _check_size(limits: MediaLimits, field: str, item: MediaRef, platform: str) -> list[Problem]:
    most = {"image": limits.image_max_bytes, "gif": limits.gif_max_bytes, "video": limits.video_max_bytes}[
        item.type or "image"
    ]
    least = limits.video_min_bytes if item.type == "video" else None
    if least is not None and item.size_bytes < least:
        return [Problem(field, "media_too_small", f"{item.size_bytes} bytes; {platform} needs at least {least}")]
    if most is None or item.size_bytes <= most:
        return []
    if item.type == "image" and limits.reencode_images:
        return []
    return [Problem(field, "media_too_large", f"{_mb(item.size_bytes)}; {platform} takes at most {_mb(most)}")]


def _check_shape(limits: MediaLimits, field: str, item: MediaRef, platform: str) -> list[Problem]:
    problems: list[Problem] = []
    sides = [s for s in (item.width, item.height) if s]
    if sides and limits.min_side_px is not None and min(sides) < limits.min_side_px:
        problems.append(
            Problem(
                field,
                "media_dimensions",
                f"{item.width}x{item.height}; {platform} needs at least {limits.min_side_px} px a side",
            )
        )
    if sides and limits.max_side_px is not None and max(sides) > limits.max_side_px:
        problems.append(
            Problem(
                field,
                "media_dimensions",
                f"{item.width}x{item.height}; {platform} takes at most {limits.max_side_px} px a side",
            )
        )
    bounds = limits.video_aspect if item.type == "video" else limits.image_aspect
    ratio = item.aspect_ratio
    if bounds is not None and ratio is not None and not bounds[0] - 1e-3 <= ratio <= bounds[1] + 1e-3:
        problems.append(
            Problem(
                field,
                "media_aspect_ratio",
                f"aspect ratio {ratio:.3f}; {platform} takes {bounds[0]:.3f} to {bounds[1]:.3f}",
            )
        )
    return problems


def _check_video(limits: MediaLimits, field: str, item: MediaRef, platform: str) -> list[Problem]:
    problems: list[Problem] = []
    d = item.duration_s
    if d is not None and limits.min_duration_s is not None and d < limits.min_duration_s:
        problems.append(
            Problem(field, "media_duration", f"{d:.1f} s; {platform} needs at least {limits.min_duration_s:g} s")
        )
    if d is not None and limits.max_duration_s is not None and d > limits.max_duration_s:
        problems.append(
            Problem(field, "media_duration", f"{d:.1f} s; {platform} takes at most {limits.max_duration_s:g} s")
        )
    fps = item.frame_rate
    if fps is not None and limits.max_frame_rate is not None and fps > limits.max_frame_rate + 0.01:
        problems.append(
            Problem(field, "media_frame_rate", f"{fps:g} fps; {platform} takes at most {limits.max_frame_rate:g}")
        )
    return problems


def _mb(n: int) -> str:
    return f"{n / MB:.1f} MB"
