"""Changing a post before it goes out: publishing a draft, editing a draft or a scheduled post.

Both are checked exactly as a create is, on the post as it would be afterwards: the handler turns
the stored post, with the caller's changes, back into a `PostRequest` (`as_request`) and runs the
create path's checks on it, then decides here on the post as it stands in the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from msgspec import UNSET, UnsetType

from crier.contracts.common import Container
from crier.gateway.domain import events as ev
from crier.gateway.domain.post import DRAFT, SCHEDULED, Post, not_imported
from crier.gateway.domain.validation import PostRequest
from crier.kit.errors import Conflict

EDITABLE = frozenset({DRAFT, SCHEDULED})


@dataclass(frozen=True)
class PostPatch:
    """What a PATCH changes; UNSET leaves the field as it is. `content` and `containers` both
    replace the post's containers (the one given wins; both given is the create's own 422)."""

    content: str | UnsetType = UNSET
    containers: list[Container] | UnsetType = UNSET
    media_urls: dict[tuple[int, int], str] | None = None
    accounts: list[str] | UnsetType = UNSET
    scheduled_at: str | UnsetType | None = UNSET
    config: dict[str, Any] | UnsetType = UNSET
    external_ref: str | UnsetType | None = UNSET
    overrides: dict[str, str | None] | UnsetType = UNSET


def as_request(post: Post, patch: PostPatch | None = None, *, publish: bool = False) -> PostRequest:
    """The create request that would make `post` as `patch` leaves it (or, `publish`, as a post
    that is no longer a draft)."""
    patch = patch or PostPatch()
    content: str | None = None
    containers: list[Container] | None = list(post.containers)
    if not isinstance(patch.content, UnsetType) or not isinstance(patch.containers, UnsetType):
        content = None if isinstance(patch.content, UnsetType) else patch.content
        containers = None if isinstance(patch.containers, UnsetType) else patch.containers
    accounts = [t.account_id for t in post.targets] if isinstance(patch.accounts, UnsetType) else patch.accounts
    if isinstance(patch.overrides, UnsetType):
        # The overrides of the accounts that stay; a removed account's goes with it.
        overrides: dict[str, str | None] = {
            t.account_id: t.override_body
            for t in post.targets
            if t.override_body is not None and t.account_id in accounts
        }
    else:
        overrides = patch.overrides
    scheduled_at = post.scheduled_at.isoformat() if post.scheduled_at is not None else None
    return PostRequest(
        accounts=list(accounts),
        content=content,
        containers=containers,
        scheduled_at=scheduled_at if isinstance(patch.scheduled_at, UnsetType) else patch.scheduled_at,
        is_draft=post.is_draft and not publish,
        config=dict(post.config) if isinstance(patch.config, UnsetType) else patch.config,
        external_ref=post.external_ref if isinstance(patch.external_ref, UnsetType) else patch.external_ref,
        overrides=overrides,
        media_urls=patch.media_urls or {},
    )


def check_current(post: Post, seen: datetime) -> None:
    """The post is still the one the change was checked against: `seen` is its `updated_at` then
    (or what the caller sent as `expected_updated_at`). Otherwise 409 with the current one."""
    if post.updated_at != seen:
        raise Conflict(
            "post_modified",
            "the post was changed since; read it again and retry",
            {"updated_at": post.updated_at.isoformat(), "expected_updated_at": seen.isoformat()},
        )


def check_editable(post: Post, now: datetime) -> None:
    """A draft, or a scheduled post whose time has not come: once it has, the scheduler may have
    sent it out already, before the gateway hears of it."""
    not_imported(post)
    due = post.status == SCHEDULED and post.scheduled_at is not None and post.scheduled_at <= now
    if post.status not in EDITABLE or due:
        raise Conflict("post_not_editable", "only a draft or a scheduled post can be edited", {"status": post.status})


def check_draft(post: Post) -> None:
    not_imported(post)
    if post.status != DRAFT:
        raise Conflict("post_not_draft", "only a draft can be published", {"status": post.status})


def publish(post: Post, scheduled_at: datetime | None, at: datetime, *, seen: datetime) -> ev.DraftPublished:
    check_draft(post)
    check_current(post, seen)
    return ev.DraftPublished(at=at, scheduled_at=scheduled_at)


def edit(
    post: Post,
    *,
    containers: list[Container],
    targets: Sequence[ev.PlannedTarget],
    scheduled_at: datetime | None,
    config: dict[str, dict[str, Any]],
    external_ref: str | None,
    at: datetime,
    seen: datetime,
) -> ev.PostEdited:
    check_editable(post, at)
    check_current(post, seen)
    return ev.PostEdited(
        at=at,
        containers=containers,
        targets=list(targets),
        scheduled_at=scheduled_at,
        config=config,
        external_ref=external_ref,
    )
