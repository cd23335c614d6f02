"""Instagram content publishing on the simulated Graph API (under /instagram), with the Page token an
Instagram professional account carries.

`POST /{version}/{ig-user-id}/media` (endpoint `media`) makes a container: an image (`image_url`,
`alt_text`), `media_type=REELS` or `STORIES` (`video_url` or `image_url`), a carousel item
(`is_carousel_item=true`, `media_type=VIDEO` for a video), or `media_type=CAROUSEL` with
`children` (2-10 items). Instagram cURLs the URL at once and refuses what it cannot publish: an
image that is not a JPEG, over 8 MB, or outside 4:5-1.91:1 (stories aside); a video that is not MP4
or MOV, or outside 3 s-15 min (60 s for a story). A caption takes 2,200 characters, 30 hashtags and
20 @mentions; `collaborators` at most 3. Videos process for `processing_s` (`status_code`
IN_PROGRESS, then FINISHED, or ERROR with `processing_fails`), read with `GET /{container-id}`.

`POST /{ig-user-id}/media_publish` (endpoint `media_publish`, `creation_id`) publishes a FINISHED
container once, within a day, at most `publishing_limit` (setting, 100) a day: beyond it code 9,
subcode 2207042. The post keeps its media (`response.media`: ids, alt text, sha256).
`GET /{ig-user-id}/media` and `/stories` list the account's posts newest first; comments are
`POST /{ig-media-id}/comments` (endpoint `comment`, `message`, needing `instagram_manage_comments`)
and `GET /{ig-media-id}/comments` (endpoint `read_comments`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from litestar import Request, Response, get, post

from crier.platforms.simulator import authz
from crier.platforms.simulator.authz import SimError, reply
from crier.platforms.simulator.graph import (
    Containers,
    GraphDialect,
    MediaContainer,
    check_version,
    cursor_page,
    graph_error,
    graph_time,
    newest_first,
    pick,
    pull,
)
from crier.platforms.simulator.http import query
from crier.platforms.simulator.media import MediaItem
from crier.platforms.simulator.posts import Post, payload
from crier.platforms.simulator.world import Grant, User, World

DIALECT = GraphDialect()
MB = 1024 * 1024
MAX_CAPTION = 2_200
DAY_S = 86400.0
_HASHTAG = re.compile(r"(?<![\w&])#\w+")
_MENTION = re.compile(r"(?<![\w@])@[\w.]+")
_PUBLISH_SCOPES = ("instagram_basic", "instagram_content_publish")
_PRODUCT = {"STORIES": "STORY", "REELS": "REELS"}


def _invalid(message: str, code: int = 100, subcode: int | None = None) -> SimError:
    return SimError(graph_error(400, code, message, subcode))


def _check_image(item: MediaItem, kind: str) -> None:
    if item.mime != "image/jpeg":
        raise _invalid(f"The image format {item.mime or 'unknown'} is not supported. Only JPEG is.", 9004, 2207083)
    if len(item.data) > 8 * MB:
        raise _invalid("The image is too large to download: at most 8 MB", 9004, 2207004)
    ratio = (item.width or 1) / (item.height or 1)
    if kind != "STORIES" and not 0.8 - 1e-3 <= ratio <= 1.91 + 1e-3:
        raise _invalid(
            f"The submitted image with aspect ratio {ratio:.3f} cannot be published. "
            "Please submit an image with a valid aspect ratio.",
            36003,
            2207009,
        )


def _check_video(item: MediaItem, kind: str) -> None:
    if item.kind != "video" or item.mime not in ("video/mp4", "video/quicktime"):
        raise _invalid(f"The video format {item.mime or 'unknown'} is not supported (MP4, MOV)", 9004, 2207026)
    longest, largest = (60.0, 100 * MB) if kind == "STORIES" else (900.0, 300 * MB)
    if item.duration_s is not None and not 3.0 <= item.duration_s <= longest:
        raise _invalid(f"The video must last 3 to {longest:g} seconds", 9004, 2207026)
    if len(item.data) > largest:
        raise _invalid("The video is too large", 9004, 2207026)


def _check_caption(body: dict[str, Any]) -> None:
    caption = str(body.get("caption") or "")
    if len(caption) > MAX_CAPTION:
        raise _invalid(f"(#100) The caption must be at most {MAX_CAPTION} characters", 100, 2207010)
    if len(_HASHTAG.findall(caption)) > 30 or len(_MENTION.findall(caption)) > 20:
        raise _invalid("(#100) A caption takes at most 30 hashtags and 20 @mentions", 100, 2207010)
    collaborators = body.get("collaborators")
    if collaborators and len(json.loads(str(collaborators))) > 3:
        raise _invalid("(#100) At most 3 collaborators may be invited", 100)


def instagram_publishing(world: World) -> tuple[list[Any], Callable[[str, str], dict[str, Any] | None]]:
    """The routes, and how `GET /{node-id}` finds a container or a post of them."""
    containers = Containers(world)

    def speaker(request: Request[Any, Any, Any], *scopes: str) -> tuple[Grant, User, dict[str, Any]]:
        """The Instagram account a Page token speaks for, on a path naming it, with `scopes`."""
        check_version(request.path_params["version"])
        token, grant = authz.bearer(world, "instagram", DIALECT, request)
        user = world.user("instagram", grant.user_id)
        page = next((p for p in user.pages if p["id"] == token.page_id), None) if user else None
        ig = (page or {}).get("instagram_business_account")
        if ig is None or request.path_params.get("ig_user_id", ig["id"]) != ig["id"]:
            raise _invalid("(#100) Cannot act for another Instagram account", 100, 33)
        missing = [s for s in scopes if s not in grant.scopes]
        if missing:
            raise SimError(graph_error(403, 10, f"(#10) Application does not have permission: {missing[0]}"))
        assert user is not None
        return grant, user, ig

    async def item_of(body: dict[str, Any], user: User, kind: str) -> MediaItem:
        if body.get("video_url"):
            item = await pull(world, "instagram", user.id, str(body["video_url"]))
            _check_video(item, kind)
        elif body.get("image_url"):
            item = await pull(world, "instagram", user.id, str(body["image_url"]))
            _check_image(item, kind)
            item.alt_text = str(body["alt_text"]) if body.get("alt_text") else None
        else:
            raise _invalid("(#100) The parameter image_url or video_url is required")
        return world.media.add(item)

    @post("/{version:str}/{ig_user_id:str}/media", opt={"endpoint": "media"}, status_code=200)
    async def create_container(request: Request[Any, Any, Any]) -> Response[Any]:
        body = {**query(request), **await payload(request)}
        body.pop("access_token", None)
        grant, user, ig = speaker(request, *_PUBLISH_SCOPES)
        kind = str(body.get("media_type") or "IMAGE")
        if kind not in ("IMAGE", "VIDEO", "REELS", "STORIES", "CAROUSEL"):
            raise _invalid(f"(#100) Param media_type {kind!r} is not supported")
        _check_caption(body)
        made = MediaContainer(
            id=world.number(17), user_id=ig["id"], grant_id=grant.id, params=body, created_at=world.now()
        )
        made.extra["carousel_item"] = str(body.get("is_carousel_item")).lower() == "true"
        if kind == "CAROUSEL":
            ids = [c.strip() for c in str(body.get("children") or "").split(",") if c.strip()]
            if not 2 <= len(ids) <= 10:
                raise _invalid("(#100) A carousel takes 2 to 10 children", 100, 2207031)
            for child_id in ids:
                child = containers.get(child_id)
                if child is None or child.user_id != ig["id"] or not child.extra.get("carousel_item"):
                    raise _invalid(f"(#100) Param children: {child_id!r} is not a carousel item container")
                made.children.append(child)
        else:
            if kind == "VIDEO" and not made.extra["carousel_item"]:
                raise _invalid("(#100) media_type=VIDEO is for carousel items; publish a video as REELS", 100, 2207067)
            made.media.append(await item_of(body, user, kind))
        return reply({"id": containers.add(made).id})

    def media_node(made: Post, container: MediaContainer, ig: dict[str, Any]) -> dict[str, Any]:
        kind = str(container.params.get("media_type") or "IMAGE")
        shortcode = f"C{made.id[-10:]}"
        video = bool(container.media) and container.media[0].kind == "video"
        return {
            "id": made.id,
            "caption": made.text or None,
            "media_type": "CAROUSEL_ALBUM" if kind == "CAROUSEL" else "VIDEO" if video else "IMAGE",
            "media_product_type": _PRODUCT.get(kind, "FEED"),
            "permalink": f"https://www.instagram.com/{'reel' if kind == 'REELS' else 'p'}/{shortcode}/",
            "shortcode": shortcode,
            "timestamp": graph_time(made.created_at),
            "username": ig["username"],
            "owner": {"id": ig["id"]},
            "comments_count": 0,
            "media": [{"id": m.id, "alt_text": m.alt_text, "sha256": m.sha256} for m in container.items()],
            **({"children": {"data": [{"id": c.id} for c in container.children]}} if container.children else {}),
        }

    @post("/{version:str}/{ig_user_id:str}/media_publish", opt={"endpoint": "media_publish"}, status_code=200)
    async def publish(request: Request[Any, Any, Any]) -> Response[Any]:
        body = {**query(request), **await payload(request)}
        _, user, ig = speaker(request, *_PUBLISH_SCOPES)
        container = containers.get(str(body.get("creation_id") or ""))
        if container is None or container.user_id != ig["id"]:
            raise _invalid(f"(#100) Param creation_id {body.get('creation_id')!r} is not a media container", 100, 33)
        status = container.status(world.now())
        if status == "IN_PROGRESS":
            raise _invalid("Media ID is not available: the media is not ready for publishing", 9007, 2207027)
        if status != "FINISHED" or container.extra.get("carousel_item"):
            raise _invalid(f"(#100) The media container is {status} and cannot be published", 100, 2207001)
        day = [
            p
            for p in world.posts.of("instagram", ig["id"])
            if p.reply_to is None and p.created_at > world.now() - DAY_S
        ]
        if len(day) >= int(world.setting("instagram", "publishing_limit", 100)):
            raise _invalid(
                "The maximum number of posts that can be published using the API within a 24 hour period has been "
                "reached",
                9,
                2207042,
            )
        params = container.params
        made = world.posts.add(
            Post(
                platform="instagram",
                id=world.number(17),
                user_id=user.id,
                page_id=ig["id"],
                text=str(params.get("caption") or ""),
                created_at=world.now(),
                request={**params, "creation_id": container.id},
            )
        )
        made.response = media_node(made, container, ig)
        container.published_id = made.id
        return reply({"id": made.id})

    def listing(request: Request[Any, Any, Any], *, stories: bool) -> Response[Any]:
        _, _, ig = speaker(request, "instagram_basic")
        posts = [
            p
            for p in world.posts.of("instagram", ig["id"])
            if p.reply_to is None and (p.response.get("media_product_type") == "STORY") == stories
        ]
        fields = request.query_params.get("fields", "")
        chosen, paging = cursor_page(posts, query(request), str(request.url).split("?")[0])
        return reply({"data": [pick(p.response, fields, "id") for p in chosen], "paging": paging})

    @get("/{version:str}/{ig_user_id:str}/media", opt={"endpoint": "user_media"})
    async def user_media(request: Request[Any, Any, Any]) -> Response[Any]:
        return listing(request, stories=False)

    @get("/{version:str}/{ig_user_id:str}/stories", opt={"endpoint": "user_stories"})
    async def user_stories(request: Request[Any, Any, Any]) -> Response[Any]:
        return listing(request, stories=True)

    @post("/{version:str}/{media_id:str}/comments", opt={"endpoint": "comment"}, status_code=200)
    async def comment(request: Request[Any, Any, Any]) -> Response[Any]:
        media_id = request.path_params["media_id"]
        body = {**query(request), **await payload(request)}
        _, user, ig = speaker(request, "instagram_basic", "instagram_manage_comments")
        target = world.posts.get("instagram", media_id)
        if target is None or target.reply_to is not None:
            raise _invalid(f"(#100) Media with ID '{media_id}' does not exist or cannot be commented", 100, 33)
        if target.response.get("media_product_type") == "STORY":
            raise _invalid("(#100) A story cannot be commented", 100)
        message = str(body.get("message") or "")
        if not message.strip() or len(message) > MAX_CAPTION:
            raise _invalid(f"(#100) A comment's message takes 1 to {MAX_CAPTION} characters")
        made = world.posts.add(
            Post(
                platform="instagram",
                id=world.number(17),
                user_id=user.id,
                page_id=ig["id"],
                text=message,
                created_at=world.now(),
                reply_to=target.id,
                request=body,
            )
        )
        made.response = {
            "id": made.id,
            "text": message,
            "timestamp": graph_time(made.created_at),
            "username": ig["username"],
            "from": {"id": ig["id"], "username": ig["username"]},
            "media": {"id": target.id},
        }
        target.response["comments_count"] = target.response.get("comments_count", 0) + 1
        return reply({"id": made.id})

    @get("/{version:str}/{media_id:str}/comments", opt={"endpoint": "read_comments"})
    async def read_comments(request: Request[Any, Any, Any]) -> Response[Any]:
        media_id = request.path_params["media_id"]
        speaker(request, "instagram_basic")
        comments = [p for p in world.posts.of("instagram") if p.reply_to == media_id]
        fields = request.query_params.get("fields", "")
        data = [pick(p.response, fields, "id,text,timestamp") for p in newest_first(comments, query(request))]
        return reply({"data": data, "paging": {"cursors": {"before": "QVFI", "after": "QVFI"}}})

    def node(node_id: str, fields: str) -> dict[str, Any] | None:
        found = world.posts.get("instagram", node_id)
        if found is not None:
            return pick(found.response, fields, "id")
        container = containers.get(node_id)
        if container is None:
            return None
        now = world.now()
        status = container.status(now)
        said = {"ERROR": f"Error: {container.error_message(now)}", "IN_PROGRESS": "In Progress: media is processing"}
        return pick(
            {"id": container.id, "status_code": status, "status": said.get(status, status.title())},
            fields,
            "id,status_code",
        )

    return [create_container, publish, user_media, user_stories, comment, read_comments], node
