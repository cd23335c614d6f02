"""Pinterest publishing: a post is one Pin on a board (`POST /v5/pins`), and a Pin is its media.

- Media is required and there is nothing else to post: no comments, no threads, one container.
  `config.pinterest.board_id` is required (the board the Pin goes on, one of the account's own);
  `board_section_id`, `title` (100) and `link` (2048) are optional. The container's text is the
  Pin's `description`; the first media item's alt text is the Pin's `alt_text` (500).
- Images are pulled by Pinterest from a URL: one image is `media_source {source_type: image_url,
  url}`, two to five are `multiple_image_urls` (a carousel Pin). Crier hands it the signed media
  URL, which Pinterest must be able to reach.
- A video is uploaded first: `POST /v5/media {media_type: video}` registers it and answers an
  `upload_url` with `upload_parameters`, a pre-signed S3 form POST of the bytes (the parameters as
  form fields, the file last, no token). Pinterest then processes it: `GET /v5/media/{media_id}`
  says `registered`, `processing`, `succeeded` or `failed`. The Pin names the video with
  `media_source {source_type: video_id, media_id, cover_image_key_frame_time}`; Pinterest wants a
  cover, and the first frame is the one Crier can always name.
- Errors are `{"code", "message"}`; Pinterest rejects an unknown board with 404 and bad media or
  fields with 400.
- The OpenAPI schema lets a description run to 800 characters, but Pinterest shows and documents
  500: Crier holds posts to 500.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Annotated, Any

import httpx
import msgspec

from crier.contracts.common import Container, MediaRef
from crier.kit.errors import Problem
from crier.platforms import _publish_http as ph
from crier.platforms.base import (
    ContentRejected,
    MediaSource,
    NotSupported,
    PlatformSettings,
    PublishContext,
    PublishedContainer,
    StillProcessing,
    posted_since,
)
from crier.platforms.media_rules import MB, MediaLimits
from crier.platforms.rules import Rules

API_BASE = "https://api.pinterest.com"
MAX_DESCRIPTION = 500
# How long to wait before asking again whether an uploaded video is processed.
PROCESSING_POLL_S = 10.0

Digits = Annotated[str, msgspec.Meta(pattern=r"^\d+$")]


class PinterestConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # The board the Pin goes on: one of the account's own boards (its id, digits).
    board_id: Digits
    board_section_id: Digits | None = None
    title: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    # Where the Pin leads when clicked.
    link: Annotated[str, msgspec.Meta(max_length=2048, pattern=r"^https?://")] | None = None


class PinterestRules(Rules):
    platform = "pinterest"
    config_type = PinterestConfig
    max_length = MAX_DESCRIPTION
    text_required = False
    # Pinterest's image and video Pin specs: images up to 20 MB (BMP, JPEG, PNG, TIFF, GIF,
    # WebP), a carousel of 2 to 5 images; a video MP4, MOV or M4V up to 2 GB, 4 s to 15 min,
    # between 1:2 and 1.91:1; alt text 500.
    media = MediaLimits(
        max_items=5,
        types=frozenset({"image", "gif", "video"}),
        required=True,
        image_mimes=frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/tiff"}),
        video_mimes=frozenset({"video/mp4", "video/quicktime", "video/x-m4v"}),
        image_max_bytes=20 * MB,
        gif_max_bytes=20 * MB,
        video_max_bytes=2 * 1024 * MB,
        video_aspect=(1 / 2, 1.91),
        min_duration_s=4,
        max_duration_s=15 * 60,
        max_alt_text=500,
    )


rules = PinterestRules()


def _pin_url(pin_id: str) -> str:
    return f"https://www.pinterest.com/pin/{pin_id}/"


def _at(raw: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00")) if raw else None
    except ValueError:
        return None


class PinterestAdapter:
    name = "pinterest"
    transactional = False
    needs_account = True

    def __init__(self, http: httpx.AsyncClient, settings: PlatformSettings) -> None:
        self.http = http
        self.settings = settings

    async def _call(self, ctx: PublishContext, method: str, path: str, **kwargs: Any) -> Any:
        return await ph.send(
            self.http,
            "pinterest",
            method,
            self.settings.base("pinterest", API_BASE) + path,
            headers=ph.bearer(ph.account_of(ctx).access_token),
            timeout=self.settings.timeout_s,
            **kwargs,
        )

    async def publish_container(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer:
        if index > 0:
            raise NotSupported("a Pin has no comments or replies", code="first_comment_unsupported")
        options = _options(ctx, container)
        pin: dict[str, Any] = {
            "board_id": options.board_id,
            "board_section_id": options.board_section_id,
            "title": options.title,
            "link": options.link,
            "description": container.content or None,
            "alt_text": container.media[0].alt_text,
            "media_source": await self._media_source(ctx, container.media),
        }
        made = await self._call(ctx, "POST", "/v5/pins", json={k: v for k, v in pin.items() if v is not None})
        return PublishedContainer(str(made["id"]), _pin_url(str(made["id"])))

    async def _media_source(self, ctx: PublishContext, media: Sequence[MediaRef]) -> dict[str, Any]:
        source = _media_of(ctx)
        if media[0].type == "video":
            return {
                "source_type": "video_id",
                "media_id": await self._processed_video(ctx, media[0]),
                "cover_image_key_frame_time": 0,
            }
        if len(media) == 1:
            return {"source_type": "image_url", "url": source.url(media[0]), "is_standard": True}
        return {"source_type": "multiple_image_urls", "items": [{"url": source.url(m)} for m in media]}

    async def _processed_video(self, ctx: PublishContext, video: MediaRef) -> str:
        """The video's media id once Pinterest has processed it, uploading it first unless an
        earlier delivery did (the id is in the stage)."""
        saved = ctx.stage.get(0) if ctx.stage is not None else {}
        media_id = saved.get("media_id") if saved.get("media") == video.id else None
        if media_id is None:
            registered = await self._call(ctx, "POST", "/v5/media", json={"media_type": "video"})
            await self._upload(ctx, video, registered["upload_url"], registered.get("upload_parameters") or {})
            media_id = str(registered["media_id"])
            if ctx.stage is not None:
                await ctx.stage.save(0, {"media": video.id, "media_id": media_id})
        found = await self._call(ctx, "GET", f"/v5/media/{media_id}")
        status = found.get("status")
        if status == "succeeded":
            return str(media_id)
        if status == "failed":
            raise ContentRejected(f"pinterest could not process video {video.id}", code="media_rejected")
        raise StillProcessing(f"pinterest is processing video {video.id} ({status})", retry_after_s=PROCESSING_POLL_S)

    async def _upload(self, ctx: PublishContext, video: MediaRef, url: str, fields: dict[str, Any]) -> None:
        """The S3 form POST: the upload parameters as form fields, then the file, streamed from
        the media store with its length known up front (S3 takes no chunked form upload)."""
        boundary = f"crier-{video.sha256[:16] or video.id}"
        head = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        )
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{video.id}"\r\n'
            f"Content-Type: {video.mime or 'application/octet-stream'}\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        source = _media_of(ctx)

        async def body() -> AsyncIterator[bytes]:
            yield head
            async for piece in source.chunks(video):
                yield piece
            yield tail

        await ph.send(
            self.http,
            "pinterest",
            "POST",
            url,
            content=body(),
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(len(head) + video.size_bytes + len(tail)),
            },
            timeout=max(self.settings.timeout_s, 60.0),
        )

    async def find_published(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer | None:
        """The newest Pin on the board with this description and title made since the container was
        first sent (Pinterest has no idempotency key); for a video, only once the stage says it was
        uploaded."""
        if index > 0:
            return None
        options = _options(ctx, container)
        saved = ctx.stage.get(0) if ctx.stage is not None else {}
        if container.media[0].type == "video" and saved.get("media") != container.media[0].id:
            return None  # the Pin is made only once its video is uploaded, which the stage records
        found = await self._call(ctx, "GET", f"/v5/boards/{options.board_id}/pins", params={"page_size": "100"})
        for pin in found.get("items") or []:
            if (
                (pin.get("description") or "") == container.content
                and pin.get("title") == options.title
                and posted_since(_at(pin.get("created_at")), ctx.sent_at)
            ):
                return PublishedContainer(str(pin["id"]), _pin_url(str(pin["id"])))
        return None


def _options(ctx: PublishContext, container: Container) -> PinterestConfig:
    options, problems = rules.config(ctx.config)
    if not container.media:
        problems.append(Problem("containers[0].media", "media_required", "a Pin needs an image or a video"))
    if problems or not isinstance(options, PinterestConfig):
        raise ContentRejected("; ".join(p.message for p in problems), code="invalid_content")
    return options


def _media_of(ctx: PublishContext) -> MediaSource:
    if ctx.media is None:
        raise ContentRejected("no media source to read the Pin's media from", code="invalid_content")
    return ctx.media


def publisher(http: httpx.AsyncClient, settings: PlatformSettings) -> PinterestAdapter:
    return PinterestAdapter(http, settings)
