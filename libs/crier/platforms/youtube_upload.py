"""Publishing to YouTube: a resumable `videos.insert`, waiting for YouTube's processing, and a first
comment as a comment thread.

- The upload starts with `POST /upload/youtube/v3/videos?uploadType=resumable&part=snippet,status`
  (the video resource as JSON, `X-Upload-Content-Length`, `X-Upload-Content-Type`); YouTube answers
  the session URI in `Location`, which is saved in the stage at once. The bytes go in `PUT`s with
  `Content-Range`, every chunk but the last a multiple of 256 KiB, read from the media store piece
  by piece (a video never sits whole in memory). `308 Resume Incomplete` says with `Range` how much
  YouTube has committed (it may be less than was sent); the last chunk answers the video resource.
- A delivery that finds a session in the stage asks it where it stands (`PUT` with
  `Content-Range: bytes */<total>`, no body) and goes on from the committed byte: a crash or a lost
  answer mid-upload never uploads from zero. A session YouTube no longer knows (404, 410: sessions
  expire after a week) starts over.
- The session URI is only followed on the host the upload was started on: the access token goes
  with every chunk.
- A video is live on YouTube once processed: `videos.list?part=processingDetails,status` is read
  until `processingStatus` is `succeeded` (`StillProcessing` meanwhile, after YouTube's own
  `timeLeftMs` estimate); an upload `failed` or `rejected`, or processing that `failed`, is a
  permanent `media_rejected` with YouTube's reason.
- The first comment is `POST /youtube/v3/commentThreads?part=snippet` on the video (scope
  `youtube.force-ssl`).
- There is no idempotency key. `find_published` follows the stage (a finished session's video id)
  and otherwise looks for the video among the channel's latest uploads
  (`search.list?forMine=true&type=video&order=date`) by title and time; a comment among the video's
  comment threads by text, author channel and time.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec

from crier.contracts.common import Container, MediaRef
from crier.platforms import _publish_http as ph
from crier.platforms._google import publishing_error
from crier.platforms.base import (
    ContentRejected,
    PlatformError,
    PlatformSettings,
    PublishContext,
    PublishedContainer,
    StillProcessing,
    TransientError,
    posted_since,
)
from crier.platforms.youtube_rules import YouTubeConfig, rules, video_resource

API_HOST = "https://www.googleapis.com"
CHUNK_UNIT = 256 * 1024
# 32 x 256 KiB: few requests, and at most about twice this in memory while uploading.
CHUNK_BYTES = 32 * CHUNK_UNIT
PROCESSING_RETRY_S = 30.0
_RANGE = re.compile(r"bytes=0-(\d+)")


class _Incomplete(PlatformError):
    """YouTube's 308 Resume Incomplete: `committed` bytes are stored."""

    def __init__(self, committed: int) -> None:
        super().__init__(f"{committed} bytes committed", code="resume_incomplete")
        self.committed = committed


class _SessionGone(PlatformError):
    pass


def _upload_answer(resp: httpx.Response, body: Any) -> PlatformError | None:
    if resp.status_code == 308:
        found = _RANGE.fullmatch(resp.headers.get("range", ""))
        return _Incomplete(int(found.group(1)) + 1 if found else 0)
    if resp.status_code in (404, 410):
        return _SessionGone("the upload session has expired", code="upload_session_gone")
    return publishing_error(resp, body)


