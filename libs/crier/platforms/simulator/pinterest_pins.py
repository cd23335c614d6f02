"""Pinterest's Pins and media, API v5: `POST /v5/pins` on one of the user's boards (the user's
`pages` in the simulator: boards, one by default), `GET /v5/boards/{board_id}/pins` (newest first),
and video uploads: `POST /v5/media` registers one and answers an `upload_url` under the simulator's
own base (Pinterest's is an S3 bucket on another host) with `upload_parameters`; the form POST of
those fields and the `file` answers 204 as S3 does; `GET /v5/media/{media_id}` is `registered`
until then, `processing` until the `processing_s` setting has passed, then `succeeded` (or
`failed` with `processing_fails`).

A Pin's `media_source` is checked as Pinterest checks it: `image_url` and each of 2 to 5
`multiple_image_urls` are fetched and must be images; `image_base64` must decode to the image type
it names; `video_id` must name a processed video of the user's, and a cover. The Pin keeps the ids
of its media (`_sim.media_ids` in the stored answer, which the API never shows) so tests can find
them in `GET /_sim/pinterest/media`. Endpoints (fault targets): `create_pin`, `board_pins`,
`register_media`, `media_status`, `media_upload`.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, get, post

from crier.platforms.simulator import authz
from crier.platforms.simulator.authz import Dialect, SimError, reply
from crier.platforms.simulator.media import MediaItem, fetch, inspected
from crier.platforms.simulator.posts import Post, payload
from crier.platforms.simulator.world import User, World

MAX_DESCRIPTION = 800  # the schema's limit (Pinterest shows 500)
IMAGE_MIMES = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/tiff"}
VIDEO_STATUS = {"processing": "processing", "ready": "succeeded", "failed": "failed"}


def _error(status: int, code: int, message: str) -> SimError:
    return SimError(reply({"code": code, "message": message}, status))


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def routes(world: World, dialect: Dialect) -> list[Any]:
    # Registered video uploads not yet received: media id -> (user id, the upload key).
    registered: dict[str, tuple[str, str]] = {}

    def user_of(request: Request[Any, Any, Any], scope: str) -> User:
        _, grant = authz.bearer(world, "pinterest", dialect, request)
        if scope not in grant.scopes:
            raise _error(403, 3, f"Not authorized: the token lacks {scope}")
        user = world.user("pinterest", grant.user_id)
        assert user is not None
        return user

    def board_of(user: User, board_id: Any) -> dict[str, Any]:
        board = next((b for b in user.pages if str(b["id"]) == str(board_id)), None)
        if board is None:
            raise _error(404, 40, "Board not found.")
        return board

    async def image(user: User, data: bytes, declared: str = "") -> MediaItem:
        item = inspected("pinterest", world.number(18), user.id, data, declared_mime=declared)
        if item.kind not in ("image", "gif") or item.mime not in IMAGE_MIMES:
            raise _error(400, 1, f"Invalid image: {item.mime or 'unrecognised'} is not a supported image type")
        if len(data) > 20 * 1024 * 1024:
            raise _error(400, 1, "Invalid image: larger than 20 MB")
        return world.media.add(item)

    async def pulled(user: User, url: Any) -> MediaItem:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise _error(400, 1, "Invalid media_source: url must be an http(s) URL")
        try:
            data, mime = await fetch(url)
        except SimError:
            raise _error(400, 1, f"Sorry we could not fetch the image from {url}") from None
        return await image(user, data, mime)

    async def media_of(user: User, source: Any) -> tuple[list[MediaItem], dict[str, Any]]:
        """The media a Pin's `media_source` names, and the Pin's `media` answer."""
        kind = source.get("source_type") if isinstance(source, dict) else None
        if kind == "image_url":
            item = await pulled(user, source.get("url"))
            return [item], {"media_type": "image", "images": _sizes(item)}
        if kind == "image_base64":
            try:
                data = base64.b64decode(str(source.get("data") or ""), validate=True)
            except binascii.Error:
                raise _error(400, 1, "Invalid media_source: data is not base64") from None
            item = await image(user, data)
            if item.mime != source.get("content_type"):
                raise _error(400, 1, f"Invalid media_source: content_type is not {item.mime}")
            return [item], {"media_type": "image", "images": _sizes(item)}
        if kind == "multiple_image_urls":
            items = source.get("items")
            if not isinstance(items, list) or not 2 <= len(items) <= 5:
                raise _error(400, 1, "Invalid media_source: items must hold 2 to 5 images")
            found = [await pulled(user, (i or {}).get("url")) for i in items]
            return found, {"media_type": "multiple_images", "items": [_sizes(i)["originals"] for i in found]}
        if kind == "video_id":
            video = world.media.get("pinterest", str(source.get("media_id")))
            if video is None or video.user_id != user.id or video.kind != "video":
                raise _error(400, 1, f"Invalid media_source: no video {source.get('media_id')}")
            if video.status(world.now()) != "ready":
                raise _error(400, 1, f"Video {video.id} is not ready: {VIDEO_STATUS[video.status(world.now())]}")
            if not any(source.get(k) is not None for k in ("cover_image_url", "cover_image_key_frame_time")):
                raise _error(400, 1, "Invalid media_source: a video Pin needs cover_image_url or a key frame time")
            return [video], {
                "media_type": "video",
                "cover_image_url": f"https://i.pinimg.com/videos/thumbnails/originals/{video.id}.jpg",
                "duration": (video.duration_s or 0) * 1000,
                "width": video.width,
                "height": video.height,
            }
        raise _error(400, 1, f"Invalid media_source: unknown source_type {kind!r}")

    def check_fields(body: dict[str, Any]) -> None:
        for name, most in (("title", 100), ("description", MAX_DESCRIPTION), ("alt_text", 500), ("link", 2048)):
            value = body.get(name)
            if value is not None and (not isinstance(value, str) or len(value) > most):
                raise _error(400, 1, f"Invalid request: {name} must be a string of at most {most} characters")

    @post("/v5/pins", opt={"endpoint": "create_pin"}, status_code=201)
    async def create_pin(request: Request[Any, Any, Any]) -> Response[Any]:
        user = user_of(request, "pins:write")
        body = await payload(request)
        board = board_of(user, body.get("board_id"))
        check_fields(body)
        items, media = await media_of(user, body.get("media_source"))
        pin_id = world.number(18)
        pin = {
            "id": pin_id,
            "created_at": _iso(world.now()),
            "link": body.get("link"),
            "title": body.get("title"),
            "description": body.get("description"),
            "alt_text": body.get("alt_text"),
            "dominant_color": "#6E7874",
            "board_id": str(board["id"]),
            "board_section_id": body.get("board_section_id"),
            "board_owner": {"username": user.username},
            "is_owner": True,
            "is_standard": True,
            "has_been_promoted": False,
            "creative_type": "VIDEO" if media["media_type"] == "video" else "REGULAR",
            "parent_pin_id": None,
            "pin_metrics": None,
            "media": media,
        }
        made = Post(
            platform="pinterest",
            id=pin_id,
            user_id=user.id,
            text=body.get("description") or "",
            created_at=world.now(),
            request=body,
            response=pin | {"_sim": {"media_ids": [i.id for i in items]}},
        )
        world.posts.add(made)
        return reply(pin, 201)

    @get("/v5/pins", opt={"endpoint": "list_pins"})
    async def list_pins(request: Request[Any, Any, Any]) -> Response[Any]:
        """The user's own Pins, newest first; `bookmark` names where the next page starts."""
        user = user_of(request, "pins:read")
        pins = [{k: v for k, v in p.response.items() if k != "_sim"} for p in world.posts.of("pinterest", user.id)]
        pins.reverse()
        size = max(1, min(250, int(request.query_params.get("page_size") or 25)))
        bookmark = request.query_params.get("bookmark")
        start = int(base64.urlsafe_b64decode(bookmark + "==").decode()) if bookmark else 0
        end = start + size
        following = base64.urlsafe_b64encode(str(end).encode()).decode().rstrip("=") if end < len(pins) else None
        return reply({"items": pins[start:end], "bookmark": following})

    @get("/v5/boards/{board_id:str}/pins", opt={"endpoint": "board_pins"})
    async def board_pins(request: Request[Any, Any, Any]) -> Response[Any]:
        board_id = request.path_params["board_id"]
        user = user_of(request, "pins:read")
        board_of(user, board_id)
        pins = [
            {k: v for k, v in p.response.items() if k != "_sim"}
            for p in world.posts.of("pinterest", user.id)
            if p.response.get("board_id") == board_id
        ]
        size = max(1, min(250, int(request.query_params.get("page_size") or 25)))
        return reply({"items": list(reversed(pins))[:size], "bookmark": None})

    @post("/v5/media", opt={"endpoint": "register_media"}, status_code=201)
    async def register_media(request: Request[Any, Any, Any]) -> Response[Any]:
        user = user_of(request, "pins:write")
        body = await payload(request)
        if body.get("media_type") != "video":
            raise _error(400, 1, "Invalid request: media_type must be video")
        media_id = world.number(19)
        key = f"uploads/{media_id[:2]}/{media_id[2:4]}/{user.id}:video:{media_id}"
        registered[media_id] = (user.id, key)
        return reply(
            {
                "media_id": media_id,
                "media_type": "video",
                "upload_url": f"{str(request.base_url).rstrip('/')}/pinterest/media-upload/",
                "upload_parameters": {
                    "x-amz-date": datetime.fromtimestamp(world.now(), UTC).strftime("%Y%m%dT%H%M%SZ"),
                    "x-amz-signature": media_id[::-1],
                    "x-amz-security-token": "IQoJb3JpZ2luX2Vj",
                    "x-amz-algorithm": "AWS4-HMAC-SHA256",
                    "key": key,
                    "policy": base64.b64encode(key.encode()).decode(),
                    "x-amz-credential": "ASIA6QZJ64OPIKV7FRVX/20260101/us-east-1/s3/aws4_request",
                    "Content-Type": "multipart/form-data",
                },
            },
            201,
        )

    @get("/v5/media/{media_id:str}", opt={"endpoint": "media_status"})
    async def media_status(request: Request[Any, Any, Any]) -> Response[Any]:
        media_id = request.path_params["media_id"]
        user = user_of(request, "pins:read")
        video = world.media.get("pinterest", media_id)
        if video is not None and video.user_id == user.id:
            status = VIDEO_STATUS[video.status(world.now())]
        elif registered.get(media_id, ("",))[0] == user.id:
            status = "registered"
        else:
            raise _error(404, 404, "Media upload not found.")
        return reply({"media_id": media_id, "media_type": "video", "status": status})

    # A video may be up to 2 GB, past the server's default body limit.
    @post("/media-upload", opt={"endpoint": "media_upload"}, status_code=200, request_max_body_size=None)
    async def media_upload(request: Request[Any, Any, Any]) -> Response[Any]:
        form = await request.form()
        key, policy, upload = form.get("key"), form.get("policy"), form.get("file")
        media_id = str(key).rsplit(":", 1)[-1]
        found = registered.get(media_id)
        if found is None or found[1] != key or policy != base64.b64encode(str(key).encode()).decode():
            return _s3_error(403, "AccessDenied", "Invalid according to Policy: Policy Condition failed")
        if upload is None or isinstance(upload, str):
            return _s3_error(400, "InvalidArgument", "POST requires exactly one file upload per request.")
        data = await upload.read()
        video = inspected("pinterest", media_id, found[0], data)
        if video.kind != "video":
            # S3 takes any bytes; Pinterest's processing is what fails them.
            video.ready_at, video.fails = world.now(), True
        else:
            video.ready_at, video.fails = world.processing_until("pinterest")
        world.media.add(video)
        del registered[media_id]
        return Response(content=b"", status_code=204)

    return [create_pin, list_pins, board_pins, register_media, media_status, media_upload]


def _sizes(item: MediaItem) -> dict[str, Any]:
    url = f"https://i.pinimg.com/originals/{item.id}.{item.mime.rsplit('/', 1)[-1]}"
    return {"originals": {"url": url, "width": item.width, "height": item.height}}


def _s3_error(status: int, code: str, message: str) -> Response[Any]:
    xml = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return Response(content=xml.encode(), status_code=status, media_type="application/xml")
