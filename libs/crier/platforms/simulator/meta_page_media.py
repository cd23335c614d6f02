"""A Facebook Page's photos and videos on the simulated Graph API (under /facebook), with the Page's
token and `pages_manage_posts`.

`POST /{version}/{page-id}/photos` (endpoint `photos`) takes the image as multipart `source` or
pulls it from `url`, with `caption` and `alt_text_custom`: a JPEG, PNG, GIF, WebP, BMP or TIFF of at
most 10 MB (else #324). `published=false` keeps it unpublished (`{"id"}`), for a feed post's
`attached_media` to gather (each photo once); otherwise it is a post of its own
(`{"id", "post_id"}`).

`POST /{version}/{page-id}/videos` (endpoint `videos`) takes a video whole (`source`, or `file_url`
to pull) or in chunks: `upload_phase=start` (`file_size`, at most 10 GB) answers the session and the
first range to send, `transfer` (`upload_session_id`, `start_offset`, multipart `video_file_chunk`)
the next range, `finish` (`description`, `title`) makes the video (`video_chunk_bytes` setting,
4 MB). A video of at most 240 minutes processes for `processing_s`; `GET /{video-id}?fields=status`
answers `status.video_status` processing, ready or error (`processing_fails`), and once it is ready
the Page's post of it exists (`post_id`, a post whose `response.media` names the video).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

from litestar import Request, Response, post

from crier.platforms.simulator import authz
from crier.platforms.simulator.authz import SimError, reply
from crier.platforms.simulator.graph import GraphDialect, check_version, graph_error, graph_time, pick
from crier.platforms.simulator.media import MediaItem, fetch, inspected
from crier.platforms.simulator.posts import Post
from crier.platforms.simulator.world import User, World

DIALECT = GraphDialect()
MB = 1024 * 1024
PHOTO_MIMES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/tiff")
MAX_PHOTO_BYTES = 10 * MB
MAX_VIDEO_BYTES = 10 * 1024 * MB
MAX_VIDEO_S = 240 * 60.0
_NO_PERMISSION = "(#200) Publishing to a Page requires pages_manage_posts and a Page access token"


def _media(items: list[MediaItem]) -> list[dict[str, Any]]:
    return [{"id": m.id, "alt_text": m.alt_text, "sha256": m.sha256} for m in items]


def attachments(items: list[MediaItem]) -> dict[str, Any]:
    """A post's `attachments` edge: one photo or video as the target, several as an album's
    subattachments."""

    def one(item: MediaItem) -> dict[str, Any]:
        return {"type": "video_inline" if item.kind == "video" else "photo", "target": {"id": item.id}}

    if len(items) == 1:
        return {"data": [one(items[0])]}
    return {"data": [{"type": "album", "subattachments": {"data": [one(m) for m in items]}}]}


def with_media(response: dict[str, Any], items: list[MediaItem]) -> dict[str, Any]:
    """A post's node with its media: the `attachments` edge, and `media` (the simulator's record of
    the items, for tests: ids, alt text, sha256)."""
    return {**response, "attachments": attachments(items), "media": _media(items)}


def attached_media(world: World, page_id: str, body: dict[str, Any]) -> list[MediaItem]:
    """The unpublished photos a feed post's `attached_media` names (as `attached_media[0]=...`
    fields or one JSON list), each of this Page and not yet in a post."""
    raw: list[Any] = []
    listed = body.get("attached_media")
    if listed:
        raw += json.loads(listed) if isinstance(listed, str) else list(listed)
    keys = sorted((k for k in body if k.startswith("attached_media[")), key=lambda k: int(k[15:-1] or 0))
    raw += [json.loads(body[k]) if isinstance(body[k], str) else body[k] for k in keys]
    photos = []
    for i, entry in enumerate(raw):
        fbid = str((entry or {}).get("media_fbid") or "")
        photo = world.media.get("facebook", fbid)
        if photo is None or photo.extra.get("page_id") != page_id or photo.extra.get("post_id") is not None:
            raise SimError(graph_error(400, 100, f"(#100) param attached_media[{i}] has invalid media_fbid {fbid!r}"))
        photos.append(photo)
    return photos


async def _multipart(request: Request[Any, Any, Any]) -> tuple[dict[str, str], dict[str, bytes]]:
    """A form's fields and files, logged without the files' bytes."""
    form = await request.form()
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for key in form:
        value = form.get(key)
        if hasattr(value, "read"):
            files[key] = await value.read()
        else:
            fields[key] = str(value)
    fields.update({k: v for k, v in request.query_params.items() if k != "access_token"})
    entry = request.scope.get("state", {}).get("sim_entry")
    if isinstance(entry, dict):
        entry["form"] = fields
        entry["files"] = {k: len(v) for k, v in files.items()}
    return fields, files


def page_media(world: World) -> tuple[list[Any], Callable[[str, str], dict[str, Any] | None]]:
    """The routes, and how `GET /{node-id}` answers a photo or a video of them."""
    sessions: dict[str, dict[str, Any]] = {}

    def speaker(request: Request[Any, Any, Any]) -> tuple[User, dict[str, Any]]:
        check_version(request.path_params["version"])
        token, grant = authz.bearer(world, "facebook", DIALECT, request)
        user = world.user("facebook", grant.user_id)
        page = next((p for p in user.pages if p["id"] == token.page_id), None) if user else None
        if (
            token.kind != "page"
            or page is None
            or page["id"] != request.path_params["page_id"]
            or "pages_manage_posts" not in grant.scopes
        ):
            raise SimError(graph_error(403, 200, _NO_PERMISSION))
        assert user is not None
        return user, page

    def page_post(page: dict[str, Any], user: User, text: str, items: list[MediaItem], body: dict[str, Any]) -> Post:
        made = world.posts.add(
            Post(
                platform="facebook",
                id=f"{page['id']}_{world.number(16)}",
                user_id=user.id,
                page_id=page["id"],
                text=text,
                created_at=world.now(),
                request=body,
            )
        )
        made.response = {
            "id": made.id,
            "message": text,
            "created_time": graph_time(made.created_at),
            "from": {"id": page["id"], "name": page["name"]},
            "permalink_url": f"https://www.facebook.com/{page['id']}/posts/{made.id.rpartition('_')[2]}",
            "status_type": "added_video" if items and items[0].kind == "video" else "added_photos",
            "is_published": True,
        }
        made.response = with_media(made.response, items)
        for item in items:
            item.extra["post_id"] = made.id
        return made

    @post("/{version:str}/{page_id:str}/photos", opt={"endpoint": "photos"}, status_code=200)
    async def photos(request: Request[Any, Any, Any]) -> Response[Any]:
        fields, files = await _multipart(request)
        user, page = speaker(request)
        data = files.get("source")
        if data is None and fields.get("url"):
            data, _ = await fetch(fields["url"])
        if not data:
            return graph_error(400, 324, "(#324) Requires upload file")
        item = inspected("facebook", world.number(16), user.id, data)
        if item.kind not in ("image", "gif") or item.mime not in PHOTO_MIMES:
            return graph_error(400, 324, "(#324) Missing or invalid image file")
        if len(data) > MAX_PHOTO_BYTES:
            return graph_error(400, 100, "(#100) The photo is larger than 10 MB")
        item.alt_text = fields.get("alt_text_custom") or None
        published = fields.get("published", "true").lower() != "false"
        item.extra.update(page_id=page["id"], post_id=None, published=published)
        world.media.add(item)
        if not published:
            return reply({"id": item.id})
        made = page_post(page, user, fields.get("caption") or fields.get("message") or "", [item], fields)
        return reply({"id": item.id, "post_id": made.id})

    def add_video(user: User, page: dict[str, Any], video_id: str, data: bytes, fields: dict[str, str]) -> MediaItem:
        item = inspected("facebook", video_id, user.id, data)
        if item.kind != "video":
            raise SimError(graph_error(400, 352, "(#352) The video file you selected is in a format we don't support"))
        if item.duration_s is not None and item.duration_s > MAX_VIDEO_S:
            raise SimError(graph_error(400, 100, "(#100) A video may last at most 240 minutes"))
        item.ready_at, item.fails = world.processing_until("facebook")
        item.extra.update(page_id=page["id"], post_id=None, fields=fields)
        return world.media.add(item)

    @post("/{version:str}/{page_id:str}/videos", opt={"endpoint": "videos"}, status_code=200)
    async def videos(request: Request[Any, Any, Any]) -> Response[Any]:
        fields, files = await _multipart(request)
        user, page = speaker(request)
        phase = fields.get("upload_phase")
        chunk = int(world.setting("facebook", "video_chunk_bytes", 4 * MB))
        if phase == "start":
            size = int(fields.get("file_size") or 0)
            if not 0 < size <= MAX_VIDEO_BYTES:
                return graph_error(400, 100, "(#100) file_size must be between 1 byte and 10 GB")
            session = {"id": secrets.token_hex(8), "video_id": world.number(16), "size": size, "data": bytearray()}
            sessions[session["id"]] = session
            return reply(
                {
                    "video_id": session["video_id"],
                    "upload_session_id": session["id"],
                    "start_offset": "0",
                    "end_offset": str(min(size, chunk)),
                }
            )
        if phase in ("transfer", "finish"):
            session = sessions.get(fields.get("upload_session_id", ""))
            if session is None:
                return graph_error(400, 100, "(#100) Invalid upload_session_id")
            if phase == "transfer":
                got = files.get("video_file_chunk", b"")
                if int(fields.get("start_offset", -1)) != len(session["data"]) or not got:
                    return graph_error(400, 6001, "(#6001) There was a problem uploading your video: bad start_offset")
                session["data"] += got
                done = len(session["data"])
                return reply({"start_offset": str(done), "end_offset": str(min(session["size"], done + chunk))})
            if len(session["data"]) != session["size"]:
                return graph_error(400, 6001, "(#6001) The upload is incomplete")
            del sessions[session["id"]]
            add_video(user, page, session["video_id"], bytes(session["data"]), fields)
            return reply({"success": True})
        data = files.get("source")
        if data is None and fields.get("file_url"):
            data, _ = await fetch(fields["file_url"])
        if not data:
            return graph_error(400, 100, "(#100) Requires a video file (source, file_url or an upload session)")
        return reply({"id": add_video(user, page, world.number(16), data, fields).id})

    def node(node_id: str, fields: str) -> dict[str, Any] | None:
        item = world.media.get("facebook", node_id)
        if item is None:
            return None
        if item.kind != "video":
            return pick(
                {"id": item.id, "post_id": item.extra.get("post_id"), "alt_text_custom": item.alt_text}, fields, "id"
            )
        state = item.status(world.now())
        if state == "ready" and item.extra.get("post_id") is None:
            # Facebook posts a video on the Page once it has processed.
            sent = item.extra.get("fields") or {}
            page = {"id": item.extra["page_id"], "name": ""}
            owner = world.user("facebook", item.user_id)
            page = next((p for p in (owner.pages if owner else []) if p["id"] == page["id"]), page)
            assert owner is not None
            page_post(page, owner, str(sent.get("description") or ""), [item], sent)
        video_status = {"processing": "processing", "ready": "ready", "failed": "error"}[state]
        phase = {"processing": "in_progress", "ready": "complete", "failed": "error"}[state]
        status: dict[str, Any] = {
            "video_status": video_status,
            "uploading_phase": {"status": "complete"},
            "processing_phase": {"status": phase},
            "processing_progress": 100 if state == "ready" else 0,
        }
        if state == "failed":
            status["processing_phase"]["errors"] = [{"code": 1363008, "message": "The video could not be processed"}]
        post_id = item.extra.get("post_id")
        out = {
            "id": item.id,
            "status": status,
            "post_id": post_id,
            "description": item.extra.get("fields", {}).get("description"),
        }
        if post_id:
            out["permalink_url"] = f"https://www.facebook.com/{item.extra['page_id']}/videos/{item.id}/"
        return pick(out, fields, "id")

    return [photos, videos], node
