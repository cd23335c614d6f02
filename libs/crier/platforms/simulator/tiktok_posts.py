"""TikTok's Content Posting API (Direct Post): `creator_info/query`, a video's `video/init` with
`FILE_UPLOAD` (chunks PUT in order to an `upload_url` under the simulator's own base, where TikTok's
is open-upload.tiktokapis.com) or `PULL_FROM_URL`, a photo post's `content/init` (pulled from
`photo_images`), and `status/fetch`.

The chunk rules are TikTok's: `total_chunk_count` = size // chunk_size, chunks of 5 to 64 MB (the
last up to 128 MB, taking the trailing bytes), a file under 5 MB in one chunk, each PUT with its
`Content-Range`, answered 206 until the last (201). Once every byte is in (or every photo pulled),
the post is PROCESSING_UPLOAD (PROCESSING_DOWNLOAD for pulls) until the `processing_s` setting has
passed, then PUBLISH_COMPLETE, the post made with a public id when it is PUBLIC_TO_EVERYONE, or
FAILED with a `fail_reason`: what TikTok's checks refuse (not a video, under 3 s or over the
creator's maximum, under 23 fps or over 60, a side under 360 px; photos not JPEG or WebP, over
1080p), or the `processing_fails` setting.

Settings: `privacy_level_options` (default PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, SELF_ONLY),
`max_video_post_duration_sec` (600), `comment_disabled`, `duet_disabled`, `stitch_disabled`.
Endpoints (fault targets): `creator_info`, `video_init`, `video_upload`, `content_init`,
`publish_status`. The stored post keeps its media ids (`media_ids` in its answer).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from litestar import Request, Response, post, put

from crier.platforms.simulator import authz
from crier.platforms.simulator.authz import Dialect, SimError, reply
from crier.platforms.simulator.media import MediaItem, fetch, inspected
from crier.platforms.simulator.posts import Post, payload
from crier.platforms.simulator.world import User, World

MB = 1024 * 1024
PRIVACY = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY")
# What a creator may post with unless the `privacy_level_options` setting says otherwise.
OFFERED = ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


@dataclass
class Publish:
    """One post under way: its upload (or pulls), then TikTok's processing."""

    id: str
    user_id: str
    kind: str  # video | photo
    pulled: bool
    body: dict[str, Any]
    size: int = 0
    chunk_size: int = 0
    chunks: int = 0
    received: bytearray = field(default_factory=bytearray)
    parts: int = 0
    media: list[MediaItem] = field(default_factory=list)
    fail_reason: str | None = None
    post_id: str | None = None


def _error(status: int, code: str, message: str) -> SimError:
    return SimError(
        reply(
            {"data": {}, "error": {"code": code, "message": message, "log_id": secrets.token_hex(16).upper()}}, status
        )
    )


def _ok(data: dict[str, Any]) -> Response[Any]:
    return reply({"data": data, "error": {"code": "ok", "message": "", "log_id": secrets.token_hex(16).upper()}})


