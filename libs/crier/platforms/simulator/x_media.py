"""X's media upload, API v2 (`../shared/platform-contracts/x/openapi.json`): `POST
/2/media/upload/initialize` (JSON `media_type`, `total_bytes`, `media_category`), `POST
/2/media/upload/{id}/append` (multipart `media` + `segment_index`), `POST
/2/media/upload/{id}/finalize`, `GET /2/media/upload?command=STATUS&media_id=` and `POST
/2/media/metadata` (alt text of an image or GIF, at most 1000 characters), each with scope
`media.write`.

The bytes are checked at FINALIZE as X checks them: the declared size, the type against the
category, the category's size limit; a video's duration (0.5 s to 20 minutes), frame rate (60) and
sides (32 px at least, aspect 1:3 to 3:1) make its processing fail. Images are ready at once; GIFs
and videos process for the `processing_s` setting (failing if `processing_fails`), answering
`processing_info` as X does. A post may name only its user's media that finished processing
(`check_post_media`), up to 4 images or one GIF or one video.
"""

from __future__ import annotations

import time
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile

from crier.platforms.simulator import authz
from crier.platforms.simulator.authz import Dialect, SimError, reply
from crier.platforms.simulator.http import json_of
from crier.platforms.simulator.media import MediaItem, inspected
from crier.platforms.simulator.world import Grant, World

MB = 1024 * 1024
CATEGORIES = {"tweet_image": "image", "tweet_gif": "gif", "tweet_video": "video"}
LIMITS = {"image": 5 * MB, "gif": 15 * MB, "video": 8 * 1024 * MB}
MEDIA_TYPES = frozenset(
    {"video/mp4", "video/webm", "video/mp2t", "video/quicktime", "image/jpeg", "image/gif", "image/png", "image/webp"}
)
# X's media key prefixes: photo, video, animated GIF.
KEY_PREFIX = {"image": "3", "video": "7", "gif": "16"}
MAX_ALT_TEXT = 1000
EXPIRES_S = 86400


def _invalid(message: str) -> SimError:
    return SimError(
        reply(
            {
                "errors": [{"message": message}],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": "https://api.x.com/2/problems/invalid-request",
            },
            400,
        )
    )


def _owned(world: World, grant: Grant, media_id: str) -> MediaItem:
    item = world.media.get("x", media_id)
    if item is None or item.user_id != grant.user_id:
        raise _invalid(f"Could not find media with id: [{media_id}].")
    return item


def _kind_of(item: MediaItem) -> str:
    return CATEGORIES[item.extra["media_category"]]


def _video_problem(item: MediaItem) -> str | None:
    if item.duration_s is not None and not 0.5 <= item.duration_s <= 1200:
        return f"Duration too long or too short: {item.duration_s:.1f} s"
    if item.frame_rate is not None and item.frame_rate > 60.01:
        return f"Frame rate too high: {item.frame_rate:g}"
    if item.width and item.height:
        if min(item.width, item.height) < 32:
            return f"Dimensions too small: {item.width}x{item.height}"
        if not 1 / 3 - 1e-3 <= item.width / item.height <= 3 + 1e-3:
            return f"Aspect ratio out of range: {item.width}x{item.height}"
    return None


def _status(world: World, item: MediaItem) -> dict[str, Any]:
    """The media as FINALIZE and STATUS describe it."""
    data: dict[str, Any] = {
        "id": item.id,
        "media_key": item.extra["media_key"],
        "size": len(item.data),
        "expires_after_secs": EXPIRES_S,
    }
    kind = _kind_of(item)
    if kind == "image":
        data["image"] = {"image_type": item.mime, "w": item.width, "h": item.height}
        return data
    state = {"processing": "in_progress", "ready": "succeeded", "failed": "failed"}[item.status(world.now())]
    info: dict[str, Any] = {"state": state}
    if state == "in_progress":
        left = item.ready_at - world.now()
        info |= {"check_after_secs": max(1, int(left + 0.999)), "progress_percent": 50}
    elif state == "succeeded":
        info["progress_percent"] = 100
        data["video"] = {"video_type": item.mime}
    data["processing_info"] = info
    return data


def initialize(world: World, grant: Grant, body: dict[str, Any]) -> dict[str, Any]:
    mime, size, category = body.get("media_type"), body.get("total_bytes"), body.get("media_category")
    if mime not in MEDIA_TYPES:
        raise _invalid(f"$.media_type: does not have a value in the enumeration: {mime}")
    if not isinstance(size, int) or size < 0:
        raise _invalid("$.total_bytes: integer expected")
    if category not in CATEGORIES:
        raise _invalid(f"$.media_category: this simulator takes {sorted(CATEGORIES)}, not {category}")
    kind = CATEGORIES[category]
    if size > LIMITS[kind]:
        raise _invalid(f"File size exceeds {LIMITS[kind]} bytes.")
    media_id = world.number(19)
    item = world.media.add(
        MediaItem(
            platform="x",
            id=media_id,
            user_id=grant.user_id,
            data=b"",
            mime=str(mime),
            kind="unknown",
            extra={
                "media_category": category,
                "total_bytes": size,
                "segments": {},
                "finalized": False,
                "media_key": f"{KEY_PREFIX[kind]}_{media_id}",
            },
        )
    )
    return {"id": media_id, "media_key": item.extra["media_key"], "expires_after_secs": EXPIRES_S}


