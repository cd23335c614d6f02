"""LinkedIn media for a post's `content`: the Images API and the Videos API of the versioned REST API.

- An image: `POST /rest/images?action=initializeUpload {initializeUploadRequest: {owner}}` (the
  owner is the post's author) answers an `uploadUrl` (on www.linkedin.com, not the API host) and
  the image's URN; the bytes are PUT there with the token. The post then carries
  `content.media {id, altText}`, or for 2 to 20 images `content.multiImage.images[]`.
- A video: `POST /rest/videos?action=initializeUpload` with `fileSizeBytes` (captions and
  thumbnail not uploaded) answers the video's URN, an `uploadToken` and `uploadInstructions`: byte
  ranges, each PUT to its own URL, each answered with an ETag. `finalizeUpload` with the token and
  the ETags in order ends the upload; `GET /rest/videos/{urn}` then says WAITING_UPLOAD or
  PROCESSING (wait), AVAILABLE (post it: `content.media {id, title}`) or PROCESSING_FAILED.
- A post takes images or one video, never both; comments take none here (Crier's first comment is
  text).

Each uploaded URN is saved in the stage as soon as its upload is complete, so a later delivery
(after a crash, or a wait for processing) posts with it instead of uploading again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import httpx

from crier.contracts.common import Container, MediaRef
from crier.platforms import _publish_http as ph
from crier.platforms.base import (
    ContentRejected,
    MediaSource,
    OutcomeUnknown,
    PlatformSettings,
    PublishContext,
    StillProcessing,
)

# The adapter's call to the REST API: the parsed answer and its headers.
Call = Callable[..., Awaitable[tuple[Any, httpx.Headers]]]
PROCESSING_POLL_S = 15.0


class LinkedInMedia:
    def __init__(self, http: httpx.AsyncClient, settings: PlatformSettings, call: Call) -> None:
        self.http = http
        self.settings = settings
        self.call = call

    async def content(self, ctx: PublishContext, container: Container, author: str, title: str | None) -> Any:
        """The post's `content` for the container's media (None without media), uploading what no
        earlier delivery uploaded; `StillProcessing` while LinkedIn processes a video."""
        if not container.media:
            return None
        saved = ctx.stage.get(0) if ctx.stage is not None else {}
        urns: dict[str, str] = dict(saved.get("urns") or {})
        for ref in container.media:
            if ref.id in urns:
                continue
            upload = self._video if ref.type == "video" else self._image
            urns[ref.id] = await upload(ctx, ref, author)
            if ctx.stage is not None:
                await ctx.stage.save(0, {"urns": urns})
        first = container.media[0]
        if first.type == "video":
            await self._available(ctx, urns[first.id])
            return {"media": {"id": urns[first.id], **({"title": title} if title else {})}}
        images = [
            {"id": urns[ref.id], **({"altText": ref.alt_text} if ref.alt_text else {})} for ref in container.media
        ]
        return {"media": images[0]} if len(images) == 1 else {"multiImage": {"images": images}}

    def uploaded(self, ctx: PublishContext, container: Container) -> list[str] | None:
        """The URNs of the container's media, in order, if every one was uploaded and saved."""
        urns = (ctx.stage.get(0) if ctx.stage is not None else {}).get("urns") or {}
        found = [urns.get(ref.id) for ref in container.media]
        return None if None in found else [str(u) for u in found]

    async def _image(self, ctx: PublishContext, ref: MediaRef, author: str) -> str:
        started, _ = await self.call(
            ctx, "POST", "/rest/images?action=initializeUpload", json={"initializeUploadRequest": {"owner": author}}
        )
        value = _value(started)
        await self._put(ctx, str(value["uploadUrl"]), await _source(ctx).read(ref), ref)
        return str(value["image"])

    async def _video(self, ctx: PublishContext, ref: MediaRef, author: str) -> str:
        started, _ = await self.call(
            ctx,
            "POST",
            "/rest/videos?action=initializeUpload",
            json={
                "initializeUploadRequest": {
                    "owner": author,
                    "fileSizeBytes": ref.size_bytes,
                    "uploadCaptions": False,
                    "uploadThumbnail": False,
                }
            },
        )
        value = _value(started)
        video, parts = str(value["video"]), list(value.get("uploadInstructions") or [])
        etags = await self._upload_parts(ctx, ref, parts)
        await self.call(
            ctx,
            "POST",
            "/rest/videos?action=finalizeUpload",
            json={
                "finalizeUploadRequest": {
                    "video": video,
                    "uploadToken": value.get("uploadToken") or "",
                    "uploadedPartIds": etags,
                }
            },
        )
        return video

    async def _upload_parts(self, ctx: PublishContext, ref: MediaRef, parts: list[dict[str, Any]]) -> list[str]:
        """Each instruction's byte range PUT to its URL, read from the media store as it goes."""
        parts = sorted(parts, key=lambda p: int(p["firstByte"]))
        size = int(parts[0]["lastByte"]) - int(parts[0]["firstByte"]) + 1 if parts else ref.size_bytes
        etags: list[str] = []
        buffer, index = bytearray(), 0

        async def flush_ready() -> None:
            nonlocal buffer, index
            while index < len(parts):
                want = int(parts[index]["lastByte"]) - int(parts[index]["firstByte"]) + 1
                if len(buffer) < want:
                    return
                etags.append(await self._put(ctx, str(parts[index]["uploadUrl"]), bytes(buffer[:want]), ref))
                del buffer[:want]
                index += 1

        async for piece in _source(ctx).chunks(ref, size):
            buffer += piece
            await flush_ready()
        if index < len(parts) or buffer:
            raise ContentRejected(
                f"the video's bytes ({ref.size_bytes}) do not fill LinkedIn's upload instructions",
                code="invalid_content",
            )
        return etags

    async def _put(self, ctx: PublishContext, url: str, data: bytes, ref: MediaRef) -> str:
        answered: list[httpx.Headers] = []

        def keep(resp: httpx.Response, body: Any) -> None:
            answered.append(resp.headers)

        await ph.send(
            self.http,
            "linkedin",
            "PUT",
            url,
            classify=keep,
            content=data,
            headers={**ph.bearer(ph.account_of(ctx).access_token), "Content-Type": "application/octet-stream"},
            timeout=max(self.settings.timeout_s, 60.0),
        )
        return answered[-1].get("etag", "") if answered else ""

    async def _available(self, ctx: PublishContext, video: str) -> None:
        found, _ = await self.call(ctx, "GET", f"/rest/videos/{quote(video, safe='')}")
        status = found.get("status") if isinstance(found, dict) else None
        if status == "AVAILABLE":
            return
        if status == "PROCESSING_FAILED":
            reason = found.get("processingFailureReason") or "no reason given"
            raise ContentRejected(f"linkedin could not process video {video}: {reason}", code="media_rejected")
        raise StillProcessing(f"linkedin is processing video {video} ({status})", retry_after_s=PROCESSING_POLL_S)


def media_in(content: Any) -> list[str]:
    """The media URNs a post's `content` carries, in order."""
    if not isinstance(content, dict):
        return []
    if isinstance(content.get("media"), dict):
        return [str(content["media"].get("id"))]
    images = (content.get("multiImage") or {}).get("images") if isinstance(content.get("multiImage"), dict) else None
    return [str(i.get("id")) for i in images or [] if isinstance(i, dict)]


def _value(answer: Any) -> dict[str, Any]:
    value = answer.get("value") if isinstance(answer, dict) else None
    if not isinstance(value, dict):
        raise OutcomeUnknown("linkedin answered the upload's initialization without its value")
    return value


def _source(ctx: PublishContext) -> MediaSource:
    if ctx.media is None:
        raise ContentRejected("no media source to read the post's media from", code="invalid_content")
    return ctx.media