def routes(world: World, dialect: Dialect) -> list[Any]:
    publishes: dict[str, Publish] = {}

    def user_of(request: Request[Any, Any, Any]) -> User:
        _, grant = authz.bearer(world, "tiktok", dialect, request)
        if "video.publish" not in grant.scopes:
            raise _error(401, "scope_not_authorized", "The user did not authorize the scope video.publish")
        user = world.user("tiktok", grant.user_id)
        assert user is not None
        return user

    def setting(name: str, default: Any) -> Any:
        return world.setting("tiktok", name, default)

    def post_info(body: dict[str, Any], text_field: str, most: int) -> dict[str, Any]:
        info = body.get("post_info")
        if not isinstance(info, dict):
            raise _error(400, "invalid_params", "post_info is required")
        if info.get("privacy_level") not in PRIVACY:
            raise _error(400, "invalid_params", "post_info.privacy_level is required")
        if info["privacy_level"] not in setting("privacy_level_options", OFFERED):
            raise _error(400, "privacy_level_option_mismatch", "privacy_level is not one of the creator's options")
        text = info.get(text_field) or ""
        if len(str(text).encode("utf-16-le")) // 2 > most:
            raise _error(400, "invalid_params", f"post_info.{text_field} is longer than {most}")
        return info

    def processed(publish: Publish) -> None:
        """Media in: TikTok's checks, then processing by time."""
        publish.fail_reason = _checks(publish, float(setting("max_video_post_duration_sec", 600)))
        ready_at, fails = world.processing_until("tiktok")
        for item in publish.media:
            item.ready_at, item.fails = ready_at, fails
            world.media.add(item)
        if fails and publish.fail_reason is None:
            publish.fail_reason = "internal"

    @post("/v2/post/publish/creator_info/query", opt={"endpoint": "creator_info"}, status_code=200)
    async def creator_info(request: Request[Any, Any, Any]) -> Response[Any]:
        user = user_of(request)
        return _ok(
            {
                "creator_avatar_url": user.avatar_url,
                "creator_username": user.username,
                "creator_nickname": user.display_name,
                "privacy_level_options": setting("privacy_level_options", OFFERED),
                "comment_disabled": bool(setting("comment_disabled", False)),
                "duet_disabled": bool(setting("duet_disabled", False)),
                "stitch_disabled": bool(setting("stitch_disabled", False)),
                "max_video_post_duration_sec": int(setting("max_video_post_duration_sec", 600)),
            }
        )

    @post("/v2/post/publish/video/init", opt={"endpoint": "video_init"}, status_code=200)
    async def video_init(request: Request[Any, Any, Any]) -> Response[Any]:
        user = user_of(request)
        body = await payload(request)
        post_info(body, "title", 2200)
        source = _object(body.get("source_info"))
        publish_id = f"v_pub_file~v2-1.{world.number(19)}"
        if source.get("source") == "PULL_FROM_URL":
            data, mime = await _pulled(source.get("video_url"), "video_pull_failed")
            publish = Publish(publish_id, user.id, "video", True, body)
            publish.media = [inspected("tiktok", world.number(19), user.id, data, declared_mime=mime)]
            publishes[publish_id] = publish
            processed(publish)
            return _ok({"publish_id": publish_id})
        if source.get("source") != "FILE_UPLOAD":
            raise _error(400, "invalid_params", "source_info.source must be FILE_UPLOAD or PULL_FROM_URL")
        size, chunk, count = (
            source.get("video_size", 0),
            source.get("chunk_size", 0),
            source.get("total_chunk_count", 0),
        )
        problem = _chunk_problem(size, chunk, count)
        if problem:
            raise _error(400, "invalid_params", problem)
        publishes[publish_id] = Publish(publish_id, user.id, "video", False, body, size, chunk, count)
        token = secrets.token_urlsafe(12)
        base = str(request.base_url).rstrip("/")
        return _ok(
            {
                "publish_id": publish_id,
                "upload_url": f"{base}/tiktok/video/?upload_id={publish_id}&upload_token={token}",
            }
        )

    # A chunk may be up to 128 MB (the last one), past the server's default body limit.
    @put("/video", opt={"endpoint": "video_upload"}, status_code=201, request_max_body_size=130 * MB)
    async def video_upload(request: Request[Any, Any, Any]) -> Response[Any]:
        publish = publishes.get(request.query_params.get("upload_id", ""))
        if publish is None or publish.pulled or publish.parts >= publish.chunks:
            raise _error(404, "invalid_file_upload", "no upload under way for this upload_id")
        match = _RANGE.fullmatch(request.headers.get("content-range", ""))
        chunk = await request.body()
        if match is None:
            raise _error(400, "invalid_file_upload", "Content-Range is required")
        first, last, total = (int(g) for g in match.groups())
        last_part = publish.parts == publish.chunks - 1
        expected_len = publish.size - len(publish.received) if last_part else publish.chunk_size
        if first != len(publish.received) or total != publish.size or last - first + 1 != len(chunk):
            raise _error(400, "invalid_file_upload", "chunks must be uploaded in order with their Content-Range")
        if len(chunk) != expected_len:
            raise _error(400, "invalid_file_upload", f"chunk {publish.parts + 1} must be {expected_len} bytes")
        publish.received += chunk
        publish.parts += 1
        if not last_part:
            return Response(content=b"", status_code=206)
        item = inspected("tiktok", world.number(19), publish.user_id, bytes(publish.received))
        publish.media = [item]
        publish.received = bytearray()
        processed(publish)
        return Response(content=b"", status_code=201)

    @post("/v2/post/publish/content/init", opt={"endpoint": "content_init"}, status_code=200)
    async def content_init(request: Request[Any, Any, Any]) -> Response[Any]:
        user = user_of(request)
        body = await payload(request)
        post_info(body, "description", 4000)
        if body.get("media_type") != "PHOTO" or body.get("post_mode") not in ("DIRECT_POST", "MEDIA_UPLOAD"):
            raise _error(400, "invalid_params", "media_type must be PHOTO and post_mode DIRECT_POST or MEDIA_UPLOAD")
        source = _object(body.get("source_info"))
        urls = source.get("photo_images")
        if source.get("source") != "PULL_FROM_URL" or not isinstance(urls, list) or not 1 <= len(urls) <= 35:
            raise _error(400, "invalid_params", "photos are pulled: source PULL_FROM_URL with 1 to 35 photo_images")
        if not 0 <= int(source.get("photo_cover_index") or 0) < len(urls):
            raise _error(400, "invalid_params", "photo_cover_index is not one of the photos")
        publish = Publish(f"p_pub_url~v2.{world.number(19)}", user.id, "photo", True, body)
        for url in urls:
            data, mime = await _pulled(url, "photo_pull_failed")
            publish.media.append(inspected("tiktok", world.number(19), user.id, data, declared_mime=mime))
        publishes[publish.id] = publish
        processed(publish)
        return _ok({"publish_id": publish.id})

    @post("/v2/post/publish/status/fetch", opt={"endpoint": "publish_status"}, status_code=200)
    async def publish_status(request: Request[Any, Any, Any]) -> Response[Any]:
        user = user_of(request)
        publish = publishes.get(str((await payload(request)).get("publish_id")))
        if publish is None or publish.user_id != user.id:
            raise _error(400, "invalid_publish_id", "publish_id does not exist")
        if not publish.media:
            return _ok({"status": "PROCESSING_UPLOAD", "uploaded_bytes": len(publish.received)})
        if world.now() < publish.media[0].ready_at:
            if publish.pulled:
                return _ok({"status": "PROCESSING_DOWNLOAD"})
            return _ok({"status": "PROCESSING_UPLOAD", "uploaded_bytes": publish.size})
        if publish.fail_reason is not None:
            return _ok({"status": "FAILED", "fail_reason": publish.fail_reason})
        made = published(publish)
        public = made.request["post_info"]["privacy_level"] == "PUBLIC_TO_EVERYONE"
        return _ok({"status": "PUBLISH_COMPLETE", "publicaly_available_post_id": [int(made.id)] if public else []})

    def published(publish: Publish) -> Post:
        """The post TikTok made of a processed publish (made once)."""
        if publish.post_id is not None:
            found = world.posts.get("tiktok", publish.post_id)
            assert found is not None
            return found
        info = publish.body["post_info"]
        made = Post(
            platform="tiktok",
            id=world.number(19),
            user_id=publish.user_id,
            text=str(info.get("title") if publish.kind == "video" else info.get("description") or ""),
            created_at=world.now(),
            request=publish.body,
            response={"publish_id": publish.id, "media_type": publish.kind, "media_ids": [m.id for m in publish.media]},
        )
        publish.post_id = made.id
        return world.posts.add(made)

    @post("/v2/video/list/", opt={"endpoint": "video_list"}, status_code=200)
    async def video_list(request: Request[Any, Any, Any]) -> Response[Any]:
        """The user's public videos, newest first: `max_count` (≤ 20) a page, `cursor` = the
        `create_time` (ms) of the last one shown, `has_more`."""
        _, grant = authz.bearer(world, "tiktok", dialect, request)
        if "video.list" not in grant.scopes:
            raise _error(401, "scope_not_authorized", "The user did not authorize the scope video.list")
        body = await payload(request)
        count = body.get("max_count", 10)
        if not isinstance(count, int) or not 1 <= count <= 20:
            raise _error(400, "invalid_params", "max_count must be between 1 and 20")
        fields = {f for f in request.query_params.get("fields", "").split(",") if f}
        if not fields:
            raise _error(400, "invalid_params", "fields is required")
        newest = sorted(world.posts.of("tiktok", grant.user_id), key=lambda p: p.created_at, reverse=True)
        if isinstance(body.get("cursor"), int):
            newest = [p for p in newest if int(p.created_at * 1000) < body["cursor"]]
        page = newest[:count]
        videos = [{k: v for k, v in _video(p).items() if k in fields} for p in page]
        data = {
            "videos": videos,
            "cursor": int(page[-1].created_at * 1000) if page else 0,
            "has_more": len(newest) > count,
        }
        return reply({"data": data, "error": {"code": "ok", "message": "", "log_id": secrets.token_hex(16).upper()}})

    return [creator_info, video_init, video_upload, content_init, publish_status, video_list]


