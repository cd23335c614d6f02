"""The Post aggregate: its state is a left fold of its events, and its status a roll-up of its targets."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

import msgspec

from crier.contracts.common import Container, Mode, PostStatus, TargetStatus
from crier.gateway.domain import events as ev
from crier.gateway.domain import target as tg
from crier.gateway.domain.target import Target
from crier.kit.errors import Conflict, NotFound

DRAFT: PostStatus = "draft"
SCHEDULED: PostStatus = "scheduled"
QUEUED: PostStatus = "queued"
PUBLISHING: PostStatus = "publishing"
PUBLISHED: PostStatus = "published"
PARTIAL: PostStatus = "partial"
FAILED: PostStatus = "failed"
CANCELED: PostStatus = "canceled"
TERMINAL: frozenset[PostStatus] = frozenset({PUBLISHED, PARTIAL, FAILED, CANCELED})
# Where a post comes from: made through Crier, or read from its platform by an import.
Source = Literal["crier", "imported"]


class Post(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    org_id: str
    mode: Mode
    status: PostStatus
    containers: list[Container]
    targets: tuple[Target, ...]
    scheduled_at: datetime | None
    is_draft: bool
    config: dict[str, dict[str, Any]]
    external_ref: str | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None = None
    # When a cancel made the whole post canceled. It stays set even if a target the cancel raced
    # with turns out published: the post gave its external_ref back at that moment.
    canceled_at: datetime | None = None
    # How many events the aggregate has seen: the version the next event must take is version + 1.
    version: int = 0
    source: Source = "crier"


def roll_up(post: Post) -> PostStatus:
    statuses = [t.status for t in post.targets]
    if all(s == tg.CANCELED for s in statuses):
        return CANCELED
    if all(s in tg.TERMINAL for s in statuses):
        published = sum(s == tg.PUBLISHED for s in statuses)
        if published == len(statuses):
            return PUBLISHED
        return PARTIAL if published else FAILED
    if any(s != tg.PENDING and s != tg.QUEUED for s in statuses):
        return PUBLISHING
    if any(s == tg.QUEUED for s in statuses):
        return QUEUED
    if post.is_draft:
        return DRAFT
    return SCHEDULED if post.scheduled_at is not None else QUEUED


def apply(post: Post | None, event: ev.AnyPostEvent) -> Post:
    """The post after one more event. Pure: rebuilding from the same events gives the same post."""
    if isinstance(event, ev.PostCreated | ev.PostImported):
        if post is not None:
            raise ValueError(f"post {post.id} already exists")
        return _created(event) if isinstance(event, ev.PostCreated) else _imported(event)
    if post is None:
        raise ValueError(f"{type(event).__name__} before the post was created")
    if isinstance(event, ev.DraftPublished | ev.PostEdited):
        return _rolled_up(_revised(post, event))
    targets = tuple(tg.advance(t, event) if _concerns(t, event) else t for t in post.targets)
    changed = targets != post.targets
    post = msgspec.structs.replace(
        post,
        targets=targets,
        version=post.version + 1,
        updated_at=max(post.updated_at, event.at) if changed else post.updated_at,
    )
    post = _rolled_up(post)
    if isinstance(event, ev.PostCanceled) and post.status == CANCELED and post.canceled_at is None:
        post = msgspec.structs.replace(post, canceled_at=event.at)
    return post


def replay(events: Iterable[ev.AnyPostEvent]) -> Post | None:
    post: Post | None = None
    for event in events:
        post = apply(post, event)
    return post


def not_imported(post: Post) -> None:
    """Crier never publishes, edits, cancels or retries a post it only imported."""
    if post.source == "imported":
        raise Conflict(
            "post_imported",
            "the post was imported from its platform: Crier does not publish, edit, cancel or retry it",
            {"source": post.source},
        )


def cancel(post: Post, at: datetime) -> ev.PostCanceled:
    """The decision to cancel: what is still waiting stops; what is on its way cannot be called back."""
    not_imported(post)
    waiting = [t.id for t in post.targets if t.status in tg.CANCELABLE]
    if post.status in TERMINAL or any(t.status in tg.IN_FLIGHT for t in post.targets) or not waiting:
        raise Conflict(
            "post_not_cancelable",
            "the post has already started publishing or is finished",
            {"status": post.status},
        )
    return ev.PostCanceled(at=at, target_ids=waiting)


def redrive(post: Post, target_ids: Sequence[str] | None, at: datetime) -> ev.TargetsRedriven:
    """The decision to send failed and dead targets out again: the ones named, or (None) every one
    the post has. They go out as the post's next redrive generation."""
    not_imported(post)
    if target_ids is None:
        chosen = [t.id for t in post.targets if t.status in tg.RETRYABLE]
        if not chosen:
            raise Conflict(
                "post_not_retryable", "the post has no failed or dead target to retry", {"status": post.status}
            )
    else:
        chosen = list(dict.fromkeys(target_ids))
        by_id = {t.id: t for t in post.targets}
        for target_id in chosen:
            target = by_id.get(target_id)
            if target is None:
                raise NotFound.of("target", target_id)
            if target.status not in tg.RETRYABLE:
                raise Conflict(
                    "target_not_retryable",
                    "only a failed or dead target can be retried",
                    {"target_id": target_id, "status": target.status},
                )
    return ev.TargetsRedriven(at=at, target_ids=chosen, redrive=max(t.redrive for t in post.targets) + 1)


