"""/api/v1/posts/{id}/analytics: each published target's engagement on its platform, read by
connect as the target's account (which holds the tokens) and kept there: a reading younger than a
minute answers instead of the platform, and the latest reading answers when the platform fails.
Targets not published (yet) have nothing to read and are left out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import FromPath
from msgspec import Meta, Struct

from crier.contracts import connect as api
from crier.contracts.common import Platform
from crier.gateway.entrypoints.http import connect_support as c
from crier.gateway.entrypoints.http.auth import principal_of, requires
from crier.gateway.entrypoints.http.errors import documented
from crier.gateway.entrypoints.http.state import gateway_of
from crier.gateway.handlers import posts as uc
from crier.platforms.post_engagement import NO_POST_ENGAGEMENT

# How old a stored reading may be and still answer instead of the platform.
FRESH_FOR_S = 60.0
PUBLISHED = "published"
MAX_TARGETS = 100


def _said(text: str) -> Meta:
    return Meta(description=text)


class TargetAnalytics(Struct, kw_only=True):
    target_id: Annotated[str, _said("The published target.")]
    account_id: Annotated[str, _said("The account that published it.")]
    network: Annotated[Platform, _said("The target's platform.")]
    platform_post_id: Annotated[str, _said("The post's id on the platform.")]
    source: Annotated[
        str,
        _said(
            "`live` (read from the platform now), `cached` (read within the last minute), `snapshot` (the latest "
            "reading, the platform failing now) or `unavailable` (no reading yet)."
        ),
    ]
    likes: Annotated[int | None, _said("Likes (reactions on Facebook); null where the platform offers none.")] = None
    reposts: Annotated[int | None, _said("Reposts, shares or boosts; null where the platform offers none.")] = None
    replies: Annotated[int | None, _said("Replies or comments; null where the platform offers none.")] = None
    impressions: Annotated[int | None, _said("Times the post was seen; null where the platform offers none.")] = None
    raw: Annotated[dict[str, Any], _said("The platform's answer(s) the counts were read from, unmodified.")]
    captured_at: Annotated[datetime | None, _said("When the counts were read; null when never.")] = None
    error_code: Annotated[str | None, _said("Why no fresh reading came from the platform, when none did.")] = None
    note: Annotated[
        str | None, _said("Why every count is null when the platform reports no engagement for a single post.")
    ] = None


class PostAnalytics(Struct, kw_only=True):
    post_id: Annotated[str, _said("The post.")]
    data: Annotated[list[TargetAnalytics], _said("One entry per published target, in the post's target order.")]


_ANSWER = ResponseSpec(
    PostAnalytics,
    description="Each published target's engagement",
    generate_examples=False,
    examples=[
        Example(
            summary="a post on X",
            value={
                "post_id": "3f9c1e0a-5b7d-4c2e-9a61-0d8e2f4b7c13",
                "data": [
                    {
                        "target_id": "6c1d2e3f-0000-4000-8000-00000000000a",
                        "account_id": "a1b2c3d4-0000-4000-8000-000000000002",
                        "network": "x",
                        "platform_post_id": "1800000000000000001",
                        "source": "live",
                        "likes": 42,
                        "reposts": 7,
                        "replies": 5,
                        "impressions": 3180,
                        "raw": {"id": "1800000000000000001", "public_metrics": {"like_count": 42}},
                        "captured_at": "2026-06-09T11:00:00Z",
                        "error_code": None,
                        "note": None,
                    }
                ],
            },
        )
    ],
)


class PostAnalyticsController(Controller):
    path = "/api/v1/posts"
    tags = ["posts"]
    opt = requires("view")

    @get(
        "/{post_id:str}/analytics",
        operation_id="getPostAnalytics",
        responses={200: _ANSWER, **documented(404, 503)},
        summary="Engagement of each published target on its platform (likes, reposts, replies, impressions)",
        description=(
            "For every target of the post that was published, the platform's engagement counts, read as the "
            "account that published it. A reading younger than a minute is answered as `cached` instead of "
            "asking the platform again; when the platform cannot answer, the latest reading is (`snapshot`). "
            "Counts a platform does not offer are null, and `note` says why when it reports none for a post. "
            "Crier also captures each target periodically during its first days."
        ),
    )
    async def analytics(self, request: Request[Any, Any, Any], post_id: FromPath[str]) -> PostAnalytics:
        gw, who = gateway_of(request), principal_of(request)
        record = await uc.get_post(gw.ctx, who, post_id)
        published = [t for t in record.targets if t.status == PUBLISHED and t.platform_post_id]
        if not published:
            return PostAnalytics(post_id=post_id, data=[])
        targets = [
            api.EngagementTarget(
                target_id=t.id,
                account_id=t.account_id,
                platform_post_id=t.platform_post_id,
                published_at=t.published_at,
            )
            for t in published
        ]
        found: list[api.TargetEngagement] = []
        for start in range(0, len(targets), MAX_TARGETS):  # what connect reads in one request
            asked = api.EngagementRequest(
                org_id=who.org_id,
                mode=who.mode,
                post_id=post_id,
                fresh_for_s=FRESH_FOR_S,
                targets=targets[start : start + MAX_TARGETS],
            )
            reply = await c.ask(
                gw, api.POSTS_ENGAGEMENT, asked, api.PostEngagement, timeout=api.PLATFORM_CALL_TIMEOUT_S
            )
            found += reply.targets
        platform_of = {t.id: t.platform for t in published}
        return PostAnalytics(
            post_id=post_id,
            data=[
                TargetAnalytics(
                    target_id=e.target_id,
                    account_id=e.account_id,
                    network=platform_of[e.target_id],
                    platform_post_id=e.platform_post_id,
                    source=e.source,
                    likes=e.likes,
                    reposts=e.reposts,
                    replies=e.replies,
                    impressions=e.impressions,
                    raw=e.raw,
                    captured_at=e.captured_at,
                    error_code=e.error_code,
                    note=NO_POST_ENGAGEMENT.get(platform_of[e.target_id]),
                )
                for e in found
                if e.target_id in platform_of
            ],
        )
