"""Google Business Profile's local posts (My Business API v4): `POST` and `GET
/v4/accounts/{a}/locations/{l}/localPosts` for the locations of the signed-in user.

A LocalPost is read the way Google reads JSON (camelCase or the proto's snake_case names; an
unknown name or a value of the wrong type is a 400 with a BadRequest `fieldViolations`) and then
validated as Google validates it (a 400 INVALID_ARGUMENT whose ValidationError `errorDetails` name
the field): the `business.manage` scope, `topicType` required, `summary` up to 1500 characters and
required on STANDARD and ALERT posts, an `event` with a title (up to 58 characters) and a schedule
of real dates whose end does not come before its start on EVENT and OFFER posts, `offer` on OFFER
posts only, `alertType` on ALERT posts only, and a call to action whose `url` is an http(s) URL, set
for every action but CALL. Google ignores a call to action on an OFFER: it is not kept.

A post's `media` (one `{mediaFormat: PHOTO | VIDEO, sourceUrl}`) is fetched from its `sourceUrl`
when the post is made and inspected as Google does (photos JPG or PNG of 10 KB to 5 MB and at least
250 x 250; videos up to 30 s and 75 MB at 720p or more); the post is `PROCESSING` until the media is
processed (the `processing_s` setting), then `LIVE`, or `REJECTED` (`processing_fails`). The stored
post's answer names the media (`media[].name` ends with the simulator's media id).
`GET /v4/{name}` reads one post.

Posts are listed newest first, `pageSize` 20 by default and at most 100. Errors are Google's
`{"error": {"code", "message", "status", "details"}}`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from litestar import Request, Response, get, post

from crier.platforms.simulator import authz
from crier.platforms.simulator.authz import Dialect, SimError, reply
from crier.platforms.simulator.media import MediaItem, fetch, inspected
from crier.platforms.simulator.posts import Post, payload
from crier.platforms.simulator.world import Grant, User, World

PLATFORM = "google_business"
SCOPES = {"https://www.googleapis.com/auth/business.manage", "https://www.googleapis.com/auth/plus.business.manage"}
MAX_SUMMARY = 1500
MAX_TITLE = 58

# The LocalPost and its parts as Google's JSON names them: field -> type (str, int, a part's name,
# or a tuple of enum values). Output-only fields are read and ignored on create, as Google does.
_TOPICS = ("LOCAL_POST_TOPIC_TYPE_UNSPECIFIED", "STANDARD", "EVENT", "OFFER", "ALERT")
_ACTIONS = ("ACTION_TYPE_UNSPECIFIED", "BOOK", "ORDER", "SHOP", "LEARN_MORE", "SIGN_UP", "GET_OFFER", "CALL")
_MESSAGES: dict[str, dict[str, Any]] = {
    "LocalPost": {
        "name": str,
        "languageCode": str,
        "summary": str,
        "callToAction": "CallToAction",
        "createTime": str,
        "updateTime": str,
        "event": "LocalPostEvent",
        "state": str,
        "media": ["MediaItem"],
        "searchUrl": str,
        "topicType": _TOPICS,
        "alertType": ("ALERT_TYPE_UNSPECIFIED", "COVID_19"),
        "offer": "LocalPostOffer",
    },
    "CallToAction": {"actionType": _ACTIONS, "url": str},
    "LocalPostEvent": {"title": str, "schedule": "TimeInterval"},
    "TimeInterval": {"startDate": "Date", "startTime": "TimeOfDay", "endDate": "Date", "endTime": "TimeOfDay"},
    "Date": {"year": int, "month": int, "day": int},
    "TimeOfDay": {"hours": int, "minutes": int, "seconds": int, "nanos": int},
    "LocalPostOffer": {"couponCode": str, "redeemOnlineUrl": str, "termsConditions": str},
    "MediaItem": {
        "name": str,
        "mediaFormat": ("MEDIA_FORMAT_UNSPECIFIED", "PHOTO", "VIDEO"),
        "sourceUrl": str,
        "googleUrl": str,
        "thumbnailUrl": str,
        "description": str,
    },
}
KB, MB = 1024, 1024 * 1024
_WEB_URL = re.compile(r"https?://[^\s/?#]+\S*", re.IGNORECASE)


def error(status: int, message: str, state: str, *details: dict[str, Any]) -> SimError:
    return SimError(
        reply({"error": {"code": status, "message": message, "status": state, "details": list(details)}}, status)
    )


def _unreadable(field: str, description: str) -> SimError:
    violation = {"field": field, "description": description}
    return error(
        400,
        description,
        "INVALID_ARGUMENT",
        {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [violation]},
    )


def _invalid(field: str, message: str) -> SimError:
    detail = {"code": 3, "field": field, "message": message}
    return error(
        400,
        "Request contains an invalid argument.",
        "INVALID_ARGUMENT",
        {"@type": "type.googleapis.com/google.mybusiness.v4.ValidationError", "errorDetails": [detail]},
    )


def _camel(name: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


def _snake(path: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), path)


def read(data: Any, message: str = "LocalPost", at: str = "local_post") -> dict[str, Any]:
    """`data` as Google's JSON parser reads it into `message`: camelCase names, or an error."""
    if not isinstance(data, dict):
        raise _unreadable(at, f"Invalid JSON payload received. Expected an object at '{at}'.")
    fields, out = _MESSAGES[message], dict[str, Any]()
    for raw, value in data.items():
        name = _camel(raw)
        kind = fields.get(name)
        where = f"{at}.{_snake(name)}"
        if kind is None:
            raise _unreadable(
                at, f"Invalid JSON payload received. Unknown name \"{raw}\" at '{at}': Cannot find field."
            )
        if value is None:
            continue
        if isinstance(kind, list):
            if not isinstance(value, list):
                raise _unreadable(where, f"Invalid value at '{where}', expected a list")
            out[name] = [read(v, kind[0], f"{where}[{i}]") for i, v in enumerate(value)]
        elif isinstance(kind, str):
            out[name] = read(value, kind, where)
        elif isinstance(kind, tuple) and value not in kind:
            raise _unreadable(where, f"Invalid value at '{where}' ({message}), {value!r}")
        elif isinstance(kind, type) and (not isinstance(value, kind) or isinstance(value, bool)):
            raise _unreadable(where, f"Invalid value at '{where}' ({kind.__name__.upper()}), {value!r}")
        else:
            out[name] = value
    return out


