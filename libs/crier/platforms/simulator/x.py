"""X: OAuth 2.0 with mandatory PKCE on x.com/i/oauth2, tokens on api.x.com/2/oauth2, and
`GET /2/users/me`. Refresh tokens (offline.access only) rotate; a dead one is refused with X's
`invalid_request` "Value passed for the token was invalid.".

Publishing, as API v2 (2.167, `../shared/platform-contracts/x/openapi.json`) does it:
`POST /2/tweets` (scope `tweet.write`; the body's fields as documented and no others; `text` by
twitter-text's weighted count, at most 280; the post replied to or quoted must exist; the same
text from the same user within `duplicate_window_s`, a day by default, is refused as duplicate
content) answers 201 `{"data": {"id", "text", "edit_history_post_ids"}}`, where `text` is what X
keeps: links as t.co links, `&<>` as HTML entities. `GET /2/users/{id}/tweets` (scopes
`tweet.read` and `users.read`) lists a user's posts newest first, `max_results` 5..100 (10),
`pagination_token`, `since_id`/`until_id`, `start_time`/`end_time`, `exclude`, the fields asked for
with `post.fields` and the `expansions` `referenced_posts`, `author_id`, `in_reply_to_user_id`
(with `includes`), or with the older `tweet.fields` in the older names (`referenced_tweets`,
`edit_history_tweet_ids`). A post may carry media uploaded through `x_media` (`media.media_ids`,
shown as `attachments.media_keys`). An unknown user is a 200 with a
resource-not-found Problem in `errors`. X's own refusals of a post's content are 403 Problems
`about:blank` worded as its backend words them.
"""

from __future__ import annotations

import html
import secrets
import string
import time
import unicodedata
from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, get, post

from crier.platforms.simulator import account_figures, authz, x_media
from crier.platforms.simulator.authz import Dialect, Rules, SimError, reply
from crier.platforms.simulator.http import form_of, query
from crier.platforms.simulator.posts import Post, payload
from crier.platforms.simulator.world import Grant, World
from crier.platforms.x import MAX_WEIGHTED_LENGTH, links, weighted_length

RULES = Rules(
    platform="x",
    pkce="required",
    client_auth="either",
    access_ttl_s=7200,
    refresh_ttl_s=None,
    rotate_refresh=True,
    wants_refresh=lambda code, app: "offline.access" in code.scopes,
)