def finalize(world: World, item: MediaItem) -> dict[str, Any]:
    if item.extra["finalized"]:
        return _status(world, item)
    segments: dict[int, bytes] = item.extra.pop("segments")
    data = b"".join(segments[i] for i in sorted(segments))
    if len(data) != item.extra["total_bytes"]:
        raise _invalid(f"File size mismatch: declared {item.extra['total_bytes']} bytes, received {len(data)}.")
    found = inspected("x", item.id, item.user_id, data, declared_mime=item.mime)
    kind = _kind_of(item)
    if found.kind != kind:
        raise _invalid(f"InvalidMedia: the bytes are {found.kind}, not what {item.extra['media_category']} takes.")
    item.data, item.kind, item.mime = data, found.kind, found.mime
    item.width, item.height, item.duration_s, item.frame_rate = (
        found.width,
        found.height,
        found.duration_s,
        found.frame_rate,
    )
    item.extra["finalized"] = True
    if kind != "image":
        item.ready_at, item.fails = world.processing_until("x")
        if kind == "video" and _video_problem(item):
            item.fails = True
    return _status(world, item)


def check_post_media(world: World, grant: Grant, media: Any) -> list[str]:
    """What `POST /2/tweets` checks of `media.media_ids`: the media keys of a post that may carry them."""
    ids = media.get("media_ids") if isinstance(media, dict) else None
    if not isinstance(ids, list) or not 1 <= len(ids) <= 4:
        raise _invalid("$.media.media_ids: between 1 and 4 media ids expected")
    items = [world.media.get("x", str(i)) for i in ids]
    if any(i is None or i.user_id != grant.user_id or not i.extra.get("finalized") for i in items):
        raise _invalid("Your media IDs are invalid.")
    chosen = [i for i in items if i is not None]
    if any(i.status(world.now()) != "ready" for i in chosen):
        raise _invalid("Your media IDs are invalid: media still processing or failed.")
    kinds = {_kind_of(i) for i in chosen}
    if len(kinds) > 1 or (kinds & {"gif", "video"} and len(chosen) > 1):
        raise _invalid("Your media IDs are invalid: up to 4 images, or 1 GIF, or 1 video.")
    return [str(i.extra["media_key"]) for i in chosen]


def routes(world: World, dialect: Dialect) -> list[Any]:
    def granted(request: Request[Any, Any, Any]) -> Grant:
        _, grant = authz.bearer(world, "x", dialect, request)
        if "media.write" not in grant.scopes:
            raise SimError(
                reply(
                    {"detail": "You are not permitted to perform this action.", "title": "Forbidden", "status": 403},
                    403,
                )
            )
        return grant

    @post("/2/media/upload/initialize", opt={"endpoint": "media_initialize"}, status_code=200)
    async def init(request: Request[Any, Any, Any]) -> Response[Any]:
        grant = granted(request)
        return reply({"data": initialize(world, grant, await json_of(request))})

    @post("/2/media/upload/{media_id:str}/append", opt={"endpoint": "media_append"}, status_code=200)
    async def append(request: Request[Any, Any, Any]) -> Response[Any]:
        item = _owned(world, granted(request), request.path_params["media_id"])
        form = await request.form()
        chunk, index = form.get("media"), form.get("segment_index")
        if not str(index or "").isdigit() or not 0 <= int(str(index)) <= 999:
            raise _invalid("$.segment_index: an integer from 0 to 999 expected")
        data = await chunk.read() if isinstance(chunk, UploadFile) else str(chunk or "").encode()
        if item.extra.get("finalized") or not data:
            raise _invalid("$.media: a segment of a media upload still open expected")
        item.extra["segments"][int(str(index))] = data
        return reply({"data": {"expires_at": int(time.time()) + EXPIRES_S}})

    @post("/2/media/upload/{media_id:str}/finalize", opt={"endpoint": "media_finalize"}, status_code=200)
    async def fin(request: Request[Any, Any, Any]) -> Response[Any]:
        item = _owned(world, granted(request), request.path_params["media_id"])
        return reply({"data": finalize(world, item)})

    @get("/2/media/upload", opt={"endpoint": "media_status"})
    async def status(request: Request[Any, Any, Any]) -> Response[Any]:
        grant = granted(request)
        if request.query_params.get("command", "STATUS") != "STATUS":
            raise _invalid("$.command: STATUS expected")
        item = _owned(world, grant, request.query_params.get("media_id", ""))
        return reply({"data": _status(world, item)})

    @post("/2/media/metadata", opt={"endpoint": "media_metadata"}, status_code=200)
    async def metadata(request: Request[Any, Any, Any]) -> Response[Any]:
        grant = granted(request)
        body = await json_of(request)
        item = _owned(world, grant, str(body.get("id") or ""))
        alt = ((body.get("metadata") or {}).get("alt_text") or {}).get("text")
        if not isinstance(alt, str):
            raise _invalid("$.metadata.alt_text.text: string expected")
        if _kind_of(item) == "video":
            raise _invalid("$.metadata.alt_text: alt text is supported for images and GIFs only")
        if len(alt) > MAX_ALT_TEXT:
            raise _invalid(f"$.metadata.alt_text.text: must be at most {MAX_ALT_TEXT} characters")
        item.alt_text = alt
        return reply({"data": {"id": item.id, "associated_metadata": {"alt_text": {"text": alt}}}})

    return [init, append, fin, status, metadata]
