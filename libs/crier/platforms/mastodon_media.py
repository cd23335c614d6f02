"""Mastodon media: `POST /api/v2/media` on the account's instance, then the status names the
attachments in `media_ids` (scope `write:media`).

- The upload is multipart: `file` (with its MIME type) and `description`, the alt text (at most
  1500 characters). It is streamed from the media store, so a video never sits whole in memory.
- Since Mastodon 4.0 small images are processed at once (200, with a `url`); video, GIFs (which
  become `gifv`) and large images answer 202 with `url` null while the instance processes them.
  `GET /api/v1/media/:id` answers 206 (or `url` null) meanwhile, 200 with a `url` when done, and
  422 when processing failed. A status naming an attachment still processing is refused with 422,
  so the container waits (`StillProcessing`) first.
- Each upload is saved in the container's stage at once (`{"media": {<ref id>: {"id", "ready"}}}`):
  an attachment belongs to one status, and a later delivery reuses it instead of uploading again.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from crier.contracts.common import Container, MediaRef
from crier.platforms.base import ContentRejected, OutcomeUnknown, PlatformError, PublishContext, StillProcessing

Call = Callable[..., Awaitable[Any]]

# Mastodon gives no hint of how long processing takes; its own web client polls every second or so.
POLL_AFTER_S = 5.0
_EXTENSION = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}


def _multipart(
    boundary: str, fields: dict[str, str], media: MediaRef, chunks: AsyncIterator[bytes]
) -> tuple[AsyncIterator[bytes], int]:
    """A multipart/form-data body whose file part streams from `chunks`, and its length (httpx
    takes only in-memory or synchronous files as multipart)."""
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value.encode() + b"\r\n"
        for name, value in fields.items()
    )
    name = f"{media.id}.{_EXTENSION.get(media.mime, media.mime.rpartition('/')[2] or 'bin')}"
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        f"Content-Type: {media.mime or 'application/octet-stream'}\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    async def body() -> AsyncIterator[bytes]:
        yield head
        async for chunk in chunks:
            yield chunk
        yield tail

    return body(), len(head) + media.size_bytes + len(tail)


async def _upload(call: Call, ctx: PublishContext, media: MediaRef) -> dict[str, Any]:
    assert ctx.media is not None
    boundary = secrets.token_hex(16)
    fields = {"description": media.alt_text} if media.alt_text else {}
    body, length = _multipart(boundary, fields, media, ctx.media.chunks(media))
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": str(length)}
    made = await call("POST", "/api/v2/media", content=body, headers=headers)
    if not isinstance(made, dict) or not made.get("id"):
        raise OutcomeUnknown(f"mastodon answered the upload without an attachment id: {made!r}"[:500])
    return made


async def media_ids(call: Call, ctx: PublishContext, container: Container, index: int) -> list[str]:
    """The attachment ids of the container's media, uploading what is not uploaded yet; raises
    `StillProcessing` while the instance is still processing any of them."""
    if not container.media:
        return []
    if ctx.media is None or ctx.stage is None:
        raise PlatformError("mastodon needs the post's media and a stage to upload it", code="media_unavailable")
    saved = ctx.stage.get(index)
    uploads: dict[str, dict[str, Any]] = dict(saved.get("media") or {})
    for media in container.media:
        if media.id not in uploads:
            made = await _upload(call, ctx, media)
            uploads[media.id] = {"id": str(made["id"]), "ready": bool(made.get("url"))}
            await ctx.stage.save(index, {**saved, "media": uploads})
    waiting = False
    for ref_id, entry in uploads.items():
        if entry["ready"]:
            continue
        found = await call("GET", f"/api/v1/media/{entry['id']}")
        if isinstance(found, dict) and found.get("url"):
            uploads[ref_id] = {**entry, "ready": True}
            await ctx.stage.save(index, {**saved, "media": uploads})
        else:
            waiting = True
    if waiting:
        raise StillProcessing(f"mastodon is still processing media of container {index}", retry_after_s=POLL_AFTER_S)
    return [uploads[m.id]["id"] for m in container.media]


def uploaded(ctx: PublishContext, container: Container, index: int) -> list[str] | None:
    """The attachment ids the stage says this container's status carries, or None when they were
    never all uploaded (so no status with them can have been made)."""
    if not container.media:
        return []
    uploads = (ctx.stage.get(index) if ctx.stage is not None else {}).get("media") or {}
    ids = [uploads.get(m.id, {}).get("id") for m in container.media]
    return [str(i) for i in ids] if all(ids) else None


def media_error(method: str, path: str, status: int, said: str) -> ContentRejected | None:
    """A refusal of the media itself: an upload refused (422: type, size, description; 413: too
    large for the proxy in front), or processing that failed (422 on `GET /api/v1/media/:id`)."""
    if "/api/v2/media" in path and status in (413, 422):
        return ContentRejected(f"mastodon refused the media: {said}", code="media_rejected")
    if method == "GET" and "/api/v1/media/" in path and status == 422:
        return ContentRejected(f"mastodon could not process the media: {said}", code="media_rejected")
    return None
