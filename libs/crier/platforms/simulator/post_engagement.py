"""Post engagement: the same deterministic counts for one post on every call, and the read
endpoints that report them, each in the platform's documented shape, for the posts the simulator
holds (anything else is the platform's own "not found"):

- X `GET /2/tweets/{id}?tweet.fields=public_metrics`; Mastodon `GET /api/v1/statuses/{id}`;
- Bluesky `app.bsky.feed.getPosts` (registered by `simulator/bluesky.py`, which knows its sessions);
- LinkedIn `GET /rest/socialActions/{urn}`; Threads `GET /{v}/{media-id}/insights`;
- Pinterest `GET /v5/pins/{id}?pin_metrics=true`; TikTok `POST /v2/video/query/`;
- Facebook and Instagram: the post's fields on the Graph node (`graph_fields`, asked by
  `simulator/meta.py`) and its insights (`insights`, asked by `account_figures`' insights route);
- YouTube: `statistics` on `videos.list` (`youtube_statistics`, asked by `youtube_videos`).
"""

from __future__ import annotations

import hashlib
from typing import Any

from litestar import Request, Response, get, post

from crier.platforms.simulator import authz
from crier.platforms.simulator.authz import Dialect, reply
from crier.platforms.simulator.graph import check_version, graph_error, graph_time, pick
from crier.platforms.simulator.http import json_of
from crier.platforms.simulator.linkedin import require_version
from crier.platforms.simulator.posts import Post
from crier.platforms.simulator.world import User, World


def engagement(platform: str, post_id: str) -> dict[str, int]:
    """A post's counts: a function of the platform and the post's id only."""
    seed = int.from_bytes(hashlib.sha256(f"sim-post:{platform}:{post_id}".encode()).digest()[:8], "big")
    impressions = 100 + seed % 50_000
    return {
        "likes": impressions // (10 + seed % 7),
        "reposts": impressions // (50 + seed % 11),
        "replies": impressions // (40 + seed % 13),
        "quotes": impressions // 500,
        "impressions": impressions,
    }


def post_node(world: World, platform: str, post_id: str, fields: str) -> dict[str, Any] | None:
    """A published Page post as a Graph node (its media nodes are `meta_page_media`'s)."""
    made = world.posts.get(platform, post_id)
    if made is None:
        return None
    node = {"id": made.id, "message": made.text, "created_time": graph_time(made.created_at)}
    return pick(node, fields, "id")


def graph_fields(world: World, platform: str, post_id: str, fields: str) -> dict[str, Any]:
    """What Graph adds to a published post's node for the engagement fields asked."""
    if world.posts.get(platform, post_id) is None:
        return {}
    mine = engagement(platform, post_id)
    out: dict[str, Any] = {}
    if platform == "facebook":
        if "reactions" in fields:
            out["reactions"] = {"data": [], "summary": {"total_count": mine["likes"], "viewer_reaction": "NONE"}}
        if "comments" in fields:
            out["comments"] = {"data": [], "summary": {"order": "ranked", "total_count": mine["replies"]}}
        if "shares" in fields:
            out["shares"] = {"count": mine["reposts"]}
        return out
    if "like_count" in fields:
        out["like_count"] = mine["likes"]
    if "comments_count" in fields:
        out["comments_count"] = mine["replies"]
    return out


# The insights metrics each Graph platform reports for one post, and the count each one is.
POST_INSIGHTS = {
    "facebook": {"post_impressions": "impressions"},
    "instagram": {"views": "impressions", "shares": "reposts", "reach": "impressions"},
    "threads": {
        "views": "impressions",
        "likes": "likes",
        "replies": "replies",
        "reposts": "reposts",
        "quotes": "quotes",
    },
}


def insights(platform: str, post_id: str, asked: list[str]) -> Response[Any]:
    known = POST_INSIGHTS[platform]
    unknown = [m for m in asked if m not in known]
    if not asked or unknown:
        return graph_error(400, 100, f"(#100) metric must be one of {', '.join(known)}: {unknown or asked}")
    mine = engagement(platform, post_id)
    data = [
        {
            "name": m,
            "period": "lifetime",
            "values": [{"value": mine[known[m]]}],
            "title": m,
            "description": m,
            "id": f"{post_id}/insights/{m}/lifetime",
        }
        for m in asked
    ]
    return reply({"data": data})


def youtube_statistics(video_id: str) -> dict[str, str]:
    """VideoStatistics: its counts are int64s, which Google's JSON spells as strings."""
    mine = engagement("youtube", video_id)
    return {
        "viewCount": str(mine["impressions"]),
        "likeCount": str(mine["likes"]),
        "favoriteCount": "0",
        "commentCount": str(mine["replies"]),
    }


def bluesky_routes(world: World, account: Any) -> list[Any]:
    @get("/xrpc/app.bsky.feed.getPosts", opt={"endpoint": "getPosts"})
    async def get_posts(request: Request[Any, Any, Any]) -> Response[Any]:
        account(request)
        uris = request.query_params.getall("uris", [])
        views = []
        for uri in uris:
            made = world.posts.get("bluesky", uri)
            if made is None:
                continue  # getPosts leaves out what it cannot find
            author = world.user("bluesky", made.user_id)
            counts = engagement("bluesky", uri)
            views.append(
                {
                    "uri": uri,
                    "cid": made.response.get("cid"),
                    "author": {"did": made.user_id, "handle": author.username if author else made.user_id},
                    "record": made.response.get("value", {}),
                    "indexedAt": "2026-01-01T00:00:00.000Z",
                    "likeCount": counts["likes"],
                    "repostCount": counts["reposts"],
                    "replyCount": counts["replies"],
                    "quoteCount": counts["quotes"],
                    "labels": [],
                }
            )
        return reply({"posts": views})

    return [get_posts]


