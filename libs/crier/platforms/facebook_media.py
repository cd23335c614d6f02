"""A Facebook Page's photos and videos, uploaded by Crier (Facebook does not need to reach Crier).

- Photos: each one `POST /{page-id}/photos` as multipart `source`, `published=false`, with its alt
  text as `alt_text_custom`; the post is then `POST /{page-id}/feed` gathering them in
  `attached_media[i]={"media_fbid": id}` (one photo or several alike). Each photo id is saved in the
  stage as it comes back, so a retried delivery uploads only the photos still missing, and a post
  whose answer was lost is known by its `attachments` naming those photos, not by its words alone.
- A video: a chunked upload on graph-video.facebook.com (`upload_phase=start` with `file_size`,
  then `transfer` of each range Facebook asks for as `video_file_chunk`, then `finish` with the
  post's text as `description`), streamed from the media store a range at a time. Its id is saved
  the moment the upload finishes. Facebook then processes it and posts it on the Page:
  `GET /{video-id}?fields=status,post_id,permalink_url` is polled once per delivery (processing:
  `StillProcessing`, 30 s; error: `media_rejected`; ready: the Page's post).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from crier.contracts.common import MediaRef
from crier.platforms.base import (
    ContentRejected,
    PlatformError,
    PublishContext,
    PublishedContainer,
    StillProcessing,
)

# (method, path, *, video=False, **httpx kwargs): a Graph call with the Page's token; `video` sends
# it to the video upload host.
Call = Callable[..., Awaitable[Any]]
VIDEO_WAIT_S = 30.0


class _Exact:
    """Reads exactly the ranges Facebook asks for out of the store's chunks, holding no more than
    one chunk and one range at a time."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._held = bytearray()

    async def take(self, size: int) -> bytes:
        while len(self._held) < size:
            piece = await anext(self._chunks, None)
            if piece is None:
                break
            self._held += piece
        out = bytes(self._held[:size])
        del self._held[:size]
        return out


def _source(ctx: PublishContext) -> Any:
    if ctx.media is None:
        raise PlatformError("the post's media cannot be read here", code="media_unavailable")
    return ctx.media


async def upload_photos(call: Call, ctx: PublishContext, index: int, page: str, media: Sequence[MediaRef]) -> list[str]:
    """Each photo uploaded unpublished, once: the ids, in order."""
    saved = ctx.stage.get(index) if ctx.stage is not None else {}
    ids = [str(i) for i in saved.get("photos") or []]
    for ref in media[len(ids) :]:
        form = {"published": "false", **({"alt_text_custom": ref.alt_text} if ref.alt_text else {})}
        data = await _source(ctx).read(ref)
        made = await call("POST", f"/{page}/photos", data=form, files={"source": (ref.id, data, ref.mime)})
        ids.append(str(made["id"]))
        if ctx.stage is not None:
            await ctx.stage.save(index, {"photos": ids})
    return ids


def staged_photos(ctx: PublishContext, index: int) -> list[str]:
    saved = ctx.stage.get(index) if ctx.stage is not None else {}
    return [str(i) for i in saved.get("photos") or []]


def attached_ids(post: dict[str, Any]) -> list[str]:
    """The photos and videos a feed post's `attachments` edge names, in order."""
    found = []
    for attachment in (post.get("attachments") or {}).get("data") or []:
        parts = (attachment.get("subattachments") or {}).get("data") or [attachment]
        found += [str((p.get("target") or {}).get("id")) for p in parts if (p.get("target") or {}).get("id")]
    return found


def attached(photo_ids: Sequence[str]) -> dict[str, str]:
    return {f"attached_media[{i}]": json.dumps({"media_fbid": pid}) for i, pid in enumerate(photo_ids)}


async def upload_video(call: Call, ctx: PublishContext, index: int, page: str, ref: MediaRef, text: str) -> str:
    """The video uploaded in the ranges Facebook asks for; its id, saved once the upload is done."""
    started = await call(
        "POST", f"/{page}/videos", video=True, data={"upload_phase": "start", "file_size": str(ref.size_bytes)}
    )
    session, video_id = str(started["upload_session_id"]), str(started["video_id"])
    if ctx.stage is not None:
        await ctx.stage.save(index, {"video": video_id, "uploaded": False})
    start, end = int(started["start_offset"]), int(started["end_offset"])
    reader = _Exact(_source(ctx).chunks(ref))
    while start < end:
        piece = await reader.take(end - start)
        form = {"upload_phase": "transfer", "upload_session_id": session, "start_offset": str(start)}
        sent = await call(
            "POST",
            f"/{page}/videos",
            video=True,
            data=form,
            files={"video_file_chunk": ("chunk", piece, "application/octet-stream")},
        )
        start, end = int(sent["start_offset"]), int(sent["end_offset"])
    finish = {"upload_phase": "finish", "upload_session_id": session, **({"description": text} if text.strip() else {})}
    await call("POST", f"/{page}/videos", video=True, data=finish)
    if ctx.stage is not None:
        await ctx.stage.save(index, {"video": video_id, "uploaded": True})
    return video_id


async def video_post(call: Call, video_id: str) -> PublishedContainer:
    """The Page's post of a processed video; `StillProcessing` while Facebook processes it."""
    node = await call("GET", f"/{video_id}", params={"fields": "status,post_id,permalink_url"})
    status = (node.get("status") or {}) if isinstance(node, dict) else {}
    state = status.get("video_status")
    if state == "error":
        errors = (status.get("processing_phase") or {}).get("errors") or [{}]
        said = errors[0].get("message") or "no reason given"
        raise ContentRejected(f"facebook could not process the video: {said}", code="media_rejected")
    if state != "ready" or not node.get("post_id"):
        raise StillProcessing(f"facebook is still processing video {video_id}", retry_after_s=VIDEO_WAIT_S)
    return PublishedContainer(str(node["post_id"]), node.get("permalink_url"))


async def publish_video(
    call: Call, ctx: PublishContext, index: int, page: str, ref: MediaRef, text: str
) -> PublishedContainer:
    saved = ctx.stage.get(index) if ctx.stage is not None else {}
    video_id = str(saved["video"]) if saved.get("uploaded") else None
    if video_id is None:
        video_id = await upload_video(call, ctx, index, page, ref, text)
    return await video_post(call, video_id)


async def staged_video(call: Call, ctx: PublishContext, index: int) -> tuple[PublishedContainer | None, bool]:
    """What the stage says of a video post: the post, if Facebook made it; and whether the feed
    must still be searched (never: a video's post exists only once its upload finished)."""
    saved = ctx.stage.get(index) if ctx.stage is not None else {}
    if not saved.get("video"):
        return None, False
    try:
        return await video_post(call, str(saved["video"])), False
    except StillProcessing:
        if not saved.get("uploaded") and ctx.stage is not None:
            # The finish went through though its answer was lost: wait for this video, do not upload again.
            await ctx.stage.save(index, {**saved, "uploaded": True})
        return None, False
    except PlatformError as failed:
        if failed.code == "media_rejected" or failed.retryable:
            raise
        return None, False  # an upload Facebook never finished: the next delivery starts it again