def _concerns(target: Target, event: ev.AnyPostEvent) -> bool:
    if isinstance(event, ev.PostCanceled | ev.TargetsRedriven):
        return True
    return getattr(event, "target_id", None) == target.id


def _created(event: ev.PostCreated) -> Post:
    initial = _initial(event.is_draft, event.scheduled_at)
    post = Post(
        id=event.post_id,
        org_id=event.org_id,
        mode=event.mode,
        status=DRAFT,
        containers=list(event.containers),
        targets=tuple(_planned(t, i, initial, event.at) for i, t in enumerate(event.targets)),
        scheduled_at=event.scheduled_at,
        is_draft=event.is_draft,
        config=dict(event.config),
        external_ref=event.external_ref,
        created_at=event.at,
        updated_at=event.at,
        version=1,
    )
    return _rolled_up(post)


def _imported(event: ev.PostImported) -> Post:
    planned = event.target
    target = Target(
        id=planned.id,
        position=0,
        account_id=planned.account_id,
        platform=planned.platform,
        account_username=planned.account_username,
        tenant_id=planned.tenant_id,
        status=tg.PUBLISHED,
        platform_post_id=event.platform_post_id,
        platform_post_url=event.platform_post_url,
        published_at=event.at,
        updated_at=event.at,
    )
    post = Post(
        id=event.post_id,
        org_id=event.org_id,
        mode=event.mode,
        status=PUBLISHED,
        containers=[Container(content=event.content)],
        targets=(target,),
        scheduled_at=None,
        is_draft=False,
        config={},
        external_ref=None,
        created_at=event.at,
        updated_at=event.at,
        version=1,
        source="imported",
    )
    return _rolled_up(post)


def _revised(post: Post, event: ev.DraftPublished | ev.PostEdited) -> Post:
    """A published draft or an edit. Targets still waiting take the status the post's new schedule
    gives them; one that already moved on (its queued report overtook the edit) keeps its state."""
    planned: list[tuple[Target | ev.PlannedTarget, str | None]]
    if isinstance(event, ev.DraftPublished):
        post = msgspec.structs.replace(post, is_draft=False, scheduled_at=event.scheduled_at)
        planned = [(t, t.override_body) for t in post.targets]
    else:
        post = msgspec.structs.replace(
            post,
            containers=list(event.containers),
            scheduled_at=event.scheduled_at,
            config=dict(event.config),
            external_ref=event.external_ref,
        )
        kept = {t.id: t for t in post.targets}
        planned = [(kept.get(p.id) or p, p.override_body) for p in event.targets]
    initial = _initial(post.is_draft, post.scheduled_at)
    targets = []
    for i, (target, override_body) in enumerate(planned):
        if isinstance(target, ev.PlannedTarget):
            targets.append(_planned(target, i, initial, event.at))
        else:
            status = initial if target.status == tg.PENDING else target.status
            targets.append(
                msgspec.structs.replace(
                    target, position=i, override_body=override_body, status=status, updated_at=event.at
                )
            )
    return msgspec.structs.replace(
        post, targets=tuple(targets), version=post.version + 1, updated_at=max(post.updated_at, event.at)
    )


def _initial(is_draft: bool, scheduled_at: datetime | None) -> TargetStatus:
    return tg.PENDING if is_draft or scheduled_at is not None else tg.QUEUED


def _planned(planned: ev.PlannedTarget, position: int, status: TargetStatus, at: datetime) -> Target:
    return Target(
        id=planned.id,
        position=position,
        account_id=planned.account_id,
        platform=planned.platform,
        account_username=planned.account_username,
        tenant_id=planned.tenant_id,
        override_body=planned.override_body,
        status=status,
        updated_at=at,
    )


def _rolled_up(post: Post) -> Post:
    published = [t.published_at for t in post.targets if t.published_at is not None]
    return msgspec.structs.replace(post, status=roll_up(post), published_at=max(published) if published else None)