def routes(world: World, platform: str, dialect: Dialect) -> list[Any]:
    def caller(request: Request[Any, Any, Any], kinds: tuple[str, ...] = ("access", "page")) -> User:
        _, grant = authz.bearer(world, platform, dialect, request, kinds)
        user = world.user(platform, grant.user_id)
        assert user is not None
        return user

    def held(post_id: str) -> Post | None:
        return world.posts.get(platform, post_id)

    if platform == "x":

        @get("/2/tweets/{post_id:str}", opt={"endpoint": "tweet"})
        async def tweet(request: Request[Any, Any, Any]) -> Response[Any]:
            caller(request)
            post_id = request.path_params["post_id"]
            made = held(post_id)
            if made is None:
                problem = {"resource_type": "tweet", "title": "Not Found Error", "parameter": "id", "value": post_id}
                problem |= {"detail": f"Could not find tweet with id: [{post_id}].", "type": "about:blank"}
                return reply({"errors": [problem]})
            data: dict[str, Any] = {"id": made.id, "text": made.text, "edit_history_tweet_ids": [made.id]}
            if "public_metrics" in request.query_params.get("tweet.fields", ""):
                mine = engagement("x", post_id)
                data["public_metrics"] = {
                    "retweet_count": mine["reposts"],
                    "repost_count": mine["reposts"],
                    "reply_count": mine["replies"],
                    "like_count": mine["likes"],
                    "quote_count": mine["quotes"],
                    "bookmark_count": mine["quotes"],
                    "impression_count": mine["impressions"],
                }
            return reply({"data": data})

        return [tweet]
    if platform == "mastodon":

        @get("/api/v1/statuses/{status_id:str}", opt={"endpoint": "status"})
        async def status(request: Request[Any, Any, Any]) -> Response[Any]:
            caller(request)
            made = held(request.path_params["status_id"])
            if made is None:
                return reply({"error": "Record not found"}, 404)
            mine = engagement("mastodon", made.id)
            counts = {"favourites_count": mine["likes"], "reblogs_count": mine["reposts"]}
            return reply(made.response | counts | {"replies_count": mine["replies"]})

        return [status]
    if platform == "linkedin":

        @get("/rest/socialActions/{on:str}", opt={"endpoint": "socialActions"})
        async def social_actions(request: Request[Any, Any, Any]) -> Response[Any]:
            require_version(request)
            caller(request)
            urn = request.path_params["on"]
            if held(urn) is None:
                return reply({"status": 404, "code": "NOT_FOUND", "message": f"Not found: {urn}"}, 404)
            mine = engagement("linkedin", urn)
            likes = {"totalLikes": mine["likes"], "aggregatedTotalLikes": mine["likes"], "likedByCurrentUser": False}
            comments = {"totalFirstLevelComments": mine["replies"], "aggregatedTotalComments": mine["replies"]}
            return reply({"target": urn, "likesSummary": likes, "commentsSummary": comments})

        return [social_actions]
    if platform == "threads":

        @get("/{version:str}/{media_id:str}/insights", opt={"endpoint": "media_insights"})
        async def media_insights(request: Request[Any, Any, Any]) -> Response[Any]:
            check_version(request.path_params["version"])
            caller(request, ("access", "long"))
            media_id = request.path_params["media_id"]
            if held(media_id) is None:
                return graph_error(400, 100, "Object does not exist or cannot be loaded due to missing permissions")
            return insights("threads", media_id, [m for m in request.query_params.get("metric", "").split(",") if m])

        return [media_insights]
    if platform == "pinterest":

        @get("/v5/pins/{pin_id:str}", opt={"endpoint": "pin"})
        async def pin(request: Request[Any, Any, Any]) -> Response[Any]:
            caller(request)
            made = held(request.path_params["pin_id"])
            if made is None:
                return reply({"code": 404, "message": "Pin not found."}, 404)
            body = {k: v for k, v in made.response.items() if k != "_sim"}
            if request.query_params.get("pin_metrics") == "true":
                mine = engagement("pinterest", made.id)
                window = {"pin_click": mine["likes"] // 2, "impression": mine["impressions"], "clickthrough": 0}
                lifetime = window | {"reaction": mine["likes"], "comment": mine["replies"]}
                body["pin_metrics"] = {"90d": window, "lifetime_metrics": lifetime}
            return reply(body)

        return [pin]
    if platform == "tiktok":

        @post("/v2/video/query", opt={"endpoint": "video_query"}, status_code=200)
        async def video_query(request: Request[Any, Any, Any]) -> Response[Any]:
            caller(request)
            asked = (await json_of(request)).get("filters", {}).get("video_ids") or []
            videos = []
            for video_id in map(str, asked):
                if held(video_id) is None:
                    continue
                mine = engagement("tiktok", video_id)
                videos.append(
                    {
                        "id": video_id,
                        "like_count": mine["likes"],
                        "comment_count": mine["replies"],
                        "share_count": mine["reposts"],
                        "view_count": mine["impressions"],
                    }
                )
            error = {"code": "ok", "message": "", "log_id": "20260101000000"}
            return reply({"data": {"videos": videos, "cursor": 0, "has_more": False}, "error": error})

        return [video_query]
    return []
