"""/api/v1/posts: create, list, read and cancel posts."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody

from crier.contracts.common import Container, MediaRef
from crier.gateway.adapters import post_queries
from crier.gateway.adapters.pages import BadCursor
from crier.gateway.adapters.post_queries import PostFilter
from crier.gateway.domain import post as post_rules
from crier.gateway.domain.schedule import parse_instant, parse_scheduled_at
from crier.gateway.domain.validation import Invalid, Problem, check_accounts, check_config, check_targets, containers_of
from crier.gateway.entrypoints.http import schemas as s
from crier.gateway.entrypoints.http.auth import principal_of, requires
from crier.gateway.entrypoints.http.errors import ApiError, documented
from crier.gateway.entrypoints.http.listing import checked_limit, optional_instant
from crier.gateway.entrypoints.http.state import gateway_of
from crier.gateway.handlers import posts as uc


def validated(body: s.PostCreate, now: datetime) -> uc.NewPost:
    problems: list[Problem] = []

    def check(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except Problem as p:
            problems.append(p)
            return None

    containers = check(containers_of, body.content, _contract_containers(body.containers))
    check(check_accounts, body.accounts)
    check(check_config, body.config)
    overrides = {t.account_id: t.override_body for t in body.targets}
    check(check_targets, body.accounts, overrides)
    scheduled_at = None
    if body.scheduled_at is not None and not body.is_draft:
        scheduled_at = check(parse_scheduled_at, body.scheduled_at, now)
    elif body.scheduled_at is not None:
        # A draft may hold a time beyond the 30-day window (that is how far-off posts wait),
        # but the time must still be unambiguous.
        scheduled_at = check(parse_instant, body.scheduled_at)
    if problems:
        raise Invalid(problems)
    return uc.NewPost(
        containers=containers,
        accounts=list(body.accounts),
        scheduled_at=scheduled_at,
        is_draft=body.is_draft,
        config=body.config,
        external_ref=body.external_ref,
        overrides=overrides,
    )


def _contract_containers(containers: list[s.Container] | None) -> list[Container] | None:
    if containers is None:
        return None
    return [
        Container(content=c.content, media=[MediaRef(id=m.id, alt_text=m.alt_text) for m in c.media])
        for c in containers
    ]


def request_hash(raw: bytes) -> str:
    """Same JSON, same hash: key order and whitespace do not make a request different."""
    canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class PostController(Controller):
    path = "/api/v1/posts"
    tags = ["posts"]

    @post(
        "/",
        operation_id="createPost",
        guards=[requires("publish")],
        status_code=201,
        responses=documented(400, 409, 413),
        summary="Create a post (immediate, scheduled or draft)",
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[s.PostCreate],
        idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=255)] = None,
    ) -> Response[s.Post]:
        gw, who = gateway_of(request), principal_of(request)
        idem = uc.IdempotencyKey(idempotency_key, request_hash(await request.body())) if idempotency_key else None
        try:
            created = await uc.create_post(
                gw.engine,
                who,
                lambda: validated(data, datetime.now(UTC)),
                external_ref=data.external_ref,
                idem=idem,
                wake=gw.wake,
            )
        except uc.UnknownAccounts as exc:
            raise ApiError(
                422,
                "unknown_account",
                "some accounts do not exist, are not active, or belong to another organization or mode",
                {"accounts": exc.ids},
            ) from None
        except uc.IdempotencyKeyReused:
            raise ApiError(
                422, "idempotency_key_reused", "this Idempotency-Key was already used with a different request body"
            ) from None
        except uc.IdempotencyInProgress:
            raise ApiError(
                409,
                "idempotency_in_progress",
                "a request with this Idempotency-Key is still being processed; retry shortly",
            ) from None
        return Response(s.post_of(created.record), status_code=201 if created.is_new else 200)

    @get(
        "/",
        operation_id="listPosts",
        guards=[requires("view")],
        responses=documented(),
        summary="List posts, newest first",
    )
    async def list_posts(
        self,
        request: Request[Any, Any, Any],
        status: FromQuery[str | None] = None,
        account: FromQuery[str | None] = None,
        platform: FromQuery[str | None] = None,
        tenant_id: FromQuery[str | None] = None,
        created_after: FromQuery[str | None] = None,
        created_before: FromQuery[str | None] = None,
        scheduled_after: FromQuery[str | None] = None,
        scheduled_before: FromQuery[str | None] = None,
        limit: FromQuery[int | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> s.PostList:
        gw, who = gateway_of(request), principal_of(request)
        if status is not None and status not in post_rules.STATUSES:
            raise Problem("status", "unknown_status", f"must be one of {', '.join(post_rules.STATUSES)}")
        where = PostFilter(
            status=status,
            account=account,
            platform=platform,
            tenant_id=tenant_id,
            created_after=optional_instant("created_after", created_after),
            created_before=optional_instant("created_before", created_before),
            scheduled_after=optional_instant("scheduled_after", scheduled_after),
            scheduled_before=optional_instant("scheduled_before", scheduled_before),
        )
        try:
            async with gw.engine.connect() as conn:
                records, next_cursor = await post_queries.search(
                    conn, who.org_id, who.mode, where, limit=checked_limit(limit), cursor=cursor
                )
        except BadCursor:
            raise ApiError(422, "invalid_cursor", "the cursor is not one this API issued") from None
        return s.PostList(data=[s.post_of(r) for r in records], next_cursor=next_cursor)

    @get(
        "/{post_id:str}",
        operation_id="getPost",
        guards=[requires("view")],
        responses=documented(404),
        summary="Get a post with its targets",
    )
    async def get_post(self, request: Request[Any, Any, Any], post_id: FromPath[str]) -> s.Post:
        return s.post_of(await _record(request, post_id))

    @get(
        "/{post_id:str}/targets",
        operation_id="listPostTargets",
        guards=[requires("view")],
        responses=documented(404),
        summary="The per-account delivery status of a post",
    )
    async def list_targets(self, request: Request[Any, Any, Any], post_id: FromPath[str]) -> s.TargetList:
        return s.TargetList(data=[s.target_of(t) for t in (await _record(request, post_id)).targets])

    @delete(
        "/{post_id:str}",
        operation_id="cancelPost",
        guards=[requires("publish")],
        status_code=200,
        responses=documented(404, 409),
        summary="Cancel the targets that have not started publishing",
    )
    async def cancel(self, request: Request[Any, Any, Any], post_id: FromPath[str]) -> s.PostCanceled:
        gw, who = gateway_of(request), principal_of(request)
        try:
            await uc.cancel_post(gw.engine, who, post_id, wake=gw.wake)
        except uc.PostNotFound:
            raise _not_found(post_id) from None
        except post_rules.PostNotCancelable as exc:
            raise ApiError(
                409,
                "post_not_cancelable",
                "the post has already started publishing or is finished",
                {"status": str(exc)},
            ) from None
        return s.PostCanceled(id=post_id)


async def _record(request: Request[Any, Any, Any], post_id: str) -> post_queries.PostRecord:
    gw, who = gateway_of(request), principal_of(request)
    async with gw.engine.connect() as conn:
        record = await post_queries.get(conn, who.org_id, who.mode, post_id)
    if record is None:
        raise _not_found(post_id)
    return record


def _not_found(post_id: str) -> ApiError:
    return ApiError(404, "not_found", f"no post {post_id}")
