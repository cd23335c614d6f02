"""A Bluesky PDS's blobs: `com.atproto.repo.uploadBlob` (the raw body with its Content-Type,
authenticated) answers `{"blob": {"$type": "blob", "ref": {"$link": <cid>}, "mimeType", "size"}}`,
the CID being the raw bytes' (CIDv1, raw codec, sha-256), the MIME type sniffed from the bytes as a
PDS does. A body over the PDS's upload limit (100 MB by default, `blob_limit` setting) is refused
413.

A post record's embed is checked against the lexicons when the record is created: an
`app.bsky.embed.images` of 1..4 `{image, alt, aspectRatio?}` whose blobs are images of at most
2,000,000 bytes, an `app.bsky.embed.video` whose blob is an MP4 of at most 300,000,000 bytes; every
blob named must be one the account uploaded, and be named as the PDS answered it.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from litestar import Request, Response, post

from crier.platforms.simulator.authz import SimError, reply
from crier.platforms.simulator.media import MediaItem, inspected
from crier.platforms.simulator.world import User, World

IMAGES = "app.bsky.embed.images"
VIDEO = "app.bsky.embed.video"
IMAGE_MAX_BYTES = 2_000_000
VIDEO_MAX_BYTES = 300_000_000
UPLOAD_LIMIT = 100 * 1024 * 1024


def blob_cid(data: bytes) -> str:
    """The CIDv1 (raw codec, sha-256) of `data`, in base32 as a PDS writes it (`bafkrei…`)."""
    digest = hashlib.sha256(data).digest()
    return "b" + base64.b32encode(b"\x01\x55\x12\x20" + digest).decode().lower().rstrip("=")


def blob_ref(item: MediaItem) -> dict[str, Any]:
    return {"$type": "blob", "ref": {"$link": item.id}, "mimeType": item.mime, "size": len(item.data)}


def _invalid(message: str) -> SimError:
    return SimError(reply({"error": "InvalidRequest", "message": f"Invalid app.bsky.feed.post record: {message}"}, 400))


def _blob(world: World, user: User, value: Any, where: str, kinds: tuple[str, ...], max_bytes: int) -> MediaItem:
    if not isinstance(value, dict) or value.get("$type") != "blob" or not isinstance(value.get("ref"), dict):
        raise _invalid(f"{where} should be a blob ref")
    link = value["ref"].get("$link")
    item = world.media.get("bluesky", str(link))
    if item is None or item.user_id != user.id:
        raise SimError(reply({"error": "InvalidRequest", "message": f"Could not find blob: {link}"}, 400))
    if value.get("mimeType") != item.mime or value.get("size") != len(item.data):
        raise _invalid(f"{where} does not match the uploaded blob {link}")
    if item.kind not in kinds:
        raise _invalid(f"{where} has the wrong mime type: {item.mime}")
    if len(item.data) > max_bytes:
        raise _invalid(f"{where} is too big: {len(item.data)} bytes, at most {max_bytes}")
    return item


def _aspect(value: Any, where: str) -> None:
    if value is None:
        return
    if not isinstance(value, dict) or not all(
        isinstance(value.get(k), int) and value[k] >= 1 for k in ("width", "height")
    ):
        raise _invalid(f"{where}/aspectRatio must have width and height, integers of at least 1")


def validate_embed(world: World, user: User, embed: Any) -> list[MediaItem]:
    """The blobs a post's embed names, once the embed is one the lexicons allow."""
    if not isinstance(embed, dict):
        raise _invalid("Record/embed must be an object")
    kind = embed.get("$type")
    if kind == IMAGES:
        images = embed.get("images")
        if not isinstance(images, list) or not 1 <= len(images) <= 4:
            raise _invalid("Record/embed/images must have between 1 and 4 elements")
        found = []
        for i, image in enumerate(images):
            where = f"Record/embed/images/{i}"
            if not isinstance(image, dict) or not isinstance(image.get("alt"), str):
                raise _invalid(f'{where} must have the property "alt"')
            found.append(_blob(world, user, image.get("image"), f"{where}/image", ("image", "gif"), IMAGE_MAX_BYTES))
            _aspect(image.get("aspectRatio"), where)
        for item, image in zip(found, images, strict=True):
            item.alt_text = image["alt"]
        return found
    if kind == VIDEO:
        if "alt" in embed and not isinstance(embed["alt"], str):
            raise _invalid("Record/embed/alt must be a string")
        _aspect(embed.get("aspectRatio"), "Record/embed")
        video = _blob(world, user, embed.get("video"), "Record/embed/video", ("video",), VIDEO_MAX_BYTES)
        if video.mime != "video/mp4":
            raise _invalid(f"Record/embed/video has the wrong mime type: {video.mime}")
        video.alt_text = embed.get("alt")
        return [video]
    raise _invalid(f"Record/embed $type {kind!r} is not one this simulated PDS checks")


def routes(world: World, account: Any) -> list[Any]:
    @post("/xrpc/com.atproto.repo.uploadBlob", opt={"endpoint": "uploadBlob"}, status_code=200)
    async def upload_blob(request: Request[Any, Any, Any]) -> Response[Any]:
        _, user = account(request)
        data = await request.body()
        limit = int(world.setting("bluesky", "blob_limit", UPLOAD_LIMIT))
        if len(data) > limit:
            return reply({"error": "PayloadTooLarge", "message": "request entity too large"}, 413)
        declared = request.headers.get("content-type", "application/octet-stream")
        item = inspected("bluesky", blob_cid(data), user.id, data, declared_mime=declared)
        if item.kind == "unknown":
            item.mime = declared
        world.media.add(item)
        return reply({"blob": blob_ref(item)})

    return [upload_blob]
