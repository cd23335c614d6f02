"""LinkedIn's Images and Videos APIs, and the `content` of a post that uses them.

- `POST /rest/images?action=initializeUpload {initializeUploadRequest: {owner}}` answers
  `value {uploadUrl, image, uploadUrlExpiresAt}`; the bytes are PUT to the upload URL with the
  token. LinkedIn's upload URLs are on www.linkedin.com; here they are under the simulator's own
  base (`/linkedin/dms-uploads/…`), so a stand-in base URL still works. An image must be JPEG, PNG
  or GIF of at most 36,152,320 pixels (400 otherwise).
- `POST /rest/videos?action=initializeUpload` with `fileSizeBytes` answers `value {video,
  uploadToken, uploadInstructions[{uploadUrl, firstByte, lastByte}]}` in parts of 4 MB; each part
  PUT answers its ETag; `action=finalizeUpload {video, uploadToken, uploadedPartIds}` wants every
  ETag in order. `GET /rest/videos/{urn}` is WAITING_UPLOAD until then, PROCESSING until the
  `processing_s` setting has passed, then AVAILABLE, or PROCESSING_FAILED with a
  `processingFailureReason` when LinkedIn's checks refuse the file (not an MP4, under 3 s or over
  30 min, under 75 KB or over 500 MB) or with the `processing_fails` setting.
- A post's `content` is `media {id, altText | title}` (an image or an AVAILABLE video of the
  author's) or `multiImage {images: [{id, altText}]}` of 2 to 20 images; anything else is a 400.

Endpoints (fault targets): `images`, `videos` (both actions), `video_status`, `media_upload` (every
PUT of bytes).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from litestar import Request, Response, get, post, put

from crier.platforms.simulator import authz
from crier.platforms.simulator import linkedin as li
from crier.platforms.simulator.authz import reply
from crier.platforms.simulator.media import MediaItem, inspected
from crier.platforms.simulator.posts import payload
from crier.platforms.simulator.world import World

MB = 1024 * 1024
PART = 4 * MB
MAX_PIXELS = 36_152_320
MAX_ALT_TEXT = 4086


@dataclass
class Upload:
    """An image or video upload under way."""

    urn: str
    kind: str  # image | video
    owner: str
    user_id: str
    size: int = 0
    token: str = ""
    parts: dict[int, bytes] = field(default_factory=dict)
    etags: dict[int, str] = field(default_factory=dict)


def _video_problem(item: MediaItem) -> str | None:
    """LinkedIn's reason for failing a video's processing, if any."""
    if item.kind != "video" or item.mime != "video/mp4":
        return "The video is not an MP4"
    if not 75 * 1024 <= len(item.data) <= 500 * MB:
        return "The video is not between 75 KB and 500 MB"
    if item.duration_s is None or not 3 <= item.duration_s <= 30 * 60:
        return "The video is not between 3 seconds and 30 minutes long"
    return None


def content_media(world: World, author: str, content: Any) -> list[str]:
    """The ids of the media a post's `content` names, checked as LinkedIn checks them."""
    if not isinstance(content, dict) or len(content) != 1 or not {"media", "multiImage"} & set(content):
        raise li._invalid("/content", "content must be one of media or multiImage")
    entries: Any
    if "media" in content:
        entries, path = [content["media"]], "/content/media"
    else:
        entries = (content["multiImage"] or {}).get("images") if isinstance(content["multiImage"], dict) else None
        path = "/content/multiImage/images"
        if not isinstance(entries, list) or not 2 <= len(entries) <= 20:
            raise li._invalid(path, "a multi-image post has 2 to 20 images")
    ids = []
    for entry in entries:
        urn = entry.get("id") if isinstance(entry, dict) else None
        item = world.media.get("linkedin", str(urn))
        if item is None or item.extra.get("owner") != author:
            raise li._invalid(f"{path}/id", f"{urn} is not a media asset of {author}")
        if item.kind == "video" and (len(entries) > 1 or item.status(world.now()) != "ready"):
            raise li._invalid(f"{path}/id", f"{urn} is not AVAILABLE or cannot be in a multi-image post")
        if len(str(entry.get("altText") or "")) > MAX_ALT_TEXT:
            raise li._invalid(f"{path}/altText", f"altText is longer than {MAX_ALT_TEXT}")
        ids.append(item.id)
    return ids


