"""Use cases on posts: create one (idempotently) and cancel one."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crier.contracts.common import Container
from crier.gateway.adapters import accounts, idempotency, post_queries, post_store
from crier.gateway.adapters.errors import violated_constraint
from crier.gateway.adapters.post_queries import PostRecord
from crier.gateway.domain import events as ev
from crier.gateway.domain.api_key import Principal
from crier.gateway.domain.post import Post, apply, cancel
from crier.gateway.handlers import announcements
from crier.gateway.handlers.announcements import announce

APPEND_RETRIES = 8


@dataclass(frozen=True)
class NewPost:
    """A create-post request that has passed validation."""

    containers: list[Container]
    accounts: list[str]
    scheduled_at: datetime | None = None
    is_draft: bool = False
    config: dict[str, dict[str, Any]] = field(default_factory=dict)
    external_ref: str | None = None
    overrides: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class IdempotencyKey:
    key: str
    request_hash: str


@dataclass(frozen=True)
class Created:
    record: PostRecord
    # False when an earlier request (same Idempotency-Key or external_ref) already made this post.
    is_new: bool


class UnknownAccounts(Exception):
    def __init__(self, ids: list[str]) -> None:
        super().__init__(", ".join(ids))
        self.ids = ids


class IdempotencyKeyReused(Exception):
    pass


class IdempotencyInProgress(Exception):
    pass


class PostNotFound(Exception):
    pass


async def create_post(
    engine: AsyncEngine,
    who: Principal,
    prepare: Callable[[], NewPost],
    *,
    external_ref: str | None,
    idem: IdempotencyKey | None,
    wake: Callable[[], None],
) -> Created:
    """`prepare` validates the request; it runs only once we know this is not a repeat, so a
    replayed request gets its original answer even after, say, its scheduled time has passed."""
    if idem is not None:
        async with engine.begin() as conn:
            claim = await idempotency.claim(conn, who.org_id, who.mode, idem.key, idem.request_hash)
        if not claim.won:
            return await _replay(engine, who, claim, idem)
    try:
        created = await _create(engine, who, prepare, external_ref, idem)
    except BaseException:
        if idem is not None:
            async with engine.begin() as conn:
                await idempotency.release(conn, who.org_id, who.mode, idem.key)
        raise
    if created.is_new:
        wake()
    return created


async def _replay(engine: AsyncEngine, who: Principal, claim: idempotency.Claim, idem: IdempotencyKey) -> Created:
    if claim.request_hash != idem.request_hash:
        raise IdempotencyKeyReused()
    if claim.status != idempotency.DONE:
        raise IdempotencyInProgress()
    async with engine.connect() as conn:
        record = await post_queries.get(conn, who.org_id, who.mode, claim.post_id or "")
    if record is None:
        raise IdempotencyInProgress()
    return Created(record, is_new=False)


async def _create(
    engine: AsyncEngine,
    who: Principal,
    prepare: Callable[[], NewPost],
    external_ref: str | None,
    idem: IdempotencyKey | None,
) -> Created:
    if external_ref is not None:
        existing = await _by_external_ref(engine, who, external_ref, idem)
        if existing is not None:
            return existing
    new = prepare()
    try:
        async with engine.begin() as conn:
            record = await _insert(conn, who, new)
            if idem is not None:
                await idempotency.finish(conn, who.org_id, who.mode, idem.key, record.post.id)
        return Created(record, is_new=True)
    except IntegrityError as exc:
        # Two requests with one external_ref raced; the loser answers with the winner's post.
        if new.external_ref is None or violated_constraint(exc) != "posts_external_ref_key":
            raise
        existing = await _by_external_ref(engine, who, new.external_ref, idem)
        if existing is None:
            raise
        return existing


async def _by_external_ref(
    engine: AsyncEngine, who: Principal, external_ref: str, idem: IdempotencyKey | None
) -> Created | None:
    async with engine.begin() as conn:
        record = await post_queries.by_external_ref(conn, who.org_id, who.mode, external_ref)
        if record is not None and idem is not None:
            await idempotency.finish(conn, who.org_id, who.mode, idem.key, record.post.id)
    return Created(record, is_new=False) if record is not None else None


async def _insert(conn: AsyncConnection, who: Principal, new: NewPost) -> PostRecord:
    found = await accounts.usable(conn, who.org_id, who.mode, new.accounts)
    missing = [a for a in new.accounts if a not in found]
    if missing:
        raise UnknownAccounts(missing)
    now = datetime.now(UTC)
    post_id = str(uuid.uuid4())
    planned = [
        ev.PlannedTarget(
            id=str(uuid.uuid4()),
            account_id=a,
            platform=found[a].platform,
            account_username=found[a].username,
            tenant_id=found[a].tenant_id,
            override_body=new.overrides.get(a),
        )
        for a in new.accounts
    ]
    event = ev.PostCreated(
        at=now,
        post_id=post_id,
        org_id=who.org_id,
        mode=who.mode,
        containers=new.containers,
        targets=planned,
        scheduled_at=new.scheduled_at,
        is_draft=new.is_draft,
        config=new.config,
        external_ref=new.external_ref,
    )
    await post_store.append(conn, post_id, 0, [event])
    post = apply(None, event)
    row, targets = await post_store.project_and_read(conn, post)
    await announce(conn, announcements.created(post, event))
    return PostRecord(row, targets)


async def cancel_post(engine: AsyncEngine, who: Principal, post_id: str, *, wake: Callable[[], None]) -> Post:
    """Raises PostNotFound, or domain.post.PostNotCancelable when something is already on its way."""
    for _ in range(APPEND_RETRIES):
        try:
            async with engine.begin() as conn:
                post = await post_store.load(conn, post_id)
                if post is None or post.org_id != who.org_id or post.mode != who.mode:
                    raise PostNotFound(post_id)
                canceled = cancel(post, datetime.now(UTC))
                await post_store.append(conn, post_id, post.version, [canceled])
                after = apply(post, canceled)
                await post_store.project(conn, after)
                await announce(
                    conn,
                    announcements.canceled(after, canceled),
                    announcements.status_changed(post, after, canceled.at),
                )
            wake()
            return after
        except post_store.ConcurrentAppend:
            continue
    raise post_store.ConcurrentAppend(post_id)
