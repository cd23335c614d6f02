"""/api/v1/posts: create, list, read, cancel and retry posts."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, Parameter
from msgspec import UNSET, UnsetType

from crier.contracts.common import Container, MediaRef
from crier.gateway.domain.addressing import Addressing
from crier.gateway.domain.filters import PostQuery
from crier.gateway.domain.revision import PostPatch
from crier.gateway.domain.validation import PostRequest
from crier.gateway.entrypoints.http import schemas as s
from crier.gateway.entrypoints.http.auth import principal_of, requires
from crier.gateway.entrypoints.http.errors import documented
from crier.gateway.entrypoints.http.post_changes import PostPublish, PostUpdate
from crier.gateway.entrypoints.http.state import gateway_of
from crier.gateway.handlers import post_create, post_lifecycle
from crier.gateway.handlers import posts as uc
from crier.kit.errors import Invalid


def post_request(body: s.PostCreate) -> PostRequest:
    """The body in the domain's terms, unchecked: the use case checks it."""
    containers, media_urls = None, {}
    if body.containers is not None:
        containers, media_urls = containers_of(body.containers)
    return PostRequest(
        accounts=list(body.accounts),
        content=body.content,
        containers=containers,
        scheduled_at=body.scheduled_at,
        is_draft=body.is_draft,
        config=body.config,
        external_ref=body.external_ref,
        overrides={t.account_id: t.override_body for t in body.targets},
        media_urls=media_urls,
        addressing=Addressing(
            tenant_id=body.tenant_id,
            platforms=body.platforms,
            queued_from_account=body.queued_from_account,
            queue_timezone=body.queue_timezone,
            timezone=body.timezone,
        ),
    )


def containers_of(body: list[s.Container]) -> tuple[list[Container], dict[tuple[int, int], str]]:
    """The containers, and the media given by URL by (container, media) position."""
    containers = [
        Container(content=c.content, media=[MediaRef(id=m.id or "", alt_text=m.alt_text) for m in c.media])
        for c in body
    ]
    urls = {(i, j): m.url for i, c in enumerate(body) for j, m in enumerate(c.media) if m.url is not None}
    return containers, urls