def routes(world: World) -> list[Any]:
    uploads: dict[str, Upload] = {}  # upload key -> the upload

    def speaking(request: Request[Any, Any, Any], owner: Any) -> str:
        li.require_version(request)
        _, grant = authz.bearer(world, "linkedin", li.DIALECT, request)
        user = world.user("linkedin", grant.user_id)
        assert user is not None
        li.speaker(grant, user, owner)
        return str(user.id)

    def upload_url(request: Request[Any, Any, Any], key: str, part: int | None = None) -> str:
        base = f"{str(request.base_url).rstrip('/')}/linkedin/dms-uploads/{key}"
        return base if part is None else f"{base}?part={part}"

    @post("/rest/images", opt={"endpoint": "images"}, status_code=200)
    async def images(request: Request[Any, Any, Any]) -> Response[Any]:
        body = await payload(request)
        owner = (body.get("initializeUploadRequest") or {}).get("owner")
        user_id = speaking(request, owner)
        if request.query_params.get("action") != "initializeUpload":
            return li.DIALECT._rest(400, "ILLEGAL_ARGUMENT", "action must be initializeUpload", 100)
        key = secrets.token_urlsafe(16)
        urn = f"urn:li:image:C4D{secrets.token_hex(8).upper()}"
        uploads[key] = Upload(urn, "image", str(owner), user_id)
        expires = int((world.now() + 86400) * 1000)
        return reply({"value": {"uploadUrlExpiresAt": expires, "uploadUrl": upload_url(request, key), "image": urn}})

    @post("/rest/videos", opt={"endpoint": "videos"}, status_code=200)
    async def videos(request: Request[Any, Any, Any]) -> Response[Any]:
        body = await payload(request)
        action = request.query_params.get("action")
        if action == "finalizeUpload":
            return finalize(request, body.get("finalizeUploadRequest") or {})
        init = body.get("initializeUploadRequest") or {}
        user_id = speaking(request, init.get("owner"))
        if action != "initializeUpload":
            return li.DIALECT._rest(400, "ILLEGAL_ARGUMENT", "action must be initializeUpload or finalizeUpload", 100)
        size = init.get("fileSizeBytes")
        if not isinstance(size, int) or size <= 0:
            raise li._invalid("/initializeUploadRequest/fileSizeBytes", "fileSizeBytes is required", "FIELD_REQUIRED")
        key = secrets.token_urlsafe(16)
        upload = Upload(f"urn:li:video:C5F{secrets.token_hex(8).upper()}", "video", str(init["owner"]), user_id, size)
        upload.token = secrets.token_urlsafe(12)
        uploads[key] = upload
        instructions = [
            {"uploadUrl": upload_url(request, key, n), "firstByte": first, "lastByte": min(first + PART, size) - 1}
            for n, first in enumerate(range(0, size, PART))
        ]
        return reply(
            {
                "value": {
                    "uploadUrlsExpireAt": int((world.now() + 86400) * 1000),
                    "video": upload.urn,
                    "uploadInstructions": instructions,
                    "uploadToken": upload.token,
                }
            }
        )

    def finalize(request: Request[Any, Any, Any], done: dict[str, Any]) -> Response[Any]:
        key, upload = next(((k, u) for k, u in uploads.items() if u.urn == done.get("video")), ("", None))
        if upload is None or upload.token != done.get("uploadToken"):
            raise li._invalid("/finalizeUploadRequest/video", "no upload under way for this video and token")
        speaking(request, upload.owner)
        count = len(range(0, upload.size, PART))
        if done.get("uploadedPartIds") != [upload.etags.get(n) for n in range(count)]:
            raise li._invalid("/finalizeUploadRequest/uploadedPartIds", "uploadedPartIds must be every part's ETag")
        data = b"".join(upload.parts[n] for n in range(count))
        video = inspected("linkedin", upload.urn, upload.user_id, data)
        video.extra = {"owner": upload.owner, "reason": _video_problem(video)}
        video.ready_at, video.fails = world.processing_until("linkedin")
        video.fails = video.fails or video.extra["reason"] is not None
        world.media.add(video)
        del uploads[key]
        return Response(content=b"", status_code=200)

    @put("/dms-uploads/{key:str}", opt={"endpoint": "media_upload"}, status_code=201, request_max_body_size=40 * MB)
    async def media_upload(request: Request[Any, Any, Any]) -> Response[Any]:
        upload = uploads.get(request.path_params["key"])
        if upload is None:
            return li.DIALECT._rest(404, "NOT_FOUND", "The upload URL is not known or has expired", 0)
        data = await request.body()
        if upload.kind == "video":
            return part(upload, request, data)
        authz.bearer(world, "linkedin", li.DIALECT, request)
        image = inspected("linkedin", upload.urn, upload.user_id, data)
        if image.kind not in ("image", "gif") or image.mime not in ("image/jpeg", "image/png", "image/gif"):
            return li.DIALECT._rest(400, "BAD_REQUEST", "The image must be a JPEG, PNG or GIF", 0)
        if (image.width or 0) * (image.height or 0) > MAX_PIXELS:
            return li.DIALECT._rest(400, "BAD_REQUEST", f"The image has more than {MAX_PIXELS} pixels", 0)
        image.extra = {"owner": upload.owner}
        world.media.add(image)
        del uploads[request.path_params["key"]]
        return Response(content=b"", status_code=201)

    def part(upload: Upload, request: Request[Any, Any, Any], data: bytes) -> Response[Any]:
        n = int(request.query_params.get("part", -1))
        first = n * PART
        if not 0 <= first < upload.size or len(data) != min(first + PART, upload.size) - first:
            return li.DIALECT._rest(400, "BAD_REQUEST", f"part {n} is not one of the upload's byte ranges", 0)
        upload.parts[n] = data
        upload.etags[n] = f"/ambry-video/signedId/{secrets.token_hex(10)}"
        return Response(content=b"", status_code=200, headers={"ETag": upload.etags[n]})

    @get("/rest/videos/{urn:str}", opt={"endpoint": "video_status"})
    async def video_status(request: Request[Any, Any, Any]) -> Response[Any]:
        li.require_version(request)
        authz.bearer(world, "linkedin", li.DIALECT, request)
        urn = unquote(request.path_params["urn"])
        video = world.media.get("linkedin", urn)
        pending = next((u for u in uploads.values() if u.urn == urn), None)
        if video is None and pending is None:
            return li.DIALECT._rest(404, "NOT_FOUND", f"Not Found: {urn}", 0)
        if video is None:
            assert pending is not None
            return reply({"id": urn, "owner": pending.owner, "status": "WAITING_UPLOAD"})
        status = {"processing": "PROCESSING", "ready": "AVAILABLE", "failed": "PROCESSING_FAILED"}[
            video.status(world.now())
        ]
        answer: dict[str, Any] = {"id": urn, "owner": video.extra.get("owner"), "status": status}
        if status == "AVAILABLE":
            answer |= {
                "duration": int((video.duration_s or 0) * 1000),
                "aspectRatioWidth": video.width,
                "aspectRatioHeight": video.height,
            }
        if status == "PROCESSING_FAILED":
            answer["processingFailureReason"] = video.extra.get("reason") or "Processing failed"
        return reply(answer)

    return [images, videos, media_upload, video_status]
