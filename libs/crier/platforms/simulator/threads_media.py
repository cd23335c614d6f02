"""Threads' media containers: `media_type=IMAGE` (`image_url`), `VIDEO` (`video_url`), either as a
carousel item (`is_carousel_item=true`), and `CAROUSEL` (`children`: 2 to 20 item containers of
the same user), each with `alt_text` for its image or video.

Threads fetches the URL when the container is made and checks what it got as Threads documents it:
an image JPEG or PNG of at most 8 MB, no more than 10:1 either way; a video MP4 or MOV of at most
1 GB and 5 minutes, 23 to 60 frames a second. A video processes for the platform's `processing_s`
(IN_PROGRESS, then FINISHED, or ERROR with `processing_fails`).
"""

from __future__ import annotations

from typing import Any

from crier.platforms.simulator.authz import SimError
from crier.platforms.simulator.graph import Containers, MediaContainer, graph_error, pull
from crier.platforms.simulator.media import MediaItem
from crier.platforms.simulator.world import Grant, User, World

MB = 1024 * 1024
IMAGE_MIMES = ("image/jpeg", "image/png")
VIDEO_MIMES = ("video/mp4", "video/quicktime")
MAX_IMAGE_BYTES = 8 * MB
MAX_VIDEO_BYTES = 1024 * MB
MAX_VIDEO_S = 300.0
MAX_RATIO = 10.0
FRAME_RATES = (23.0, 60.0)
CAROUSEL_ITEMS = (2, 20)


def _invalid(message: str, subcode: int | None = None) -> SimError:
    return SimError(graph_error(400, 100, message, subcode))


def _check(item: MediaItem, kind: str) -> None:
    if kind == "IMAGE":
        if item.kind != "image" or item.mime not in IMAGE_MIMES:
            raise _invalid(f"(#100) The image format {item.mime or 'unknown'} is not supported (JPEG, PNG)", 2207005)
        if len(item.data) > MAX_IMAGE_BYTES:
            raise _invalid("(#100) The image is too large: at most 8 MB", 2207004)
    else:
        if item.kind != "video" or item.mime not in VIDEO_MIMES:
            raise _invalid(f"(#100) The video format {item.mime or 'unknown'} is not supported (MP4, MOV)", 2207026)
        if len(item.data) > MAX_VIDEO_BYTES:
            raise _invalid("(#100) The video is too large: at most 1 GB", 2207026)
        if item.duration_s is not None and item.duration_s > MAX_VIDEO_S:
            raise _invalid("(#100) The video is too long: at most 5 minutes", 2207026)
        if item.frame_rate is not None and not FRAME_RATES[0] <= item.frame_rate <= FRAME_RATES[1]:
            raise _invalid("(#100) The video's frame rate must be 23 to 60 FPS", 2207026)
    if item.width and item.height and not 1 / MAX_RATIO <= item.width / item.height <= MAX_RATIO:
        raise _invalid("(#100) The aspect ratio is not supported: at most 10:1", 2207009)


async def media_container(
    world: World, containers: Containers, grant: Grant, user: User, body: dict[str, Any]
) -> MediaContainer:
    """The IMAGE, VIDEO or CAROUSEL container `body` asks for, its media pulled and checked."""
    kind = str(body.get("media_type"))
    made = MediaContainer(id=world.number(17), user_id=user.id, grant_id=grant.id, params=body, created_at=world.now())
    if kind == "CAROUSEL":
        ids = [c for c in str(body.get("children") or "").split(",") if c.strip()]
        if not CAROUSEL_ITEMS[0] <= len(ids) <= CAROUSEL_ITEMS[1]:
            raise _invalid("(#100) A carousel takes 2 to 20 children", 4279012)
        for child_id in ids:
            child = containers.get(child_id.strip())
            if child is None or child.user_id != user.id or not child.extra.get("carousel_item"):
                raise _invalid(f"(#100) Param children: {child_id!r} is not a carousel item container", 4279012)
            made.children.append(child)
        return containers.add(made)
    url = body.get("image_url" if kind == "IMAGE" else "video_url")
    if not url:
        raise _invalid(f"(#100) The parameter {'image_url' if kind == 'IMAGE' else 'video_url'} is required")
    item = await pull(world, "threads", user.id, str(url))
    _check(item, kind)
    item.alt_text = str(body["alt_text"]) if body.get("alt_text") else None
    made.media.append(world.media.add(item))
    made.extra["carousel_item"] = str(body.get("is_carousel_item")).lower() == "true"
    return containers.add(made)


def media_of(container: MediaContainer) -> dict[str, Any]:
    """What a published post shows of its media: its type, each item's id and alt text."""
    kinds = {"IMAGE": "IMAGE", "VIDEO": "VIDEO", "CAROUSEL": "CAROUSEL_ALBUM"}
    kind = kinds.get(str(container.params.get("media_type")), "TEXT_POST")
    if kind == "TEXT_POST":
        return {"media_type": kind}
    out: dict[str, Any] = {
        "media_type": kind,
        "media": [{"id": m.id, "alt_text": m.alt_text, "sha256": m.sha256} for m in container.items()],
    }
    if container.media:
        item = container.media[0]
        out["media_url"] = f"https://scontent.cdninstagram.com/threads/{item.id}"
        if item.alt_text:
            out["alt_text"] = item.alt_text
    if container.children:
        out["children"] = {"data": [{"id": c.id} for c in container.children]}
    return out