def _day(part: dict[str, Any] | None, field: str) -> date:
    try:
        return date((part or {})["year"], part["month"], part["day"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        raise _invalid(field, "A valid date is required.") from None


def _minute(part: dict[str, Any], field: str) -> int:
    hours, minutes = part.get("hours", 0), part.get("minutes", 0)
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        raise _invalid(field, "A valid time of day is required.")
    return int(hours) * 60 + int(minutes)


def validate(local_post: dict[str, Any]) -> None:
    """What Google checks of a LocalPost it could read, the first problem as its 400."""
    topic = local_post.get("topicType", "LOCAL_POST_TOPIC_TYPE_UNSPECIFIED")
    summary = local_post.get("summary", "")
    if topic == "LOCAL_POST_TOPIC_TYPE_UNSPECIFIED":
        raise _invalid("topic_type", "Topic type is required.")
    if len(summary) > MAX_SUMMARY:
        raise _invalid("summary", f"The summary is longer than {MAX_SUMMARY} characters.")
    if topic in ("STANDARD", "ALERT") and not summary.strip():
        raise _invalid("summary", "A summary is required.")
    event = local_post.get("event")
    if topic in ("EVENT", "OFFER"):
        if event is None:
            raise _invalid("event", f"An event is required for topic type {topic}.")
        title = event.get("title", "")
        if not title.strip() or len(title) > MAX_TITLE:
            raise _invalid("event.title", f"The title is required and at most {MAX_TITLE} characters long.")
        schedule = event.get("schedule") or {}
        start = _day(schedule.get("startDate"), "event.schedule.start_date")
        end = _day(schedule.get("endDate"), "event.schedule.end_date")
        begins = (start, _minute(schedule.get("startTime") or {}, "event.schedule.start_time"))
        ends = (end, _minute(schedule.get("endTime") or {}, "event.schedule.end_time"))
        if ends < begins:
            raise _invalid("event.schedule", "The end of the schedule is before its start.")
    elif event is not None:
        raise _invalid("event", f"An event is not allowed for topic type {topic}.")
    if "offer" in local_post and topic != "OFFER":
        raise _invalid("offer", f"An offer is not allowed for topic type {topic}.")
    if "alertType" in local_post and topic != "ALERT":
        raise _invalid("alert_type", f"An alert type is not allowed for topic type {topic}.")
    offer_url = (local_post.get("offer") or {}).get("redeemOnlineUrl")
    if offer_url is not None and not _WEB_URL.fullmatch(offer_url):
        raise _invalid("offer.redeem_online_url", "Invalid URL.")
    action = local_post.get("callToAction")
    if action is not None and topic != "OFFER":
        kind, url = action.get("actionType", "ACTION_TYPE_UNSPECIFIED"), action.get("url")
        if kind == "ACTION_TYPE_UNSPECIFIED":
            raise _invalid("call_to_action.action_type", "An action type is required.")
        if kind == "CALL" and url is not None:
            raise _invalid("call_to_action.url", "A URL is not allowed for action type CALL.")
        if kind != "CALL" and (url is None or not _WEB_URL.fullmatch(url)):
            raise _invalid("call_to_action.url", "A valid URL is required.")


def _location_of(user: User, account_id: str, location_id: str) -> str:
    for page in user.pages:
        if page.get("kind") == "location" and (page["account"], page["name"]) == (
            f"accounts/{account_id}",
            f"locations/{location_id}",
        ):
            return f"accounts/{account_id}/locations/{location_id}"
    raise error(403, "The caller does not have permission", "PERMISSION_DENIED")


def _timestamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


async def _media(world: World, grant: Grant, location: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each MediaItem fetched from its `sourceUrl` and inspected; what the post's answer names."""
    if len(items) > 1:
        raise _invalid("media", "A post takes one photo or one video.")
    out = []
    for i, item in enumerate(items):
        field = f"media[{i}]"
        fmt, url = item.get("mediaFormat", "MEDIA_FORMAT_UNSPECIFIED"), item.get("sourceUrl")
        if fmt == "MEDIA_FORMAT_UNSPECIFIED":
            raise _invalid(f"{field}.media_format", "A media format is required.")
        if not url or not _WEB_URL.fullmatch(url):
            raise _invalid(f"{field}.source_url", "A valid source URL is required.")
        try:
            data, declared = await fetch(url, limit=75 * MB)
        except SimError:
            raise _invalid(f"{field}.source_url", "The media could not be fetched from the source URL.") from None
        found = inspected(PLATFORM, world.number(19), grant.user_id, data, declared_mime=declared)
        _check_media(found, fmt, field)
        found.ready_at, found.fails = world.processing_until(PLATFORM)
        found.extra = {"source_url": url, "media_format": fmt}
        world.media.add(found)
        out.append(
            {
                "name": f"{location}/media/{found.id}",
                "mediaFormat": fmt,
                "sourceUrl": url,
                "googleUrl": f"https://lh3.googleusercontent.com/p/{found.id}",
            }
        )
    return out


def _check_media(item: MediaItem, fmt: str, field: str) -> None:
    sides = [s for s in (item.width, item.height) if s]
    if fmt == "PHOTO":
        if item.mime not in ("image/jpeg", "image/png"):
            raise _invalid(field, "The photo must be a JPG or PNG file.")
        if not 10 * KB <= len(item.data) <= 5 * MB:
            raise _invalid(field, "The photo must be between 10 KB and 5 MB.")
        if min(sides, default=0) < 250:
            raise _invalid(field, "The photo must be at least 250 x 250 pixels.")
        return
    if item.kind != "video":
        raise _invalid(field, "The video could not be read.")
    if (item.duration_s or 0) > 30:
        raise _invalid(field, "The video must be at most 30 seconds long.")
    if min(sides, default=0) < 720:
        raise _invalid(field, "The video must be 720p or more.")


def state_of(world: World, post: Post) -> dict[str, Any]:
    """The post's answer with its state now: PROCESSING while Google processes its media."""
    statuses = {
        media.status(world.now())
        for m in post.response.get("media") or []
        if (media := world.media.get(PLATFORM, m["name"].rsplit("/", 1)[-1])) is not None
    }
    state = "REJECTED" if "failed" in statuses else "PROCESSING" if "processing" in statuses else "LIVE"
    post.response["state"] = state
    return post.response


async def create(world: World, grant: Grant, location: str, body: dict[str, Any]) -> Post:
    local_post = read(body)
    validate(local_post)
    if local_post.get("media"):
        local_post["media"] = await _media(world, grant, location, local_post["media"])
    kept = {k: v for k, v in local_post.items() if k not in ("name", "createTime", "updateTime", "state", "searchUrl")}
    if kept["topicType"] == "OFFER":
        kept.pop("callToAction", None)
    post_id = world.number(19)
    made = world.posts.add(
        Post(
            platform=PLATFORM,
            id=f"{location}/localPosts/{post_id}",
            user_id=grant.user_id,
            page_id=location,
            text=kept.get("summary", ""),
            created_at=world.now(),
            request=body,
        )
    )
    at = _timestamp(made.created_at)
    made.response = {
        "name": made.id,
        **kept,
        "createTime": at,
        "updateTime": at,
        "state": "LIVE",
        "searchUrl": f"https://local.google.com/place?id={location.rsplit('/', 1)[-1]}&use=posts&lpsid={post_id}",
    }
    state_of(world, made)
    return made


def routes(world: World, dialect: Dialect) -> list[Any]:
    def caller(request: Request[Any, Any, Any]) -> tuple[Grant, str]:
        _, grant = authz.bearer(world, PLATFORM, dialect, request)
        if not SCOPES & set(grant.scopes):
            scope_error = {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
            }
            raise error(403, "Request had insufficient authentication scopes.", "PERMISSION_DENIED", scope_error)
        user = world.user(PLATFORM, grant.user_id)
        assert user is not None
        params = request.path_params
        return grant, _location_of(user, params["account_id"], params["location_id"])

    path = "/v4/accounts/{account_id:str}/locations/{location_id:str}/localPosts"

    @post(path, opt={"endpoint": "local_posts"}, status_code=200)
    async def create_local_post(request: Request[Any, Any, Any]) -> Response[Any]:
        body = await payload(request)
        grant, location = caller(request)
        return reply((await create(world, grant, location, body)).response)

    @get(f"{path}/{{post_id:str}}", opt={"endpoint": "local_post"})
    async def get_local_post(request: Request[Any, Any, Any]) -> Response[Any]:
        _, location = caller(request)
        found = world.posts.get(PLATFORM, f"{location}/localPosts/{request.path_params['post_id']}")
        if found is None:
            raise error(404, "Requested entity was not found.", "NOT_FOUND")
        return reply(state_of(world, found))

    @get(path, opt={"endpoint": "local_posts_list"})
    async def list_local_posts(request: Request[Any, Any, Any]) -> Response[Any]:
        _, location = caller(request)
        try:
            size = int(request.query_params.get("pageSize") or 20)
            start = int(request.query_params.get("pageToken") or 0)
        except ValueError:
            raise error(400, "Request contains an invalid argument.", "INVALID_ARGUMENT") from None
        size = max(1, min(size, 100))
        newest_first = sorted(
            (p for p in world.posts.of(PLATFORM) if p.page_id == location), key=lambda p: p.created_at, reverse=True
        )
        chunk = newest_first[start : start + size]
        body: dict[str, Any] = {"localPosts": [state_of(world, p) for p in chunk]} if chunk else {}
        if start + size < len(newest_first):
            body["nextPageToken"] = str(start + size)
        return reply(body)

    return [create_local_post, get_local_post, list_local_posts]
