"""YouTube's uploads (Data API v3): the resumable `videos.insert`, `videos.list` with processing
details, the channel's uploads through `search.list?forMine=true`, and comment threads.

- `POST /upload/youtube/v3/videos?uploadType=resumable&part=snippet,status` takes the video
  resource (JSON) with `X-Upload-Content-Length` and `X-Upload-Content-Type` (`video/*` or
  `application/octet-stream`) and answers 200 with an absolute `Location`: the session URI, under
  the simulator's own base. The metadata is checked first (title required, at most 100
  characters, no `<` `>`; description at most 5000 bytes; tags at most 500 characters as YouTube
  counts them; privacy status; `publishAt` only for private videos; `selfDeclaredMadeForKids` a
  boolean), each refusal a 400 with YouTube's reason.
- `PUT <session URI>` with `Content-Range: bytes first-last/total` appends a chunk (every chunk but
  the last a multiple of 256 KiB, starting where the committed bytes end) and answers `308 Resume
  Incomplete` with `Range: bytes=0-<last committed>`; the last one answers 201 with the video.
  `PUT` with `Content-Range: bytes */total` and no body asks where the session stands (308, with
  no `Range` before the first byte). An unknown session is a 404. The chunks each session received
  are kept in the media item's `extra.chunks`, so tests can tell a resumed upload from a restarted
  one.
- A video is processing until the `processing_s` setting has passed (`processingDetails`
  `processing`, `status.uploadStatus` `uploaded`), then `succeeded` / `processed`, or with
  `processing_fails` `failed` (`failureReason` `conversion`); bytes that are no video fail at once
  (`invalidFile`).
- `POST /youtube/v3/commentThreads?part=snippet` needs `youtube.force-ssl` and a video of the
  channel's; `GET /youtube/v3/commentThreads?videoId=` lists a video's threads, newest first.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, get, post, put

from crier.platforms.simulator import authz, post_engagement
from crier.platforms.simulator.authz import SimError, reply
from crier.platforms.simulator.media import inspected
from crier.platforms.simulator.posts import Post, payload
from crier.platforms.simulator.world import User, World

PLATFORM = "youtube"
CHUNK_UNIT = 256 * 1024
MAX_BYTES = 274877906944
_SCOPE = "https://www.googleapis.com/auth/youtube"
UPLOAD_SCOPES = {f"{_SCOPE}", f"{_SCOPE}.upload", f"{_SCOPE}.force-ssl"}
READ_SCOPES = {f"{_SCOPE}", f"{_SCOPE}.readonly", f"{_SCOPE}.force-ssl"}
COMMENT_SCOPES = {f"{_SCOPE}.force-ssl"}
_ID_CHARS = string.ascii_letters + string.digits + "-_"
_RANGE = re.compile(r"bytes (\*|(\d+)-(\d+))/(\d+)")


def error(status: int, message: str, reason: str, domain: str = "youtube.video") -> SimError:
    state = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}.get(status, "FAILED_PRECONDITION")
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
            "status": state,
        }
    }
    return SimError(reply(body, status))


@dataclass
class Session:
    id: str
    user_id: str
    channel: dict[str, Any]
    video: dict[str, Any]
    total: int
    mime: str
    notify: bool
    data: bytearray = field(default_factory=bytearray)
    chunks: list[list[int]] = field(default_factory=list)
    video_id: str | None = None


def check_metadata(video: Any) -> None:
    """What `videos.insert` refuses in the video resource, as YouTube words it."""
    if not isinstance(video, dict):
        raise error(400, "The request metadata is invalid.", "invalidVideoMetadata")
    snippet, status = video.get("snippet") or {}, video.get("status") or {}
    title, text = snippet.get("title"), snippet.get("description", "")
    if not isinstance(title, str) or not title.strip() or len(title) > 100 or re.search(r"[<>]", title):
        raise error(400, "The request metadata specifies an invalid or empty video title.", "invalidTitle")
    if not isinstance(text, str) or len(text.encode()) > 5000 or re.search(r"[<>]", text):
        raise error(400, "The request metadata specifies an invalid video description.", "invalidDescription")
    tags = snippet.get("tags") or []
    counted = sum(len(t) + (2 if " " in t else 0) for t in tags) + max(len(tags) - 1, 0)
    if not all(isinstance(t, str) for t in tags) or counted > 500:
        raise error(400, "The request metadata specifies invalid video keywords.", "invalidTags")
    if snippet.get("categoryId") is not None and not str(snippet["categoryId"]).isdigit():
        raise error(400, "The video category specified is invalid.", "invalidCategoryId")
    if status.get("privacyStatus", "public") not in ("public", "unlisted", "private"):
        raise error(400, "The request metadata specifies an invalid privacy status.", "invalidVideoMetadata")
    if not isinstance(status.get("selfDeclaredMadeForKids", False), bool):
        raise error(400, "The request metadata is invalid.", "invalidVideoMetadata")
    if status.get("publishAt") is not None and status.get("privacyStatus") != "private":
        raise error(400, "The request metadata specifies an invalid scheduled publishing time.", "invalidPublishAt")


def video_of(world: World, post: Post, parts: set[str]) -> dict[str, Any]:
    """The video resource as `videos.list` answers it now, with the parts asked for."""
    media = world.media.get(PLATFORM, post.id)
    state = media.status(world.now()) if media is not None else "ready"
    invalid = media is None or media.kind != "video"
    found = post.response
    status = dict(found["status"])
    if invalid or state == "failed":
        status |= {"uploadStatus": "failed", "failureReason": "invalidFile" if invalid else "conversion"}
    elif state == "ready":
        status["uploadStatus"] = "processed"
    details: dict[str, Any] = {"processingStatus": {"processing": "processing", "ready": "succeeded"}.get(state)}
    if invalid or state == "failed":
        details = {"processingStatus": "failed", "processingFailureReason": "transcodeFailed"}
    elif state == "processing" and media is not None:
        left = int(max(media.ready_at - world.now(), 0) * 1000)
        details["processingProgress"] = {"partsTotal": "1000", "partsProcessed": "0", "timeLeftMs": str(left)}
    whole = {**found, "status": status, "processingDetails": details}
    whole["statistics"] = post_engagement.youtube_statistics(post.id)
    return {k: v for k, v in whole.items() if k in parts or k in ("kind", "etag", "id")}


def _channel(user: User) -> dict[str, Any]:
    return next(p for p in user.pages if p.get("kind") == "channel")


def _complete(world: World, session: Session) -> Post:
    """The video YouTube makes of a finished upload, processing from now."""
    video_id = "".join(secrets.choice(_ID_CHARS) for _ in range(11))
    item = inspected(PLATFORM, video_id, session.user_id, bytes(session.data), declared_mime=session.mime)
    item.ready_at, item.fails = world.processing_until(PLATFORM)
    item.extra = {"chunks": session.chunks, "session": session.id, "notify_subscribers": session.notify}
    world.media.add(item)
    snippet, status = session.video.get("snippet") or {}, session.video.get("status") or {}
    at = _iso(world.now())
    resource = {
        "kind": "youtube#video",
        "etag": secrets.token_urlsafe(12),
        "id": video_id,
        "snippet": {
            "publishedAt": at,
            "channelId": session.channel["id"],
            "title": snippet["title"],
            "description": snippet.get("description", ""),
            "thumbnails": {"default": {"url": f"https://i.ytimg.com/vi/{video_id}/default.jpg", "width": 120}},
            "channelTitle": session.channel["title"],
            **{k: snippet[k] for k in ("tags", "categoryId", "defaultLanguage") if k in snippet},
            "liveBroadcastContent": "none",
            "localized": {"title": snippet["title"], "description": snippet.get("description", "")},
        },
        "status": {
            "uploadStatus": "uploaded",
            "privacyStatus": status.get("privacyStatus", "public"),
            "license": "youtube",
            "embeddable": True,
            "publicStatsViewable": True,
            "selfDeclaredMadeForKids": status.get("selfDeclaredMadeForKids", False),
            "madeForKids": status.get("selfDeclaredMadeForKids", False),
            **({"publishAt": status["publishAt"]} if "publishAt" in status else {}),
        },
    }
    session.video_id = video_id
    made = Post(
        platform=PLATFORM,
        id=video_id,
        user_id=session.user_id,
        page_id=session.channel["id"],
        text=snippet.get("description", ""),
        created_at=world.now(),
        request=session.video,
        response=resource,
    )
    return world.posts.add(made)


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _incomplete(session: Session) -> Response[Any]:
    headers = {"Range": f"bytes=0-{len(session.data) - 1}"} if session.data else {}
    return Response(b"", status_code=308, headers=headers)


def routes(world: World, dialect: authz.Dialect) -> list[Any]:
    sessions: dict[str, Session] = {}

    def caller(request: Request[Any, Any, Any], scopes: set[str]) -> User:
        _, grant = authz.bearer(world, PLATFORM, dialect, request)
        if not scopes & set(grant.scopes):
            raise error(403, "Request had insufficient authentication scopes.", "insufficientPermissions", "global")
        user = world.user(PLATFORM, grant.user_id)
        assert user is not None
        return user

    @post("/upload/youtube/v3/videos", opt={"endpoint": "upload_session"}, status_code=200)
    async def start(request: Request[Any, Any, Any]) -> Response[Any]:
        user = caller(request, UPLOAD_SCOPES)
        query = request.query_params
        if query.get("uploadType") != "resumable":
            raise error(400, "Media upload is only taken resumable here.", "badRequest", "global")
        video = await payload(request)
        check_metadata(video)
        try:
            total = int(request.headers.get("x-upload-content-length", ""))
        except ValueError:
            raise error(400, "X-Upload-Content-Length is required.", "badRequest", "global") from None
        mime = request.headers.get("x-upload-content-type", "")
        if not (mime.startswith("video/") or mime == "application/octet-stream"):
            raise error(400, f"Media type '{mime}' is not supported.", "mediaBodyRequired", "global")
        if total <= 0 or total > MAX_BYTES:
            raise error(400, "The video is empty or larger than YouTube takes.", "uploadLimitExceeded")
        notify = query.get("notifySubscribers", "true") != "false"
        session = Session(secrets.token_urlsafe(24), user.id, _channel(user), video, total, mime, notify)
        sessions[session.id] = session
        base = str(request.base_url).rstrip("/")
        location = f"{base}/{PLATFORM}/upload/youtube/v3/videos?uploadType=resumable&upload_id={session.id}"
        return Response(b"", status_code=200, headers={"Location": location})

    @put("/upload/youtube/v3/videos", opt={"endpoint": "upload"}, request_max_body_size=64 << 20)
    async def upload(request: Request[Any, Any, Any]) -> Response[Any]:
        session = sessions.get(request.query_params.get("upload_id", ""))
        if session is None:
            raise error(404, "The upload session was not found or has expired.", "notFound", "global")
        body = await request.body()
        found = _RANGE.fullmatch(request.headers.get("content-range", ""))
        if found is None or int(found.group(4)) != session.total:
            raise error(400, "Content-Range is missing or does not match the upload.", "badRequest", "global")
        if session.video_id is not None:
            made = world.posts.get(PLATFORM, session.video_id)
            assert made is not None
            return reply(made.response, 201)
        if found.group(1) == "*":
            return _incomplete(session)
        first, last = int(found.group(2)), int(found.group(3))
        final = last + 1 == session.total
        if first != len(session.data) or last - first + 1 != len(body):
            raise error(400, "The chunk does not continue the committed bytes.", "badRequest", "global")
        if not final and len(body) % CHUNK_UNIT:
            raise error(400, "A chunk other than the last must be a multiple of 256 KiB.", "badRequest", "global")
        session.data += body
        session.chunks.append([first, last])
        if not final:
            return _incomplete(session)
        return reply(_complete(world, session).response, 201)

    @get("/youtube/v3/videos", opt={"endpoint": "videos"})
    async def videos(request: Request[Any, Any, Any]) -> Response[Any]:
        user = caller(request, READ_SCOPES | UPLOAD_SCOPES)
        parts = set(request.query_params.get("part", "").split(","))
        ids = [i for i in request.query_params.get("id", "").split(",") if i]
        mine = {c["id"] for c in user.pages if c.get("kind") == "channel"}
        found = [p for i in ids if (p := world.posts.get(PLATFORM, i)) is not None and p.page_id in mine]
        items = [video_of(world, p, parts) for p in found]
        return reply({"kind": "youtube#videoListResponse", "items": items, "pageInfo": {"totalResults": len(items)}})

    @get("/youtube/v3/search", opt={"endpoint": "search"})
    async def search(request: Request[Any, Any, Any]) -> Response[Any]:
        user = caller(request, READ_SCOPES)
        query = request.query_params
        if query.get("forMine") != "true" or query.get("type") != "video":
            raise error(400, "forMine requires type=video.", "invalidSearchFilter", "youtube.search")
        channel = _channel(user)["id"]
        mine = [p for p in world.posts.of(PLATFORM) if p.page_id == channel and p.reply_to is None]
        newest = sorted(mine, key=lambda p: p.created_at, reverse=True)[: int(query.get("maxResults") or 5)]
        items = [
            {
                "kind": "youtube#searchResult",
                "etag": secrets.token_urlsafe(12),
                "id": {"kind": "youtube#video", "videoId": p.id},
                "snippet": {k: p.response["snippet"][k] for k in ("publishedAt", "channelId", "title", "description")},
            }
            for p in newest
        ]
        return reply({"kind": "youtube#searchListResponse", "items": items, "pageInfo": {"totalResults": len(mine)}})

    @get("/youtube/v3/playlistItems", opt={"endpoint": "playlist_items"})
    async def playlist_items(request: Request[Any, Any, Any]) -> Response[Any]:
        """A channel's uploads playlist (`UU…`), newest first, `maxResults` (5, at most 50) a page."""
        user = caller(request, READ_SCOPES)
        query = request.query_params
        channel = next((c for c in user.pages if "UU" + c["id"][2:] == query.get("playlistId")), None)
        if channel is None:
            raise error(
                404,
                "The playlist identified with the request's playlistId could not be found.",
                "playlistNotFound",
                "youtube.playlistItem",
            )
        size = max(1, min(50, int(query.get("maxResults") or 5)))
        start = int(query.get("pageToken") or 0)
        uploads = sorted(
            (p for p in world.posts.of(PLATFORM) if p.page_id == channel["id"] and p.reply_to is None),
            key=lambda p: p.created_at,
            reverse=True,
        )
        items = [
            {
                "kind": "youtube#playlistItem",
                "etag": secrets.token_urlsafe(12),
                "id": f"{query.get('playlistId')}.{p.id}",
                "snippet": {
                    **{k: p.response["snippet"][k] for k in ("publishedAt", "channelId", "title", "description")},
                    "playlistId": query.get("playlistId"),
                    "position": start + i,
                    "resourceId": {"kind": "youtube#video", "videoId": p.id},
                },
                "contentDetails": {"videoId": p.id, "videoPublishedAt": p.response["snippet"]["publishedAt"]},
            }
            for i, p in enumerate(uploads[start : start + size])
        ]
        answer: dict[str, Any] = {
            "kind": "youtube#playlistItemListResponse",
            "items": items,
            "pageInfo": {"totalResults": len(uploads), "resultsPerPage": size},
        }
        if start + size < len(uploads):
            answer["nextPageToken"] = str(start + size)
        return reply(answer)

    @post("/youtube/v3/commentThreads", opt={"endpoint": "comment_threads"}, status_code=200)
    async def comment(request: Request[Any, Any, Any]) -> Response[Any]:
        user = caller(request, COMMENT_SCOPES)
        body = await payload(request)
        snippet = body.get("snippet") or {}
        text = ((snippet.get("topLevelComment") or {}).get("snippet") or {}).get("textOriginal") or ""
        video = world.posts.get(PLATFORM, str(snippet.get("videoId") or ""))
        if video is None or video.reply_to is not None:
            raise error(404, "The video identified by the videoId parameter could not be found.", "videoNotFound")
        if not text.strip() or len(text) > 10_000:
            raise error(400, "The comment's text is empty or too long.", "commentTextRequired")
        channel = _channel(user)
        thread_id = "Ugz" + "".join(secrets.choice(_ID_CHARS) for _ in range(23))
        at = _iso(world.now())
        comment_snippet = {
            "channelId": video.page_id,
            "videoId": video.id,
            "textDisplay": text,
            "textOriginal": text,
            "authorDisplayName": channel["customUrl"],
            "authorChannelId": {"value": channel["id"]},
            "canRate": True,
            "viewerRating": "none",
            "likeCount": 0,
            "publishedAt": at,
            "updatedAt": at,
        }
        thread = {
            "kind": "youtube#commentThread",
            "etag": secrets.token_urlsafe(12),
            "id": thread_id,
            "snippet": {
                "channelId": video.page_id,
                "videoId": video.id,
                "topLevelComment": {"kind": "youtube#comment", "id": thread_id, "snippet": comment_snippet},
                "canReply": True,
                "totalReplyCount": 0,
                "isPublic": True,
            },
        }
        made = Post(PLATFORM, thread_id, user.id, text, world.now(), page_id=channel["id"], reply_to=video.id)
        made.request, made.response = body, thread
        world.posts.add(made)
        return reply(thread)

    @get("/youtube/v3/commentThreads", opt={"endpoint": "comment_threads_list"})
    async def comment_threads(request: Request[Any, Any, Any]) -> Response[Any]:
        caller(request, READ_SCOPES)
        video_id = request.query_params.get("videoId", "")
        threads = [p for p in world.posts.of(PLATFORM) if p.reply_to == video_id and video_id]
        newest = sorted(threads, key=lambda p: p.created_at, reverse=True)
        return reply({"kind": "youtube#commentThreadListResponse", "items": [p.response for p in newest]})

    return [start, upload, videos, search, playlist_items, comment, comment_threads]