class YouTubeAdapter:
    name = "youtube"
    transactional = False
    needs_account = True
    chunk_bytes = CHUNK_BYTES

    def __init__(self, http: httpx.AsyncClient, settings: PlatformSettings) -> None:
        self.http = http
        self.settings = settings

    def _url(self, path: str) -> str:
        return f"{self.settings.base('youtube', API_HOST)}{path}"

    async def _call(self, method: str, url: str, ctx: PublishContext, **kwargs: Any) -> Any:
        headers = ph.bearer(ph.account_of(ctx).access_token) | kwargs.pop("headers", {})
        classify = kwargs.pop("classify", publishing_error)
        return await ph.send(
            self.http,
            "youtube",
            method,
            url,
            classify=classify,
            timeout=self.settings.timeout_s,
            headers=headers,
            **kwargs,
        )

    # -- publishing ---------------------------------------------------------------------------

    async def publish_container(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer:
        if index > 0:
            return await self._comment(ctx, container, parent)
        if ctx.stage is None:
            raise PlatformError("YouTube uploads need a stage to resume from", code="stage_unavailable")
        state = ctx.stage.get(index)
        if not state.get("video_id"):
            video = await self._upload(ctx, container, index, state)
            state = {"video_id": str(video["id"])}
            await ctx.stage.save(index, state)
        return _settled(await self._video(ctx, state["video_id"]), self._options(ctx).shorts)

    async def _upload(
        self, ctx: PublishContext, container: Container, index: int, state: dict[str, Any]
    ) -> dict[str, Any]:
        ref = _video_of(container)
        assert ctx.stage is not None
        session, offset = state.get("session"), 0
        if session:
            try:
                offset, finished = await self._committed(ctx, str(session), ref)
            except _SessionGone:
                session = None
            else:
                if finished is not None:
                    return finished  # the last chunk went; its answer did not come back
        if not session:
            session = await self._start(ctx, container, ref)
            # Saved before any byte goes: a later delivery resumes this session.
            await ctx.stage.save(index, {"session": session})
            offset = 0
        return await self._send_bytes(ctx, session, ref, offset)

    async def _start(self, ctx: PublishContext, container: Container, ref: MediaRef) -> str:
        options = self._options(ctx)
        params = {"uploadType": "resumable", "part": "snippet,status"}
        if not options.notify_subscribers:
            params["notifySubscribers"] = "false"
        headers = {
            "X-Upload-Content-Length": str(ref.size_bytes),
            "X-Upload-Content-Type": ref.mime or "application/octet-stream",
        }
        url = self._url("/upload/youtube/v3/videos")
        location = ""

        def keep_location(resp: httpx.Response, body: Any) -> PlatformError | None:
            nonlocal location
            location = resp.headers.get("location", "")
            return publishing_error(resp, body)

        resource = video_resource(container.content, options)
        await self._call("POST", url, ctx, params=params, headers=headers, json=resource, classify=keep_location)
        if urlsplit(location)[:2] != urlsplit(url)[:2]:
            # Never follow it with the token; a new session on the next attempt may well be right.
            raise TransientError(f"YouTube answered an upload session elsewhere: {location!r}", code="upload_failed")
        return location

    async def _committed(self, ctx: PublishContext, session: str, ref: MediaRef) -> tuple[int, dict[str, Any] | None]:
        """How many bytes the session holds, or the video when the upload is complete."""
        headers = {"Content-Range": f"bytes */{ref.size_bytes}"}
        try:
            video = await self._call("PUT", session, ctx, headers=headers, content=b"", classify=_upload_answer)
        except _Incomplete as incomplete:
            return incomplete.committed, None
        return ref.size_bytes, dict(video)

    async def _put(self, ctx: PublishContext, session: str, chunk: bytes, first: int, total: int) -> Any:
        headers = {"Content-Range": f"bytes {first}-{first + len(chunk) - 1}/{total}"}
        return await self._call("PUT", session, ctx, headers=headers, content=chunk, classify=_upload_answer)

    async def _send_bytes(self, ctx: PublishContext, session: str, ref: MediaRef, offset: int) -> dict[str, Any]:
        """The video's bytes from `offset` on, in chunks YouTube takes; its answer to the last one."""
        if ctx.media is None:
            raise PlatformError("the post's media cannot be read here", code="media_unavailable")
        total, pos, buf = ref.size_bytes, 0, bytearray()
        size = self.chunk_bytes - self.chunk_bytes % CHUNK_UNIT or CHUNK_UNIT

        async def send(chunk: bytes) -> dict[str, Any] | None:
            nonlocal pos
            try:
                video = await self._put(ctx, session, chunk, pos, total)
            except _Incomplete as incomplete:
                if not pos < incomplete.committed <= pos + len(chunk):
                    raise TransientError(f"YouTube committed {incomplete.committed} of {total} bytes") from None
                del buf[: incomplete.committed - pos]
                pos = incomplete.committed
                return None
            return dict(video)

        async for piece in ctx.media.chunks(ref, size):
            if pos + len(piece) <= offset and not buf:
                pos += len(piece)  # committed by an earlier delivery
                continue
            buf += piece
            if pos < offset:
                del buf[: offset - pos]
                pos = offset
            while len(buf) >= size and pos + len(buf) < total:
                await send(bytes(buf[:size]))
        while buf:
            done = await send(bytes(buf))
            if done is not None:
                return done
        raise TransientError(f"YouTube did not finish the upload at {pos} of {total} bytes")

    async def _video(self, ctx: PublishContext, video_id: str) -> dict[str, Any]:
        params = {"part": "processingDetails,status", "id": video_id}
        body = await self._call("GET", self._url("/youtube/v3/videos"), ctx, params=params)
        items = body.get("items") or []
        if not items:
            raise ContentRejected(f"YouTube has no video {video_id} any more", code="media_rejected")
        return dict(items[0])

    async def _comment(
        self, ctx: PublishContext, container: Container, parent: PublishedContainer | None
    ) -> PublishedContainer:
        if parent is None:
            raise PlatformError("a comment needs the video it belongs to", code="reply_target_missing")
        body = {
            "snippet": {
                "videoId": parent.platform_post_id,
                "topLevelComment": {"snippet": {"textOriginal": container.content}},
            }
        }
        thread = await self._call(
            "POST", self._url("/youtube/v3/commentThreads"), ctx, params={"part": "snippet"}, json=body
        )
        return _comment_of(thread)

    def _options(self, ctx: PublishContext) -> YouTubeConfig:
        options, problems = rules.config(ctx.config)
        if problems or not isinstance(options, YouTubeConfig):
            raise ContentRejected("; ".join(p.message for p in problems), code="invalid_content")
        return options

    # -- finding what an earlier delivery made -------------------------------------------------

    async def find_published(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer | None:
        if index > 0:
            return await self._find_comment(ctx, container, parent)
        state = ctx.stage.get(index) if ctx.stage is not None else {}
        if state.get("session") and not state.get("video_id"):
            return None  # an upload under way: `publish_container` resumes it
        video_id = state.get("video_id") or await self._search(ctx)
        if not video_id:
            return None
        if not state.get("video_id") and ctx.stage is not None:
            await ctx.stage.save(index, {"video_id": video_id})
        try:
            return _settled(await self._video(ctx, video_id), self._options(ctx).shorts)
        except (StillProcessing, ContentRejected):
            return None  # `publish_container` follows it, and says so

    async def _search(self, ctx: PublishContext) -> str | None:
        title = self._options(ctx).title
        params = {"part": "snippet", "forMine": "true", "type": "video", "order": "date", "maxResults": "50"}
        body = await self._call("GET", self._url("/youtube/v3/search"), ctx, params=params)
        for item in body.get("items") or []:
            snippet = item.get("snippet") or {}
            if snippet.get("title") == title and posted_since(_time(snippet.get("publishedAt")), ctx.sent_at):
                return str((item.get("id") or {}).get("videoId") or "") or None
        return None

    async def _find_comment(
        self, ctx: PublishContext, container: Container, parent: PublishedContainer | None
    ) -> PublishedContainer | None:
        if parent is None:
            return None
        channel = ph.account_of(ctx).network_unique_id
        params = {"part": "snippet", "videoId": parent.platform_post_id, "order": "time", "maxResults": "100"}
        body = await self._call("GET", self._url("/youtube/v3/commentThreads"), ctx, params=params)
        for thread in body.get("items") or []:
            top = ((thread.get("snippet") or {}).get("topLevelComment") or {}).get("snippet") or {}
            if (
                top.get("textOriginal") == container.content
                and (top.get("authorChannelId") or {}).get("value") == channel
                and posted_since(_time(top.get("publishedAt")), ctx.sent_at)
            ):
                return _comment_of(thread)
        return None


def _video_of(container: Container) -> MediaRef:
    videos = [m for m in container.media if m.type == "video"]
    if len(videos) != 1 or len(container.media) != 1:
        raise ContentRejected("YouTube publishes exactly one video", code="invalid_content")
    return videos[0]


def _settled(video: dict[str, Any], shorts: bool) -> PublishedContainer:
    """The video once YouTube has processed it; `StillProcessing` before, `media_rejected` if it failed."""
    video_id, status = str(video["id"]), video.get("status") or {}
    details = video.get("processingDetails") or {}
    upload = status.get("uploadStatus")
    if upload in ("failed", "rejected", "deleted"):
        reason = status.get("failureReason") or status.get("rejectionReason") or upload
        raise ContentRejected(f"YouTube {upload} the video {video_id}: {reason}", code="media_rejected")
    processing = details.get("processingStatus")
    if processing in ("failed", "terminated"):
        reason = details.get("processingFailureReason") or processing
        raise ContentRejected(f"YouTube could not process the video {video_id}: {reason}", code="media_rejected")
    if processing != "succeeded":
        left_ms = str((details.get("processingProgress") or {}).get("timeLeftMs") or "")
        # YouTube's own estimate, within reason; its absence means no estimate yet.
        wait = min(max(int(left_ms) / 1000, 5.0), 600.0) if left_ms.isdigit() else PROCESSING_RETRY_S
        raise StillProcessing(f"YouTube is processing the video {video_id}", retry_after_s=wait)
    kind = "shorts/" if shorts else "watch?v="
    return PublishedContainer(video_id, f"https://www.youtube.com/{kind}{video_id}")


def _comment_of(thread: dict[str, Any]) -> PublishedContainer:
    snippet = thread.get("snippet") or {}
    comment_id = str((snippet.get("topLevelComment") or {}).get("id") or thread["id"])
    return PublishedContainer(comment_id, f"https://www.youtube.com/watch?v={snippet.get('videoId')}&lc={comment_id}")


def _time(raw: Any) -> datetime | None:
    try:
        return msgspec.convert(raw, datetime) if raw else None
    except msgspec.ValidationError:
        return None


def publisher(http: httpx.AsyncClient, settings: PlatformSettings) -> YouTubeAdapter:
    return YouTubeAdapter(http, settings)
