"""TikTok publishing with the Content Posting API (Direct Post): a post is one video or a photo post
of up to 35 images, and nothing else: no comments, no threads, no text-only posts.

- Every post starts with `POST /v2/post/publish/creator_info/query/`: the privacy levels this
  creator may post with, whether they turned comments, duets or stitches off, and the longest video
  they may post. TikTok makes the user choose the privacy level (there is no default), so
  `config.tiktok.privacy_level` is required; one the creator does not offer is a permanent
  `invalid_config`, a video longer than their maximum `invalid_content`. What the creator turned
  off stays off whatever the config says.
- A video is sent with `FILE_UPLOAD`: `POST /v2/post/publish/video/init/` with `post_info` (the
  text is the `title`, 2200 UTF-16 units) and `source_info` (`video_size`, `chunk_size`,
  `total_chunk_count`) answers a `publish_id` and an `upload_url` on another host, to which the
  chunks are PUT in order with `Content-Range`. Chunks are 5 to 64 MB, the last one takes the
  trailing bytes (up to 128 MB), a file under 5 MB is one chunk; `total_chunk_count` is the size
  divided by the chunk size, rounded down. (`PULL_FROM_URL` needs a domain verified with TikTok,
  which a self-hosted Crier's URL rarely is, so it is not used for video.)
- Photos can only be pulled: `POST /v2/post/publish/content/init/` with `media_type: PHOTO` and the
  signed URLs in `photo_images` (JPEG or WebP, up to 1080p); the text is the `description` (4000),
  `config.tiktok.title` the title (90).
- TikTok then processes the post: `POST /v2/post/publish/status/fetch/` says PROCESSING_UPLOAD or
  PROCESSING_DOWNLOAD (wait), PUBLISH_COMPLETE, or FAILED with a `fail_reason`. A public post's id
  comes in `publicaly_available_post_id` (TikTok's spelling), sometimes only after moderation; until
  then the `publish_id` is the only id there is.
- Answers always carry `{"error": {"code", "message", "log_id"}}`, "ok" on success; errors can
  come with HTTP 200, so the code decides.
- TikTok publishes a video as soon as its last chunk is in, so the `publish_id` is saved (as
  uploading) before the first chunk: a delivery that finds one asks TikTok's status how many bytes
  arrived (`uploaded_bytes`) and uploads anew only when they are not all there.
- TikTok lists a creator's posts only to apps with `video.list`: `find_published` knows a post by
  the `publish_id` saved in the stage, and cannot find a photo post whose init answer was lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

import httpx
import msgspec

from crier.contracts.common import Container, MediaRef
from crier.kit.errors import Problem
from crier.platforms import _publish_http as ph
from crier.platforms._oauth_http import retry_after
from crier.platforms.base import (
    ContentRejected,
    MediaSource,
    NotSupported,
    PlatformError,
    PlatformSettings,
    PublishContext,
    PublishedContainer,
    RateLimited,
    StillProcessing,
    TokenRejected,
    TransientError,
)
from crier.platforms.media_rules import MB, MediaLimits
from crier.platforms.rules import Rules

API_BASE = "https://open.tiktokapis.com"
MAX_TITLE = 2200  # a video's caption
MAX_DESCRIPTION = 4000  # a photo post's text
PROCESSING_POLL_S = 10.0

# Chunked upload: 5 to 64 MB a chunk, the last one up to 128 MB; under 5 MB, one chunk.
MIN_CHUNK = 5 * MB
CHUNK = 10 * MB


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class TikTokConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # Required: TikTok wants the user to pick one of the creator's options, never a default.
    privacy_level: Literal["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"]
    disable_comment: bool = False
    disable_duet: bool = False
    disable_stitch: bool = False
    # The frame of a video that becomes its cover.
    video_cover_timestamp_ms: Annotated[int, msgspec.Meta(ge=0)] | None = None
    # A photo post's title, cover (which image), and whether TikTok adds music to it.
    title: Annotated[str, msgspec.Meta(max_length=90)] | None = None
    photo_cover_index: Annotated[int, msgspec.Meta(ge=0)] = 0
    auto_add_music: bool | None = None


class TikTokRules(Rules):
    platform = "tiktok"
    config_type = TikTokConfig
    max_length = MAX_TITLE
    text_required = False
    # The Content Posting API's media restrictions: video MP4, WebM or MOV up to 4 GB, 3 s to
    # 10 min, 23 to 60 fps, 360 to 4096 px a side; photos JPEG or WebP up to 20 MB and 1080p,
    # at most 35; no mixing, no alt text.
    media = MediaLimits(
        max_items=35,
        types=frozenset({"image", "video"}),
        required=True,
        image_mimes=frozenset({"image/jpeg", "image/webp"}),
        video_mimes=frozenset({"video/mp4", "video/webm", "video/quicktime"}),
        image_max_bytes=20 * MB,
        video_max_bytes=4 * 1024 * MB,
        min_duration_s=3,
        max_duration_s=600,
        max_frame_rate=60,
    )

    def length(self, text: str) -> int:
        return utf16_length(text)

    def check_container(self, index: int, container: Container) -> list[Problem]:
        problems = super().check_container(index, container)
        for i, item in enumerate(container.media):
            problems += _shape_problems(f"containers[{index}].media[{i}]", item)
        return problems

    def check_text(self, index: int, container: Container) -> list[Problem]:
        most = MAX_DESCRIPTION if _photos(container.media) else MAX_TITLE
        if self.length(container.content) > most:
            return [
                Problem(
                    f"containers[{index}].content",
                    "too_long",
                    f"{self.length(container.content)} characters as tiktok counts them; at most {most}",
                )
            ]
        return []

    def check_config(self, config: Any, containers: Sequence[Container]) -> list[Problem]:
        images = [m for m in containers[0].media if m.type == "image"] if containers else []
        if isinstance(config, TikTokConfig) and images and config.photo_cover_index >= len(images):
            return [Problem("config.tiktok.photo_cover_index", "invalid_config", f"the post has {len(images)} photos")]
        return []


def _photos(media: Sequence[MediaRef]) -> bool:
    return bool(media) and all(m.type == "image" for m in media)


def _shape_problems(field: str, item: MediaRef) -> list[Problem]:
    """What MediaLimits cannot say: a video's smallest side and frame rate, and a photo's 1080p."""
    sides = sorted(s for s in (item.width, item.height) if s)
    problems = []
    if item.type == "video" and sides and (sides[0] < 360 or sides[-1] > 4096):
        problems.append(Problem(field, "media_dimensions", f"{item.width}x{item.height}; tiktok takes 360 to 4096 px"))
    if item.type == "video" and item.frame_rate is not None and item.frame_rate < 23 - 0.01:
        problems.append(Problem(field, "media_frame_rate", f"{item.frame_rate:g} fps; tiktok needs at least 23"))
    if item.type == "image" and len(sides) == 2 and (sides[0] > 1080 or sides[1] > 1920):
        problems.append(Problem(field, "media_dimensions", f"{item.width}x{item.height}; tiktok takes up to 1080p"))
    return problems


rules = TikTokRules()


def chunk_plan(size: int) -> tuple[int, int]:
    """`(chunk_size, total_chunk_count)` for a video of `size` bytes, as TikTok counts chunks (the
    last one takes the bytes left over)."""
    if size < 2 * CHUNK:
        return size, 1  # under 5 MB it must be one chunk; up to 20 MB one chunk is within 64 MB
    return CHUNK, size // CHUNK


# TikTok's error codes that say more than the HTTP status.
_PERMANENT = {
    "privacy_level_option_mismatch": "invalid_config",
    "spam_risk_too_many_posts": "content_rejected",
    "spam_risk_user_banned_from_posting": "content_rejected",
    "unaudited_client_can_only_post_to_private_accounts": "invalid_config",
    "url_ownership_unverified": "content_rejected",
    "invalid_params": "content_rejected",
    "invalid_file_upload": "content_rejected",
}


def _classify(resp: httpx.Response, body: Any) -> PlatformError | None:
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    if code in (None, "ok"):
        return None
    said = str(error.get("message") or code)  # type: ignore[union-attr]
    if code == "rate_limit_exceeded":
        return RateLimited(f"tiktok rate limit: {said}", retry_after_s=retry_after(resp.headers))
    if code in ("access_token_invalid", "invalid_token"):
        return TokenRejected(said)
    if code == "scope_not_authorized":
        return PlatformError(said, code="missing_permission")
    if code in _PERMANENT:
        return ContentRejected(f"{said} ({code})", code=_PERMANENT[code])
    if code == "internal_error":
        return TransientError(f"tiktok: {said}")
    return None  # the status decides


class TikTokAdapter:
    name = "tiktok"
    transactional = False
    needs_account = True

    def __init__(self, http: httpx.AsyncClient, settings: PlatformSettings) -> None:
        self.http = http
        self.settings = settings

    async def _call(self, ctx: PublishContext, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answered = await ph.send(
            self.http,
            "tiktok",
            "POST",
            self.settings.base("tiktok", API_BASE) + path,
            classify=_classify,
            json=body,
            headers=ph.bearer(ph.account_of(ctx).access_token),
            timeout=self.settings.timeout_s,
        )
        return dict(answered.get("data") or {}) if isinstance(answered, dict) else {}

    async def publish_container(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer:
        if index > 0:
            raise NotSupported("tiktok takes no comments or replies", code="first_comment_unsupported")
        saved = ctx.stage.get(0) if ctx.stage is not None else {}
        publish_id = saved.get("publish_id")
        if publish_id is not None and saved.get("uploading"):
            # The delivery that started this upload stopped before knowing it complete. TikTok
            # publishes a video once all its bytes are in, so uploading it anew could post it
            # twice: ask TikTok how far it got, and start over only if it is not all there.
            publish_id = await self._uploaded(ctx, container.media[0], str(publish_id))
        if publish_id is None:
            publish_id = await self._send(ctx, container, _options(ctx, container))
        await _save(ctx, {"publish_id": publish_id})
        return await self._outcome(ctx, container, str(publish_id))

    async def _uploaded(self, ctx: PublishContext, video: MediaRef, publish_id: str) -> str | None:
        """`publish_id` if TikTok has every byte of its video, else None (an incomplete upload is
        dropped by TikTok unpublished)."""
        found = await self._call(ctx, "/v2/post/publish/status/fetch/", {"publish_id": publish_id})
        if found.get("status") == "PROCESSING_UPLOAD" and int(found.get("uploaded_bytes") or 0) < video.size_bytes:
            return None
        return publish_id

    async def _send(self, ctx: PublishContext, container: Container, options: TikTokConfig) -> str:
        creator = await self._call(ctx, "/v2/post/publish/creator_info/query/", {})
        offered = creator.get("privacy_level_options") or []
        if options.privacy_level not in offered:
            raise ContentRejected(
                f"this creator cannot post {options.privacy_level}; they can post {', '.join(offered) or 'nothing'}",
                code="invalid_config",
            )
        flags: dict[str, Any] = {
            "disable_comment": options.disable_comment or bool(creator.get("comment_disabled")),
            "privacy_level": options.privacy_level,
        }
        video = container.media[0] if container.media[0].type == "video" else None
        if video is None:
            return await self._pull_photos(ctx, container, options, flags)
        longest = creator.get("max_video_post_duration_sec")
        if isinstance(longest, int | float) and (video.duration_s or 0) > longest:
            raise ContentRejected(
                f"the video is {video.duration_s:.1f} s; this creator may post at most {longest} s",
                code="invalid_content",
            )
        post_info: dict[str, Any] = {
            "title": container.content,
            **flags,
            "disable_duet": options.disable_duet or bool(creator.get("duet_disabled")),
            "disable_stitch": options.disable_stitch or bool(creator.get("stitch_disabled")),
        }
        if options.video_cover_timestamp_ms is not None:
            post_info["video_cover_timestamp_ms"] = options.video_cover_timestamp_ms
        chunk_size, count = chunk_plan(video.size_bytes)
        started = await self._call(
            ctx,
            "/v2/post/publish/video/init/",
            {
                "post_info": post_info,
                "source_info": {
                    "source": "FILE_UPLOAD",
                    "video_size": video.size_bytes,
                    "chunk_size": chunk_size,
                    "total_chunk_count": count,
                },
            },
        )
        await _save(ctx, {"publish_id": str(started["publish_id"]), "uploading": True})
        await self._upload(ctx, video, str(started["upload_url"]), chunk_size, count)
        return str(started["publish_id"])

    async def _pull_photos(
        self, ctx: PublishContext, container: Container, options: TikTokConfig, flags: dict[str, Any]
    ) -> str:
        source = _media_of(ctx)
        post_info: dict[str, Any] = {"description": container.content, **flags}
        if options.title is not None:
            post_info["title"] = options.title
        if options.auto_add_music is not None:
            post_info["auto_add_music"] = options.auto_add_music
        started = await self._call(
            ctx,
            "/v2/post/publish/content/init/",
            {
                "post_info": post_info,
                "source_info": {
                    "source": "PULL_FROM_URL",
                    "photo_cover_index": options.photo_cover_index,
                    "photo_images": [source.url(m) for m in container.media],
                },
                "post_mode": "DIRECT_POST",
                "media_type": "PHOTO",
            },
        )
        return str(started["publish_id"])

    async def _upload(self, ctx: PublishContext, video: MediaRef, url: str, chunk_size: int, count: int) -> None:
        """The chunks in order, read from the media store as they go (at most two chunks in memory:
        the last one carries the bytes left over)."""
        sent, part, buffer = 0, 0, bytearray()
        async for piece in _media_of(ctx).chunks(video, chunk_size):
            buffer += piece
            while part < count - 1 and len(buffer) >= chunk_size:
                await self._put(url, video, bytes(buffer[:chunk_size]), sent)
                del buffer[:chunk_size]
                sent, part = sent + chunk_size, part + 1
        await self._put(url, video, bytes(buffer), sent)

    async def _put(self, url: str, video: MediaRef, chunk: bytes, first: int) -> None:
        await ph.send(
            self.http,
            "tiktok",
            "PUT",
            url,
            classify=_classify,
            content=chunk,
            headers={
                "Content-Type": video.mime or "video/mp4",
                "Content-Range": f"bytes {first}-{first + len(chunk) - 1}/{video.size_bytes}",
            },
            timeout=max(self.settings.timeout_s, 60.0),
        )

    async def _outcome(self, ctx: PublishContext, container: Container, publish_id: str) -> PublishedContainer:
        found = await self._call(ctx, "/v2/post/publish/status/fetch/", {"publish_id": publish_id})
        status = found.get("status")
        if status == "PUBLISH_COMPLETE":
            public = [str(i) for i in found.get("publicaly_available_post_id") or []]
            if not public:
                return PublishedContainer(publish_id)
            kind = "photo" if _photos(container.media) else "video"
            return PublishedContainer(public[0], f"https://www.tiktok.com/@{ctx.account_username}/{kind}/{public[0]}")
        if status == "FAILED":
            raise ContentRejected(
                f"tiktok failed the post: {found.get('fail_reason') or 'no reason given'}", code="media_rejected"
            )
        raise StillProcessing(f"tiktok is processing the post ({status})", retry_after_s=PROCESSING_POLL_S)

    async def find_published(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer | None:
        """The post whose upload or pull TikTok accepted (its `publish_id` saved), once TikTok has
        published it; None while it is processing, so that `publish_container` waits for it."""
        publish_id = (ctx.stage.get(0) if ctx.stage is not None else {}).get("publish_id")
        if index > 0 or publish_id is None:
            return None
        try:
            return await self._outcome(ctx, container, str(publish_id))
        except StillProcessing:
            return None


def _options(ctx: PublishContext, container: Container) -> TikTokConfig:
    options, problems = rules.config(ctx.config)
    if not container.media:
        problems.append(Problem("containers[0].media", "media_required", "tiktok posts a video or photos"))
    if problems or not isinstance(options, TikTokConfig):
        raise ContentRejected("; ".join(p.message for p in problems), code="invalid_content")
    return options


async def _save(ctx: PublishContext, state: dict[str, Any]) -> None:
    if ctx.stage is not None:
        await ctx.stage.save(0, state)


def _media_of(ctx: PublishContext) -> MediaSource:
    if ctx.media is None:
        raise ContentRejected("no media source to read the post's media from", code="invalid_content")
    return ctx.media


def publisher(http: httpx.AsyncClient, settings: PlatformSettings) -> TikTokAdapter:
    return TikTokAdapter(http, settings)
