"""Use cases on posts: cancel one, retry its failed targets, read them, and check a post as a create
would (`checked`); creating one is `post_create`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crier.gateway.adapters import accounts, post_queries, post_store
from crier.gateway.adapters.post_queries import PostRecord
from crier.gateway.domain.api_key import Principal
from crier.gateway.domain.filters import PostQuery, post_filter
from crier.gateway.domain.post import cancel, redrive
from crier.gateway.domain.target_checks import TargetAccount
from crier.gateway.domain.validation import NewPost, PostRequest, new_post
from crier.gateway.handlers import announcements, media_posts
from crier.gateway.handlers.context import Context
from crier.kit import pages
from crier.kit.errors import Invalid, NotFound


async def cancel_post(ctx: Context, who: Principal, post_id: str) -> None:
    """Cancels what has not gone out; a post already on its way is a Conflict."""
    await post_store.change(
        ctx.uow,
        post_id=post_id,
        org_id=who.org_id,
        mode=who.mode,
        decide=lambda post: [cancel(post, ctx.now())],
        announce=announcements.of_change,
    )


async def retry_targets(
    ctx: Context, who: Principal, post_id: str, target_ids: Sequence[str] | None = None
) -> PostRecord:
    """Sends failed and dead targets out again, with a fresh attempt count: the ones named, or
    (None) every one the post has. A target in any other state is a Conflict; the post as it
    stands afterwards is the answer."""
    await post_store.change(
        ctx.uow,
        post_id=post_id,
        org_id=who.org_id,
        mode=who.mode,
        decide=lambda post: [redrive(post, target_ids, ctx.now())],
        announce=announcements.of_change,
    )
    return await get_post(ctx, who, post_id)


async def find_targets(ctx: Context, target_ids: Sequence[str]) -> list[Any]:
    """Targets as their posts' projections show them, across organizations: for operators."""
    async with ctx.uow.read() as conn:
        return await post_queries.targets_by_id(conn, list(dict.fromkeys(target_ids)))


async def get_post(ctx: Context, who: Principal, post_id: str) -> PostRecord:
    async with ctx.uow.read() as conn:
        record = await post_queries.get(conn, who.org_id, who.mode, post_id)
    if record is None:
        raise NotFound.of("post", post_id)
    return record


async def post_history(ctx: Context, who: Principal, post_id: str) -> tuple[PostRecord, list[Any]]:
    """The post as it stands and every event of its history, oldest first (the operator console's
    timeline)."""
    async with ctx.uow.read() as conn:
        record = await post_queries.get(conn, who.org_id, who.mode, post_id)
        if record is None:
            raise NotFound.of("post", post_id)
        return record, await post_store.history(conn, post_id)


async def list_posts(
    ctx: Context, who: Principal, query: PostQuery, *, limit: int | None, cursor: str | None
) -> pages.Page[PostRecord]:
    where, size = post_filter(query), pages.checked_limit(limit)
    async with ctx.uow.read() as conn:
        return await post_queries.search(conn, who.org_id, who.mode, where, limit=size, cursor=cursor)


async def checked(
    ctx: Context,
    who: Principal,
    request: PostRequest,
    conn: AsyncConnection | None = None,
    usable: dict[str, Any] | None = None,
) -> tuple[NewPost, dict[str, Any]]:
    """The request as a post every rule accepts, and its accounts by id; `Invalid` otherwise. What
    a create checks, and what publishing a draft and editing a post check again. The accounts are
    `usable` when the caller read them already, else read on `conn` when given (the caller's
    transaction), on a connection of their own otherwise."""
    request = await media_posts.resolve(ctx, who, request)
    ids = list(dict.fromkeys(request.accounts))
    found: dict[str, Any] = {}
    if usable is not None:
        found = usable
    elif ids and conn is not None:
        found = await accounts.usable(conn, who.org_id, who.mode, ids)
    elif ids:
        async with ctx.uow.read() as own:
            found = await accounts.usable(own, who.org_id, who.mode, ids)
    targeted = [
        TargetAccount(a, found[a].platform, found[a].account_type, accounts.limits_of(found[a]))
        for a in ids
        if a in found
    ]
    new = new_post(request, ctx.now(), mode=who.mode, accounts=targeted, platforms=ctx.platforms)
    missing = [a for a in new.accounts if a not in found]
    if missing:
        raise Invalid(
            "unknown_account",
            "some accounts do not exist, are not active, or belong to another organization or mode",
            {"accounts": missing},
        )
    return new, found