def _video(post: Post) -> dict[str, Any]:
    return {
        "id": post.id,
        "title": post.text,
        "video_description": post.text,
        "create_time": int(post.created_at),
        "share_url": f"https://www.tiktok.com/@{post.user_id}/video/{post.id}",
        "duration": 15,
    }


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _chunk_problem(size: Any, chunk: Any, count: Any) -> str | None:
    if not all(isinstance(v, int) and v > 0 for v in (size, chunk, count)):
        return "video_size, chunk_size and total_chunk_count are required"
    if size < 5 * MB and (chunk != size or count != 1):
        return "a video under 5 MB is uploaded whole: chunk_size = video_size, one chunk"
    if size >= 5 * MB and not 5 * MB <= chunk <= 64 * MB:
        return "chunk_size must be 5 MB to 64 MB"
    if count != size // chunk or not 1 <= count <= 1000:
        return "total_chunk_count must be video_size / chunk_size rounded down (1 to 1000)"
    if size - chunk * (count - 1) > 128 * MB:
        return "the last chunk may not exceed 128 MB"
    return None


async def _pulled(url: Any, failure: str) -> tuple[bytes, str]:
    if not isinstance(url, str):
        raise _error(400, "invalid_params", "a media URL is required")
    try:
        return await fetch(url)
    except SimError:
        raise _error(400, failure, f"could not download {url}") from None


def _checks(publish: Publish, longest_s: float) -> str | None:
    """The `fail_reason` TikTok's checks of the media give, if any."""
    for item in publish.media:
        if publish.kind == "photo":
            if item.mime not in ("image/jpeg", "image/webp"):
                return "file_format_check_failed"
            sides = sorted(s or 0 for s in (item.width, item.height))
            if sides[0] > 1080 or sides[1] > 1920:
                return "picture_size_check_failed"
            continue
        if item.kind != "video":
            return "file_format_check_failed"
        if item.duration_s is None or not 3 <= item.duration_s <= longest_s:
            return "duration_check_failed"
        if item.frame_rate is None or not 23 <= item.frame_rate <= 60:
            return "frame_rate_check_failed"
        if min(item.width or 0, item.height or 0) < 360:
            return "picture_size_check_failed"
    return None
