"""Bluesky media: blobs uploaded to the account's PDS, referenced by the post record's embed.

- `com.atproto.repo.uploadBlob` takes the raw bytes with their Content-Type and answers
  `{"blob": {"$type": "blob", "ref": {"$link": <cid>}, "mimeType", "size"}}`; the blob goes into
  the record exactly as answered. A blob no record references is deleted by the PDS after a while,
  so an upload saved in the stage is good for a retry soon after, not for days.
- Images: `app.bsky.embed.images`, up to 4 `{alt, image, aspectRatio}`; `alt` is required (an
  empty string when there is none). The lexicon's blob limit is 2,000,000 bytes (formerly
  1,000,000): a larger image is re-encoded under it (`shrink_image`), which the stage records
  (`reencoded`) and the log says (`bluesky.image_reencoded`).
- Video: `app.bsky.embed.video` `{video, alt, aspectRatio}`, one MP4, never with images. The PDS
  takes a blob of up to 100 MB by default (`PDS_BLOB_UPLOAD_LIMIT`); the lexicon would allow 300 MB.
  Bluesky's app takes videos of up to 3 minutes. A video uploaded as a blob is processed by the
  AppView when it is first shown: the PDS has nothing to wait for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from crier.contracts.common import Container, MediaRef
from crier.kit.log import get
from crier.platforms.base import OutcomeUnknown, PlatformError, PublishContext

log = get(__name__)

Call = Callable[..., Awaitable[Any]]

UPLOAD = "com.atproto.repo.uploadBlob"
IMAGES = "app.bsky.embed.images"
VIDEO = "app.bsky.embed.video"
IMAGE_MAX_BYTES = 2_000_000


async def _image_bytes(ctx: PublishContext, media: MediaRef) -> tuple[bytes, str, bool]:
    """The image as it is uploaded: re-encoded as a JPEG under the blob limit when it is over."""
    assert ctx.media is not None
    data = await ctx.media.read(media)
    if len(data) <= IMAGE_MAX_BYTES:
        return data, media.mime, False
    # Imported here: Pillow and PyAV are needed only by the publisher, never by connect.
    from crier.kit.media.inspect import shrink_image

    # Pillow decodes the whole picture: off the event loop.
    smaller = await asyncio.to_thread(shrink_image, data, IMAGE_MAX_BYTES)
    return smaller, "image/jpeg", True


async def _upload(call: Call, ctx: PublishContext, media: MediaRef) -> tuple[dict[str, Any], bool]:
    """The blob ref the PDS answered for the media, and whether the image was re-encoded."""
    assert ctx.media is not None
    reencoded = False
    if media.type == "video":
        headers = {"Content-Type": media.mime or "video/mp4", "Content-Length": str(media.size_bytes)}
        try:
            answer = await call("POST", UPLOAD, content=ctx.media.chunks(media), headers=headers)
        except httpx.StreamConsumed:
            # A DPoP-bound account's PDS asked for a nonce: the stream went with the first try. The
            # nonce is known now, so one more stream of the video goes through.
            answer = await call("POST", UPLOAD, content=ctx.media.chunks(media), headers=headers)
    else:
        data, mime, reencoded = await _image_bytes(ctx, media)
        answer = await call("POST", UPLOAD, content=data, headers={"Content-Type": mime})
    blob = answer.get("blob") if isinstance(answer, dict) else None
    if not isinstance(blob, dict) or not blob.get("ref"):
        raise OutcomeUnknown(f"the PDS answered uploadBlob without a blob: {answer!r}"[:500])
    return blob, reencoded


def _aspect(media: MediaRef) -> dict[str, int] | None:
    return {"width": media.width, "height": media.height} if media.width and media.height else None


async def embed(call: Call, ctx: PublishContext, container: Container, index: int) -> dict[str, Any] | None:
    """The post record's `embed` for the container's media (None without media), uploading the
    blobs not uploaded yet."""
    if not container.media:
        return None
    if ctx.media is None or ctx.stage is None:
        raise PlatformError("bluesky needs the post's media and a stage to upload it", code="media_unavailable")
    saved = ctx.stage.get(index)
    blobs: dict[str, dict[str, Any]] = dict(saved.get("blobs") or {})
    reencoded: list[str] = list(saved.get("reencoded") or [])
    for media in container.media:
        if media.id in blobs:
            continue
        blob, shrunk = await _upload(call, ctx, media)
        blobs[media.id] = blob
        if shrunk:
            reencoded.append(media.id)
            log.info(
                "bluesky.image_reencoded",
                target_id=ctx.target_id,
                media_id=media.id,
                from_bytes=media.size_bytes,
                to_bytes=blob.get("size"),
            )
        await ctx.stage.save(index, {**saved, "blobs": blobs, "reencoded": reencoded})
    if container.media[0].type == "video":
        video = container.media[0]
        shown: dict[str, Any] = {"$type": VIDEO, "video": blobs[video.id], "alt": video.alt_text or ""}
        if aspect := _aspect(video):
            shown["aspectRatio"] = aspect
        return shown
    images = []
    for media in container.media:
        image: dict[str, Any] = {"alt": media.alt_text or "", "image": blobs[media.id]}
        if aspect := _aspect(media):
            image["aspectRatio"] = aspect
        images.append(image)
    return {"$type": IMAGES, "images": images}


def notes(ctx: PublishContext, container: Container, index: int) -> tuple[str, ...]:
    """What the target's record says Crier changed: each image re-encoded under the blob limit."""
    saved = ctx.stage.get(index) if ctx.stage is not None else {}
    blobs, shrunk = saved.get("blobs") or {}, set(saved.get("reencoded") or [])
    return tuple(
        f"image {m.id} re-encoded as JPEG to fit Bluesky's {IMAGE_MAX_BYTES:,}-byte limit "
        f"({m.size_bytes:,} to {(blobs.get(m.id) or {}).get('size', 0):,} bytes)"
        for m in container.media
        if m.id in shrunk
    )


def blob_links(value: dict[str, Any]) -> list[str]:
    """The blob CIDs a post record's embed names, in order."""
    embed_ = value.get("embed") or {}
    refs = [i.get("image") for i in embed_.get("images") or []] + [embed_.get("video")]
    return [str((r.get("ref") or {}).get("$link")) for r in refs if isinstance(r, dict)]


def staged_links(ctx: PublishContext, container: Container, index: int) -> list[str] | None:
    """The blob CIDs the stage says this container's post embeds, or None when they were never
    all uploaded (so no post with them can have been made)."""
    if not container.media:
        return []
    blobs = (ctx.stage.get(index) if ctx.stage is not None else {}).get("blobs") or {}
    if not all(m.id in blobs for m in container.media):
        return None
    return [str((blobs[m.id].get("ref") or {}).get("$link")) for m in container.media]