class XDialect(Dialect):
    def oauth_error(self, error: str, description: str, status: int = 400) -> Response[Any]:
        if error == "invalid_grant" and "refresh token" in description:
            error, description = "invalid_request", "Value passed for the token was invalid."
        return reply({"error": error, "error_description": description}, status)

    def _problem(self, status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> Response[Any]:
        return reply({"title": title, "detail": detail, "type": "about:blank", "status": status}, status, headers)

    def invalid_token(self, expired: bool) -> Response[Any]:
        return self._problem(401, "Unauthorized", "Unauthorized")

    def rate_limited(self, retry_after: int) -> Response[Any]:
        # X sends no Retry-After: the window's end, in epoch seconds, is the hint.
        return self._problem(
            429,
            "Too Many Requests",
            "Too Many Requests",
            {
                "x-rate-limit-limit": "75",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(int(time.time()) + retry_after),
            },
        )

    def server_error(self, status: int) -> Response[Any]:
        return self._problem(
            status,
            "Service Unavailable" if status == 503 else "Internal Server Error",
            "Something went wrong on X's side",
        )

    def rejected(self) -> Response[Any]:
        return reply(
            {
                "detail": "You are not allowed to create a Tweet with duplicate content.",
                "type": "about:blank",
                "title": "Forbidden",
                "status": 403,
            },
            403,
        )


DIALECT = XDialect()


def new_user_id(world: World) -> str:
    return world.number(19)


def make_pages(world: World, spec: dict[str, Any]) -> list[dict[str, Any]]:
    return []


# -- publishing ---------------------------------------------------------------------------------

# X does not say how long it refuses a repeated text; a day here (`duplicate_window_s`).
DUPLICATE_WINDOW_S = 24 * 3600.0
# CreatePostsRequest's properties: any other key is refused.
CREATE_FIELDS = frozenset(
    {
        "card_uri",
        "community_id",
        "direct_message_deep_link",
        "edit_options",
        "for_super_followers_only",
        "geo",
        "made_with_ai",
        "media",
        "nullcast",
        "paid_partnership",
        "poll",
        "quote_tweet_id",
        "reply",
        "reply_settings",
        "share_with_followers",
        "text",
    }
)
REPLY_SETTINGS = ("following", "mentionedUsers", "subscribers", "verified")
# The post fields and expansions the simulator answers. In API 2.167 `author_id`,
# `in_reply_to_user_id` and `referenced_posts` are expansions (the post gains the field, `includes`
# the posts or users it names); the older `tweet.fields` asked for them as fields, by older names.
POST_FIELDS = frozenset({"id", "text", "created_at", "conversation_id", "lang", "reply_settings", "attachments"})
EXPANSIONS = frozenset({"referenced_posts", "author_id", "in_reply_to_user_id"})
_OLDER_NAMES = {"referenced_posts": "referenced_tweets", "edit_history_post_ids": "edit_history_tweet_ids"}
_OLDER_FIELDS = POST_FIELDS | {"author_id", "in_reply_to_user_id", "referenced_tweets"}
_BASE62 = string.ascii_letters + string.digits


def _invalid(message: str, **parameters: list[str]) -> SimError:
    problem: dict[str, Any] = {"message": message}
    if parameters:
        problem["parameters"] = parameters
    return SimError(
        reply(
            {
                "errors": [problem],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": "https://api.x.com/2/problems/invalid-request",
            },
            400,
        )
    )


def _forbidden(detail: str) -> SimError:
    return SimError(reply({"detail": detail, "type": "about:blank", "title": "Forbidden", "status": 403}, 403))


def _scoped(grant: Grant, *wanted: str) -> None:
    if not set(wanted) <= set(grant.scopes):
        raise _forbidden("You are not permitted to perform this action.")


def _limits() -> dict[str, str]:
    return {
        "x-rate-limit-limit": "100",
        "x-rate-limit-remaining": "99",
        "x-rate-limit-reset": str(int(time.time()) + 900),
    }


def _time(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def shown(text: str) -> str:
    """A post's text as X keeps and shows it: every link a t.co link, `&<>` as entities."""
    text = unicodedata.normalize("NFC", text)
    parts, at = [], 0
    for start, end in links(text):
        parts += [text[at:start], "https://t.co/" + "".join(secrets.choice(_BASE62) for _ in range(10))]
        at = end
    return html.escape("".join(parts) + text[at:], quote=False)


def _same_text(a: str, b: str) -> bool:
    return unicodedata.normalize("NFC", a).strip() == unicodedata.normalize("NFC", b).strip()


def create_post(world: World, grant: Grant, body: dict[str, Any]) -> Post:
    """What X checks before it makes a post, then the post."""
    unknown = sorted(set(body) - CREATE_FIELDS)
    if unknown:
        raise _invalid(
            f"$.{unknown[0]}: is not defined in the schema and the schema does not allow additional properties"
        )
    text = body.get("text", "")
    if not isinstance(text, str):
        raise _invalid(f"$.text: {type(text).__name__} found, string expected")
    if body.get("reply_settings") is not None and body["reply_settings"] not in REPLY_SETTINGS:
        raise _invalid(
            f"$.reply_settings: does not have a value in the enumeration {list(REPLY_SETTINGS)}",
            reply_settings=[str(body["reply_settings"])],
        )
    if not text.strip() and not body.get("media"):
        raise _invalid("Post text is required unless media is attached.", text=[text])
    if weighted_length(text) > MAX_WEIGHTED_LENGTH:
        raise _forbidden("Tweet needs to be a bit shorter.")
    media_keys = x_media.check_post_media(world, grant, body["media"]) if body.get("media") else []
    reply = body.get("reply")
    reply_to = reply.get("in_reply_to_tweet_id") if isinstance(reply, dict) else None
    parent = world.posts.get("x", str(reply_to)) if reply_to else None
    if reply_to and parent is None:
        raise _forbidden("You attempted to reply to a Tweet that is deleted or not visible to you.")
    quoted = body.get("quote_tweet_id")
    if quoted and world.posts.get("x", str(quoted)) is None:
        raise _invalid(f"Could not find the Post to quote: [{quoted}].", quote_tweet_id=[str(quoted)])
    window = float(world.setting("x", "duplicate_window_s", DUPLICATE_WINDOW_S))
    for earlier in world.posts.of("x", grant.user_id):
        if text.strip() and _same_text(earlier.text, text) and world.now() - earlier.created_at <= window:
            raise _forbidden("You are not allowed to create a Tweet with duplicate content.")
    made = world.posts.add(
        Post(
            platform="x",
            id=world.number(19),
            user_id=grant.user_id,
            text=text,
            created_at=world.now(),
            reply_to=parent.id if parent else None,
            request=body,
        )
    )
    references = [{"type": "replied_to", "id": parent.id}] if parent else []
    references += [{"type": "quoted", "id": str(quoted)}] if quoted else []
    made.response = {
        "id": made.id,
        "text": shown(text),
        "edit_history_post_ids": [made.id],
        "author_id": grant.user_id,
        "conversation_id": made.root or made.id,
        "created_at": _time(made.created_at),
        "reply_settings": body.get("reply_settings") or "everyone",
        "lang": "en",
    }
    if references:
        made.response["referenced_posts"] = references
    if media_keys:
        made.response["attachments"] = {"media_keys": media_keys}
    if parent is not None:
        made.response["in_reply_to_user_id"] = parent.user_id
    return made


def view(post: Post, fields: set[str] | frozenset[str] = frozenset(), *, older: bool = False) -> dict[str, Any]:
    """A post with the fields asked for (in 2.167's names), named as the asking parameter names them."""
    kept = post.response
    shown_post = {k: kept[k] for k in ("id", "text", "edit_history_post_ids", *sorted(fields)) if k in kept}
    return {_OLDER_NAMES.get(k, k) if older else k: v for k, v in shown_post.items()}


def _listed(items: str) -> set[str]:
    return {i for i in items.split(",") if i}


def _asked(params: dict[str, str]) -> tuple[set[str], set[str], bool]:
    """The fields and expansions a listing asks for, and whether it asks in the older names."""
    older = "tweet.fields" in params and "post.fields" not in params
    name, known = ("tweet.fields", _OLDER_FIELDS) if older else ("post.fields", POST_FIELDS)
    fields, expansions = _listed(params.get(name, "")), _listed(params.get("expansions", ""))
    for asked, allowed, parameter in ((fields, known, name), (expansions, EXPANSIONS, "expansions")):
        unknown = sorted(asked - allowed)
        if unknown:
            raise _invalid(
                f"The `{parameter}` query parameter value [{unknown[0]}] is not one of {sorted(allowed)}",
                **{parameter: unknown},
            )
    fields = {"referenced_posts" if f == "referenced_tweets" else f for f in fields}
    return fields | expansions, expansions, older


def _includes(world: World, page: list[Post], expansions: set[str]) -> dict[str, Any]:
    """What the expansions name: the posts referenced, the users named."""
    includes: dict[str, Any] = {}
    if "referenced_posts" in expansions:
        named = [ref["id"] for p in page for ref in p.response.get("referenced_posts", [])]
        found = [world.posts.get("x", i) for i in dict.fromkeys(named)]
        if any(found):
            includes["posts"] = [view(p) for p in found if p is not None]
    user_ids = [p.response.get(k) for p in page for k in ("author_id", "in_reply_to_user_id") if k in expansions]
    users = [world.user("x", u) for u in dict.fromkeys(u for u in user_ids if u)]
    if any(users):
        includes["users"] = [{"id": u.id, "name": u.display_name, "username": u.username} for u in users if u]
    return includes


def _instant(value: str, name: str) -> float:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise _invalid(f"Invalid '{name}': '{value}'", **{name: [value]}) from None


def user_posts(world: World, user_id: str, params: dict[str, str]) -> dict[str, Any]:
    """`GET /2/users/{id}/tweets`: the user's posts, newest first, a page at a time."""
    try:
        limit = int(params.get("max_results") or 10)
    except ValueError:
        limit = 0
    if not 5 <= limit <= 100:
        raise _invalid(
            f"The `max_results` query parameter value [{params.get('max_results')}] is not between 5 and 100",
            max_results=[str(params.get("max_results"))],
        )
    fields, expansions, older = _asked(params)
    excluded = {e for e in params.get("exclude", "").split(",") if e}
    if excluded - {"replies", "retweets"}:
        raise _invalid(
            "The `exclude` query parameter value is not one of [replies, retweets]", exclude=sorted(excluded)
        )
    if world.user("x", user_id) is None:
        return {
            "errors": [
                {
                    "value": user_id,
                    "detail": f"Could not find user with id: [{user_id}].",
                    "title": "Not Found Error",
                    "resource_type": "user",
                    "parameter": "id",
                    "resource_id": user_id,
                    "type": "https://api.x.com/2/problems/resource-not-found",
                }
            ]
        }
    start = _instant(params["start_time"], "start_time") if params.get("start_time") else None
    end = _instant(params["end_time"], "end_time") if params.get("end_time") else None
    chosen = [
        p
        for p in sorted(world.posts.of("x", user_id), key=lambda p: int(p.id), reverse=True)
        if not ("replies" in excluded and p.reply_to)
        and (start is None or p.created_at >= start)
        and (end is None or p.created_at <= end)
        and (not params.get("since_id") or int(p.id) > int(params["since_id"]))
        and (not params.get("until_id") or int(p.id) < int(params["until_id"]))
    ]
    offset = int(params.get("pagination_token") or 0)
    page = chosen[offset : offset + limit]
    meta: dict[str, Any] = {"result_count": len(page)}
    if page:
        meta |= {"newest_id": page[0].id, "oldest_id": page[-1].id}
    if offset + limit < len(chosen):
        meta["next_token"] = str(offset + limit)
    if offset:
        meta["previous_token"] = str(max(0, offset - limit))
    answer: dict[str, Any] = {"meta": meta}
    if page:
        answer["data"] = [view(p, fields, older=older) for p in page]
    if includes := _includes(world, page, expansions):
        answer["includes"] = includes
    return answer


def routes(world: World) -> list[Any]:
    @get("/i/oauth2/authorize", opt={"endpoint": "authorize"})
    async def authorize(request: Request[Any, Any, Any]) -> Response[Any]:
        return authz.authorize(world, RULES, query(request))

    @post("/2/oauth2/token", opt={"endpoint": "token"}, status_code=200)
    async def token(request: Request[Any, Any, Any]) -> Response[Any]:
        form = await form_of(request)
        app = authz.client(world, RULES, DIALECT, request, form)
        granted = authz.grant_for(world, RULES, DIALECT, app, form)
        if granted is None:
            return DIALECT.oauth_error("unsupported_grant_type", "grant_type is not supported")
        grant, access, refresh = granted
        body = {
            "token_type": "bearer",
            "expires_in": authz.expires_in(world, access),
            "access_token": access.value,
            "scope": " ".join(grant.scopes),
        }
        if refresh is not None:
            body["refresh_token"] = refresh.value
        return reply(body)

    @post("/2/oauth2/revoke", opt={"endpoint": "revoke"}, status_code=200)
    async def revoke(request: Request[Any, Any, Any]) -> Response[Any]:
        form = await form_of(request)
        authz.client(world, RULES, DIALECT, request, form)
        # Revoking an access token leaves the refresh token (and so the grant) alive.
        authz.revoke(world, "x", form.get("token", ""), whole_grant=False)
        return reply({"revoked": True})

    @get("/2/users/me", opt={"endpoint": "me"})
    async def me(request: Request[Any, Any, Any]) -> Response[Any]:
        _, grant = authz.bearer(world, "x", DIALECT, request)
        user = world.user("x", grant.user_id)
        assert user is not None
        fields = set(request.query_params.get("user.fields", "").split(","))
        data: dict[str, Any] = {"id": user.id, "name": user.display_name, "username": user.username}
        if "profile_image_url" in fields:
            data["profile_image_url"] = user.avatar_url
        if "verified" in fields:
            data["verified"] = False
        if "public_metrics" in fields:
            mine = account_figures.figures("x", user.id)
            data["public_metrics"] = {
                "followers_count": mine["followers"],
                "following_count": mine["following"],
                "post_count": mine["posts"],
                "tweet_count": mine["posts"],
                "listed_count": mine["followers"] // 100,
                "like_count": mine["reach"] // 10,
                "media_count": mine["posts"] // 4,
            }
        return reply({"data": data}, headers={"x-rate-limit-limit": "75", "x-rate-limit-remaining": "74"})

    @post("/2/tweets", opt={"endpoint": "tweets"}, status_code=201)
    async def tweets(request: Request[Any, Any, Any]) -> Response[Any]:
        _, grant = authz.bearer(world, "x", DIALECT, request)
        _scoped(grant, "tweet.write")
        made = create_post(world, grant, await payload(request))
        return reply({"data": view(made)}, 201, _limits())

    @get("/2/users/{user_id:str}/tweets", opt={"endpoint": "user_tweets"})
    async def user_tweets(request: Request[Any, Any, Any]) -> Response[Any]:
        _, grant = authz.bearer(world, "x", DIALECT, request)
        _scoped(grant, "tweet.read", "users.read")
        return reply(user_posts(world, request.path_params["user_id"], query(request)), headers=_limits())

    return [authorize, token, revoke, me, tweets, user_tweets, *x_media.routes(world, DIALECT)]
