"""Account metrics: the same deterministic figures for one account on every call, and the
metrics endpoints that are not also a platform's identity call (those — X's `users/me`,
Mastodon's `verify_credentials`, Bluesky's `getProfile`, TikTok's `user/info`, Pinterest's
`user_account`, YouTube's `channels` — add their counts in their own modules from `figures`).

Served here, each in the platform's documented shape:
- LinkedIn `GET /rest/networkSizes/{urn}?edgeType=COMPANY_FOLLOWED_BY_MEMBER`,
  `GET /rest/organizationalEntityShareStatistics?q=organizationalEntity`, `GET /rest/memberFollowersCount?q=me`;
- Facebook `GET /{v}/{page-id}/insights`, Instagram `GET /{v}/{ig-user-id}/insights`;
- Threads `GET /{v}/{user-id}/threads_insights`;
- Pinterest `GET /v5/user_account/analytics`;
- Google Business Profile `GET /v1/locations/{id}` (Business Information: no figures).

Faults (`/_sim/faults`) reach these like any route, by their `endpoint` names.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, get

from crier.platforms.simulator import authz, post_engagement
from crier.platforms.simulator.authz import Dialect, reply
from crier.platforms.simulator.graph import graph_error
from crier.platforms.simulator.linkedin import require_version
from crier.platforms.simulator.world import User, World


def figures(platform: str, owner_id: str) -> dict[str, int]:
    """The account's figures: a function of the platform and the account's id only."""
    seed = int.from_bytes(hashlib.sha256(f"sim:{platform}:{owner_id}".encode()).digest()[:8], "big")
    followers = 100 + seed % 100_000
    impressions = followers * (3 + (seed >> 20) % 9)
    return {
        "followers": followers,
        "following": 10 + (seed >> 8) % 2_000,
        "posts": 1 + (seed >> 16) % 5_000,
        "impressions": impressions,
        "reach": impressions // 3,
        "profile_views": 1 + (seed >> 28) % 10_000,
    }


TIKTOK_STATS = ("follower_count", "following_count", "likes_count", "video_count")


def tiktok_stats(user_id: str) -> dict[str, int]:
    mine = figures("tiktok", user_id)
    return {
        "follower_count": mine["followers"],
        "following_count": mine["following"],
        "likes_count": mine["reach"],
        "video_count": mine["posts"],
    }


def youtube_statistics(channel_id: str) -> dict[str, Any]:
    """ChannelStatistics: its counts are int64s, which Google's JSON spells as strings."""
    mine = figures("youtube", channel_id)
    return {
        "viewCount": str(mine["impressions"]),
        "subscriberCount": str(mine["followers"]),
        "hiddenSubscriberCount": False,
        "videoCount": str(mine["posts"]),
    }


def graph_counts(platform: str, node_id: str) -> dict[str, int]:
    """A Page's (`followers_count`, `fan_count`) or an IG User's (`followers_count`,
    `follows_count`, `media_count`) node fields."""
    mine = figures(platform, node_id)
    if platform == "facebook":
        return {"followers_count": mine["followers"], "fan_count": mine["followers"] - mine["followers"] // 10}
    return {"followers_count": mine["followers"], "follows_count": mine["following"], "media_count": mine["posts"]}


def _insights(metrics: dict[str, int], names: list[str], *, total: bool) -> dict[str, Any]:
    """Meta's insights answer: per-day `values` (two days, the last one today), or `total_value`."""
    end = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0)
    data = []
    for name in names:
        value = metrics[name]
        entry: dict[str, Any] = {"name": name, "period": "day", "title": name, "description": name, "id": name}
        if total:
            entry["total_value"] = {"value": value}
        else:
            entry["values"] = [
                {"value": max(0, value - 7), "end_time": end.replace(day=max(1, end.day - 1)).isoformat()},
                {"value": value, "end_time": end.isoformat()},
            ]
        data.append(entry)
    return {"data": data, "paging": {"previous": "", "next": ""}}


def routes(world: World, platform: str, dialect: Dialect) -> list[Any]:
    return _account_routes(world, platform, dialect) + post_engagement.routes(world, platform, dialect)