def post_patch(body: PostUpdate) -> PostPatch:
    containers, urls = UNSET, None
    if not isinstance(body.containers, UnsetType):
        containers, urls = containers_of(body.containers)
    return PostPatch(
        content=body.content,
        containers=containers,
        media_urls=urls,
        accounts=body.accounts if isinstance(body.accounts, UnsetType) else list(body.accounts),
        scheduled_at=body.scheduled_at,
        config=body.config,
        external_ref=body.external_ref,
        overrides=body.targets
        if isinstance(body.targets, UnsetType)
        else {t.account_id: t.override_body for t in body.targets},
    )


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
        opt=requires("publish"),
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
        """Every target is checked before anything is stored, as its account would receive the post
        (`targets[].override_body` in place of the first container's text) and by its platform's own
        rules: how many containers it takes (a first comment, a thread), how long a text may be by the
        platform's counting, which `config.<platform>` options it knows. Sandbox accounts are checked
        exactly like live accounts of their platform; a live account of a platform Crier cannot
        publish to yet is refused (`platform_not_supported`). A container's `media` names media
        objects by `id` (`POST /media`; ready, of this organization and mode, else
        `media_not_found` / `media_not_ready` at `containers[i].media[j]`) or by `url`, which Crier
        fetches into a new media object first; the platforms' media rules then judge what the
        gateway found in the bytes (count, types, size, dimensions, duration, frame rate). One 422
        `validation_error` names every problem at once: the request's own in `details.fields`, each
        account's in `details.accounts[<account id>]`."""
        idem = (
            post_create.IdempotencyKey(idempotency_key, request_hash(await request.body())) if idempotency_key else None
        )
        created = await post_create.create_post(
            gateway_of(request).ctx, principal_of(request), post_request(data), idem
        )
        return Response(s.post_of(created.record), status_code=201 if created.is_new else 200)

    @get(
        "/",
        operation_id="listPosts",
        opt=requires("view"),
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
        search: FromQuery[str | None] = None,
        source: Annotated[
            str | None,
            Parameter(
                description="`crier` (posts made through Crier) or `imported` (read from the platform by an import)."
            ),
        ] = None,
        limit: FromQuery[int | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> s.PostList:
        """`search`: posts whose containers' text holds it, in any case (up to 200 characters).
        `source`: `crier` (made through Crier) or `imported` (read from the platform by an import)."""
        query = PostQuery(
            status=status,
            account=account,
            platform=platform,
            tenant_id=tenant_id,
            created_after=created_after,
            created_before=created_before,
            scheduled_after=scheduled_after,
            scheduled_before=scheduled_before,
            search=search,
            source=source,
        )
        page = await uc.list_posts(gateway_of(request).ctx, principal_of(request), query, limit=limit, cursor=cursor)
        return s.PostList(data=[s.post_of(r) for r in page.rows], next_cursor=page.next_cursor)

    @get(
        "/{post_id:str}",
        operation_id="getPost",
        opt=requires("view"),
        responses=documented(404),
        summary="Get a post with its targets",
    )
    async def get_post(self, request: Request[Any, Any, Any], post_id: FromPath[str]) -> s.Post:
        return s.post_of(await uc.get_post(gateway_of(request).ctx, principal_of(request), post_id))

    @get(
        "/{post_id:str}/targets",
        operation_id="listPostTargets",
        opt=requires("view"),
        responses=documented(404),
        summary="The per-account delivery status of a post",
    )
    async def list_targets(self, request: Request[Any, Any, Any], post_id: FromPath[str]) -> s.TargetList:
        record = await uc.get_post(gateway_of(request).ctx, principal_of(request), post_id)
        return s.TargetList(data=[s.target_of(t) for t in record.targets])

    @patch(
        "/{post_id:str}",
        operation_id="updatePost",
        opt=requires("publish"),
        status_code=200,
        responses=documented(400, 404, 409),
        summary="Edit a draft or a scheduled post",
    )
    async def update(
        self, request: Request[Any, Any, Any], post_id: FromPath[str], data: JSONBody[PostUpdate]
    ) -> s.Post:
        """Only the fields sent change, and the post as they leave it is checked exactly as a create
        is (one 422 `validation_error` naming every problem, each account's in
        `details.accounts`), media references resolved the same way. An account that stays keeps
        its target id; a new one gets a new target; a removed one's target is gone and will not
        publish. A scheduled post's new `scheduled_at` moves it. With `expected_updated_at`, a post
        changed since is a 409 `post_modified` whose `details.updated_at` is the current one (without
        it, so is a change that lands between this one's check and its write); a post that is not a
        draft or scheduled, or whose time has come, is a 409 `post_not_editable`; an `external_ref`
        another post holds is a 409 `external_ref_in_use`.
        Announced as the `post.updated` webhook."""
        ctx, who = gateway_of(request).ctx, principal_of(request)
        record = await post_lifecycle.edit_post(ctx, who, post_id, post_patch(data), data.expected_updated_at)
        return s.post_of(record)

    @post(
        "/{post_id:str}/publish",
        operation_id="publishPost",
        opt=requires("publish"),
        status_code=200,
        responses=documented(400, 404, 409),
        summary="Publish a draft now or at a time",
    )
    async def publish(
        self, request: Request[Any, Any, Any], post_id: FromPath[str], data: JSONBody[PostPublish | None] = None
    ) -> s.Post:
        """`{}` (or no body) sends the draft out at once; `{"scheduled_at": …}` (or `scheduled_for`) schedules it,
        at most 30 days from now: a draft may hold a later time, and is published once that time
        falls inside the window. The draft is checked again, as a create is, at this moment (its
        accounts, its platforms' rules, its media). 409 `post_not_draft` for any other post."""
        ctx, who = gateway_of(request).ctx, principal_of(request)
        data = data or PostPublish()
        if data.scheduled_at is not None and data.scheduled_for is not None:
            raise Invalid.one("scheduled_for", "duplicate", "send scheduled_at or scheduled_for, not both")
        when = data.scheduled_at if data.scheduled_at is not None else data.scheduled_for
        return s.post_of(await post_lifecycle.publish_post(ctx, who, post_id, when))

    @delete(
        "/{post_id:str}",
        operation_id="cancelPost",
        opt=requires("publish"),
        status_code=200,
        responses=documented(404, 409),
        summary="Cancel the targets that have not started publishing",
    )
    async def cancel(self, request: Request[Any, Any, Any], post_id: FromPath[str]) -> s.PostCanceled:
        await uc.cancel_post(gateway_of(request).ctx, principal_of(request), post_id)
        return s.PostCanceled(id=post_id)

    @post(
        "/{post_id:str}/retry",
        operation_id="retryPost",
        opt=requires("publish"),
        status_code=200,
        responses=documented(404, 409),
        summary="Retry every failed or dead target of a post",
    )
    async def retry_post(self, request: Request[Any, Any, Any], post_id: FromPath[str]) -> s.Post:
        """Every `failed` and `dead` target of the post goes out again, as if it were new: back to
        `queued`, with a fresh attempt count (five more failed attempts before it is dead again),
        and its events and webhooks as for any delivery. What a target had already put on its
        platform (the first parts of a thread) is not posted again: the delivery resumes after the
        last container that reached the platform. The answer is the post as `GET /posts/{id}` shows
        it, its status rolled up again (`queued` or `publishing`). 409 `post_not_retryable` when no
        target of the post is failed or dead."""
        return s.post_of(await uc.retry_targets(gateway_of(request).ctx, principal_of(request), post_id))

    @post(
        "/{post_id:str}/targets/{target_id:str}/retry",
        operation_id="retryPostTarget",
        opt=requires("publish"),
        status_code=200,
        responses=documented(404, 409),
        summary="Retry one failed or dead target",
    )
    async def retry_target(
        self, request: Request[Any, Any, Any], post_id: FromPath[str], target_id: FromPath[str]
    ) -> s.Post:
        """The target goes out again as `POST /posts/{id}/retry` sends every failed one: a fresh
        attempt count, and no container posted twice. 409 `target_not_retryable` when the target is
        not `failed` or `dead` (`details.status` says what it is); 404 when the post or the target
        is unknown to this key's organization and mode."""
        ctx, who = gateway_of(request).ctx, principal_of(request)
        return s.post_of(await uc.retry_targets(ctx, who, post_id, [target_id]))
