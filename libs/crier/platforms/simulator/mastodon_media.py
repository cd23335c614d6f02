"""A Mastodon instance's media: `POST /api/v2/media` (multipart `file`, `description`, `focus`;
scope `write:media`) and `GET /api/v1/media/:id`, as Mastodon 4.x answers them, and the checks
`POST /api/v1/statuses` makes of `media_ids`.

An upload is inspected as the instance's Paperclip does: a file that is no image or video is
refused (422 "File content type is invalid"), an image or GIF over 16 MB and a video over 99 MB too,
a description over 1500 characters too. Images are ready at once (200 with a `url`); GIFs (as
`gifv`) and videos answer 202 with `url` null and process for the `processing_s` setting (ending
failed when `processing_fails`): `GET /api/v1/media/:id` answers 206 meanwhile, 200 when done, 422
when processing failed. A status may name up to 4 of its author's unattached attachments, all done
processing, a video only alone.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile

from crier.platforms.simulator import authz
from crier.platforms.simulator.authz import Dialect, SimError, reply
from crier.platforms.simulator.media import MediaItem, inspected
from crier.platforms.simulator.world import Grant, World

MB = 1024 * 1024
LIMITS = {"image": 16 * MB, "gif": 16 * MB, "video": 99 * MB}
TYPES = {"image": "image", "gif": "gifv", "video": "video"}
MAX_DESCRIPTION = 1500


def _refuse(message: str, status: int = 422) -> SimError:
    return SimError(reply({"error": message}, status))


def attachment(item: MediaItem, base: str, now: float) -> dict[str, Any]:
    """The MediaAttachment entity; `url` is null until processing is done."""
    path = f"{base}/system/media_attachments/files/{item.id}"
    done = item.status(now) == "ready"
    original: dict[str, Any] = {"width": item.width, "height": item.height}
    if item.width and item.height:
        original |= {"size": f"{item.width}x{item.height}", "aspect": item.width / item.height}
    if item.duration_s is not None:
        original |= {"duration": item.duration_s, "frame_rate": f"{round(item.frame_rate or 0)}/1"}
    return {
        "id": item.id,
        "type": TYPES.get(item.kind, "unknown"),
        "url": f"{path}/original/{item.id}.{item.mime.rpartition('/')[2]}" if done else None,
        "preview_url": f"{path}/small/{item.id}.png",
        "remote_url": None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": {"original": original, "focus": item.extra.get("focus")},
        "description": item.alt_text,
        "blurhash": None,
    }


def _focus(raw: str) -> dict[str, float] | None:
    try:
        x, y = (float(part) for part in raw.split(","))
    except ValueError:
        return None
    return {"x": x, "y": y} if -1 <= x <= 1 and -1 <= y <= 1 else None


async def upload(world: World, grant: Grant, request: Request[Any, Any, Any]) -> MediaItem:
    form = await request.form()
    file = form.get("file")
    if not isinstance(file, UploadFile):
        raise _refuse("Validation failed: File can't be blank")
    data = await file.read()
    description = str(form.get("description") or "") or None
    entry = request.scope.get("state", {}).get("sim_entry")
    if isinstance(entry, dict):
        entry["form"] = {"description": description, "filename": file.filename, "content_type": file.content_type}
    item = inspected("mastodon", world.number(18), grant.user_id, data, declared_mime=file.content_type)
    if item.kind not in LIMITS:
        raise _refuse("Validation failed: File content type is invalid, File is invalid")
    if len(data) > LIMITS[item.kind]:
        raise _refuse(f"Validation failed: File file size must be less than {LIMITS[item.kind] // MB} MB")
    if description and len(description) > MAX_DESCRIPTION:
        raise _refuse(f"Validation failed: Description is too long (maximum is {MAX_DESCRIPTION} characters)")
    item.alt_text = description
    item.extra["focus"] = _focus(str(form.get("focus") or ""))
    if item.kind != "image":
        item.ready_at, item.fails = world.processing_until("mastodon")
    return world.media.add(item)


def check_status_media(world: World, grant: Grant, ids: Any) -> list[MediaItem]:
    """PostStatusService's checks of `media_ids`: the attachments a status may carry."""
    wanted = [str(i) for i in (ids if isinstance(ids, list) else [ids])]
    if len(wanted) > 4:
        raise _refuse("Cannot attach more than 4 files")
    items = [world.media.get("mastodon", i) for i in wanted]
    missing = [i for i, item in zip(wanted, items, strict=True) if item is None or item.user_id != grant.user_id]
    attached = [i for i, item in zip(wanted, items, strict=True) if item and item.extra.get("status_id")]
    if missing or attached:
        raise _refuse(f"Media {', '.join(missing + attached)} not found or already attached to another post")
    chosen = [item for item in items if item is not None]
    if any(item.status(world.now()) != "ready" for item in chosen):
        raise _refuse("Cannot attach files that have not finished processing. Try again in a moment!")
    if len(chosen) > 1 and any(item.kind == "video" for item in chosen):
        raise _refuse("Cannot attach a video to a post that already contains images")
    return chosen


def routes(world: World, dialect: Dialect, base_of: Any) -> list[Any]:
    def granted(request: Request[Any, Any, Any]) -> Grant:
        _, grant = authz.bearer(world, "mastodon", dialect, request)
        if not {"write", "write:media"} & set(grant.scopes):
            raise _refuse("This action is outside the authorized scopes", 403)
        return grant

    @post("/api/v2/media", opt={"endpoint": "media"}, status_code=200)
    async def create(request: Request[Any, Any, Any]) -> Response[Any]:
        item = await upload(world, granted(request), request)
        entity = attachment(item, base_of(request), world.now())
        return reply(entity, 202 if item.kind != "image" else 200)

    @get("/api/v1/media/{media_id:str}", opt={"endpoint": "media_show"})
    async def show(request: Request[Any, Any, Any]) -> Response[Any]:
        _, grant = authz.bearer(world, "mastodon", dialect, request)
        item = world.media.get("mastodon", request.path_params["media_id"])
        if item is None or item.user_id != grant.user_id:
            raise _refuse("Record not found", 404)
        state = item.status(world.now())
        if state == "failed":
            raise _refuse("Error processing thumbnail for uploaded media")
        return reply(attachment(item, base_of(request), world.now()), 206 if state == "processing" else 200)

    return [create, show]
