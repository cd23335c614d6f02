"""Use cases that change a post before it goes out: publish a draft, edit a draft or a scheduled post.

Each is checked exactly as a create is (`posts.checked`), on the stored post with the caller's
changes, at this moment (so the 30-day window applies when a draft is published). The check reads
the post outside the transaction that changes it; the change then refuses a post that moved on
meanwhile (`post_modified`), so nothing is stored that was checked against another post.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from crier.gateway.adapters import post_store
from crier.gateway.adapters.post_queries import PostRecord
from crier.gateway.domain import events as ev
from crier.gateway.domain.api_key import Principal
from crier.gateway.domain.post import Post
from crier.gateway.domain.revision import (
    PostPatch,
    as_request,
    check_current,
    check_draft,
    check_editable,
    edit,
    publish,
)
from crier.gateway.domain.schedule import parse_instant
from crier.gateway.domain.validation import refused
from crier.gateway.handlers import announcements, media_posts
from crier.gateway.handlers.context import Context
from crier.gateway.handlers.posts import checked, get_post
from crier.kit.errors import Conflict, NotFound, Problem
from crier.kit.uow import Transaction


async def publish_post(ctx: Context, who: Principal, post_id: str, scheduled_at: str | None) -> PostRecord:
    """The draft goes out at `scheduled_at` (within 30 days from now), or at once."""
    current = await _current(ctx, who, post_id)
    check_draft(current)
    request = as_request(current, PostPatch(scheduled_at=scheduled_at), publish=True)
    new, _ = await checked(ctx, who, request)
    await post_store.change(
        ctx.uow,
        post_id=post_id,
        org_id=who.org_id,
        mode=who.mode,
        decide=lambda post: [publish(post, new.scheduled_at, ctx.now(), seen=current.updated_at)],
        announce=announcements.of_change,
    )
    return await get_post(ctx, who, post_id)


async def edit_post(
    ctx: Context, who: Principal, post_id: str, patch: PostPatch, expected_updated_at: str | None
) -> PostRecord:
    """The post as `patch` leaves it. With `expected_updated_at`, only if the post is still the one
    the caller read (409 `post_modified` with the current `updated_at` otherwise)."""
    current = await _current(ctx, who, post_id)
    seen = current.updated_at if expected_updated_at is None else _expected(expected_updated_at)
    check_editable(current, ctx.now())
    check_current(current, seen)
    new, found = await checked(ctx, who, as_request(current, patch))
    staying = {t.account_id: t.id for t in current.targets}
    targets = [
        ev.PlannedTarget(
            id=staying.get(a) or str(uuid.uuid4()),
            account_id=a,
            platform=found[a].platform,
            account_username=found[a].username,
            tenant_id=found[a].tenant_id,
            override_body=new.overrides.get(a),
        )
        for a in new.accounts
    ]

    async def media_follows(tx: Transaction, post: Post) -> None:
        await media_posts.replace_use(ctx, tx, who, post.id, post.containers)

    try:
        await post_store.change(
            ctx.uow,
            post_id=post_id,
            org_id=who.org_id,
            mode=who.mode,
            decide=lambda post: [
                edit(
                    post,
                    containers=new.containers,
                    targets=targets,
                    scheduled_at=new.scheduled_at,
                    config=new.config,
                    external_ref=new.external_ref,
                    at=ctx.now(),
                    seen=seen,
                )
            ],
            announce=announcements.of_change,
            effect=media_follows,
        )
    except post_store.ExternalRefTaken as taken:
        raise Conflict(
            "external_ref_in_use",
            "another post of this organization holds this external_ref",
            {"external_ref": taken.external_ref},
        ) from None
    return await get_post(ctx, who, post_id)


async def _current(ctx: Context, who: Principal, post_id: str) -> Post:
    async with ctx.uow.read() as conn:
        post = await post_store.load(conn, post_id)
    if post is None or (post.org_id, post.mode) != (who.org_id, who.mode):
        raise NotFound.of("post", post_id)
    return post


def _expected(raw: str) -> datetime:
    try:
        return parse_instant(raw, "expected_updated_at")
    except Problem as problem:
        raise refused([problem], {}) from None