def _account_routes(world: World, platform: str, dialect: Dialect) -> list[Any]:
    def caller(request: Request[Any, Any, Any], kinds: tuple[str, ...] = ("access", "page")) -> User:
        if platform == "linkedin":
            require_version(request)
        _, grant = authz.bearer(world, platform, dialect, request, kinds)
        user = world.user(platform, grant.user_id)
        assert user is not None
        return user

    def owns(user: User, node_id: str) -> dict[str, Any] | None:
        for page in user.pages:
            if page.get("id") == node_id or page.get("name") == node_id:
                return page
            ig = page.get("instagram_business_account")
            if isinstance(ig, dict) and ig.get("id") == node_id:
                return ig
        return None

    if platform == "linkedin":
        return _linkedin(caller)
    if platform in ("facebook", "instagram"):
        metric_names = (
            {"page_impressions": "impressions", "page_impressions_unique": "reach", "page_views_total": "profile_views"}
            if platform == "facebook"
            else {"views": "impressions", "reach": "reach", "profile_views": "profile_views"}
        )

        @get("/{version:str}/{node_id:str}/insights", opt={"endpoint": "insights"})
        async def insights(request: Request[Any, Any, Any]) -> Response[Any]:
            node_id = request.path_params["node_id"]
            asked = [m for m in request.query_params.get("metric", "").split(",") if m]
            if owns(caller(request), node_id) is None:
                if world.posts.get(platform, node_id) is not None:  # a post's own insights
                    return post_engagement.insights(platform, node_id, asked)
                return graph_error(400, 100, f"Unsupported get request. Object with ID '{node_id}' does not exist")
            unknown = [m for m in asked if m not in metric_names]
            if not asked or unknown:
                return graph_error(400, 100, f"(#100) The value must be a valid insights metric: {unknown or asked}")
            mine = figures(platform, node_id)
            values = {m: mine[metric_names[m]] for m in asked}
            return reply(_insights(values, asked, total=request.query_params.get("metric_type") == "total_value"))

        return [insights]
    if platform == "threads":

        @get("/{version:str}/{user_id:str}/threads_insights", opt={"endpoint": "threads_insights"})
        async def threads_insights(request: Request[Any, Any, Any]) -> Response[Any]:
            user = caller(request, ("access", "long"))
            if request.path_params["user_id"] not in (user.id, "me"):
                return graph_error(400, 100, "Object does not exist or cannot be loaded due to missing permissions")
            mine = figures("threads", user.id)
            asked = [m for m in request.query_params.get("metric", "").split(",") if m]
            if not asked or not set(asked) <= {"views", "followers_count"}:
                return graph_error(400, 100, "(#100) metric must be one of views, followers_count, …")
            body = _insights({"views": mine["profile_views"]}, [m for m in asked if m == "views"], total=False)
            if "followers_count" in asked:
                body["data"].append(
                    {"name": "followers_count", "period": "day", "total_value": {"value": mine["followers"]}}
                )
            return reply(body)

        return [threads_insights]
    if platform == "pinterest":

        @get("/v5/user_account/analytics", opt={"endpoint": "user_account_analytics"})
        async def analytics(request: Request[Any, Any, Any]) -> Response[Any]:
            user = caller(request)
            start, end = request.query_params.get("start_date"), request.query_params.get("end_date")
            if not start or not end:
                return reply({"code": 1, "message": "start_date and end_date are required"}, 400)
            impressions = figures("pinterest", user.id)["impressions"]
            summary = {"IMPRESSION": impressions, "ENGAGEMENT": impressions // 20}
            daily = [{"date": end, "data_status": "READY", "metrics": summary}]
            return reply({"all": {"daily_metrics": daily, "summary_metrics": summary}})

        return [analytics]
    if platform == "google_business":

        @get("/v1/locations/{location_id:str}", opt={"endpoint": "location"})
        async def location(request: Request[Any, Any, Any]) -> Response[Any]:
            name = f"locations/{request.path_params['location_id']}"
            found = owns(caller(request), name)
            if found is None:
                return reply(
                    {"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}}, 404
                )
            mask = [f for f in request.query_params.get("readMask", "").split(",") if f]
            if not mask:
                return reply(
                    {"error": {"code": 400, "message": "readMask is required", "status": "INVALID_ARGUMENT"}}, 400
                )
            return reply({k: v for k, v in found.items() if k in mask or k == "name"})

        return [location]
    return []


def _linkedin(caller: Any) -> list[Any]:
    def organization_of(user: User, urn: str) -> str | None:
        org_id = urn.removeprefix("urn:li:organization:")
        return org_id if any(str(p.get("id")) == org_id for p in user.pages) else None

    def refused(message: str) -> Response[Any]:
        return reply({"status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED", "message": message}, 403)

    @get("/rest/networkSizes/{urn:str}", opt={"endpoint": "networkSizes"})
    async def network_sizes(request: Request[Any, Any, Any]) -> Response[Any]:
        user = caller(request)
        org_id = organization_of(user, request.path_params["urn"])
        if org_id is None or request.query_params.get("edgeType") != "COMPANY_FOLLOWED_BY_MEMBER":
            return refused("Not enough permissions to access: networkSizes.GET")
        return reply({"firstDegreeSize": figures("linkedin", org_id)["followers"]})

    @get("/rest/organizationalEntityShareStatistics", opt={"endpoint": "shareStatistics"})
    async def share_statistics(request: Request[Any, Any, Any]) -> Response[Any]:
        user = caller(request)
        urn = request.query_params.get("organizationalEntity", "")
        org_id = organization_of(user, urn)
        if org_id is None or request.query_params.get("q") != "organizationalEntity":
            return refused("Not enough permissions to access: organizationalEntityShareStatistics.GET")
        mine = figures("linkedin", org_id)
        totals = {
            "impressionCount": mine["impressions"],
            "uniqueImpressionsCount": mine["reach"],
            "clickCount": mine["reach"] // 10,
            "likeCount": mine["reach"] // 20,
            "commentCount": mine["reach"] // 100,
            "shareCount": mine["reach"] // 200,
            "engagement": 0.05,
        }
        element = {"organizationalEntity": urn, "totalShareStatistics": totals}
        return reply({"paging": {"start": 0, "count": 10, "links": []}, "elements": [element]})

    @get("/rest/memberFollowersCount", opt={"endpoint": "memberFollowersCount"})
    async def member_followers(request: Request[Any, Any, Any]) -> Response[Any]:
        user = caller(request)
        if request.query_params.get("q") != "me":
            return reply({"status": 400, "message": "q must be me"}, 400)
        count = figures("linkedin", user.id)["followers"]
        return reply({"paging": {"start": 0, "count": 10, "links": []}, "elements": [{"memberFollowersCount": count}]})

    return [network_sizes, share_statistics, member_followers]
