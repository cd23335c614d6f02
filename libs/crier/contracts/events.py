"""Events: facts in the past tense, published on the EVENTS stream under `evt.…`.

A target event's `redrive` is the generation of delivery it reports on: 0 for the target's first
delivery, n once the post's n-th redrive sent it out again (attempts count from 1 in each).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from crier.contracts.common import AccountLimits, Container, Message, Platform, PostStatus


class TargetSpec(msgspec.Struct, kw_only=True, frozen=True):
    target_id: str
    account_id: str
    platform: Platform
    account_username: str = ""
    tenant_id: str | None = None
    # Per-account text replacing container 0, when the caller asked for one.
    override_body: str | None = None


class PostCreated(Message, kw_only=True, frozen=True):
    post_id: str
    containers: list[Container]
    targets: list[TargetSpec]
    scheduled_at: datetime | None = None
    is_draft: bool = False
    config: dict[str, dict[str, Any]] = {}


class PostUpdated(Message, kw_only=True, frozen=True):
    """The post was edited, or (`draft_published`) a draft was published: what is to go out now,
    whole, so a consumer needs no earlier event to act on it. A target that stayed keeps its id;
    the removed ones are listed. `version` is the post's own count of changes: a consumer that
    saw a later one of the same post ignores this one."""

    post_id: str
    version: int
    status: PostStatus
    containers: list[Container]
    targets: list[TargetSpec]
    removed_target_ids: list[str] = []
    scheduled_at: datetime | None = None
    is_draft: bool = False
    config: dict[str, dict[str, Any]] = {}
    external_ref: str | None = None
    draft_published: bool = False


class PostCanceled(Message, kw_only=True, frozen=True):
    post_id: str
    target_ids: list[str]


class PostRedriven(Message, kw_only=True, frozen=True):
    """Failed or dead targets of the post go out again, in redrive generation `redrive` (1, 2, …:
    the post's count of redrives), each with a fresh attempt count."""

    post_id: str
    target_ids: list[str]
    redrive: int


class TargetQueued(Message, kw_only=True, frozen=True):
    post_id: str
    target_id: str
    platform: Platform
    redrive: int = 0


class TargetPublishing(Message, kw_only=True, frozen=True):
    post_id: str
    target_id: str
    platform: Platform
    redrive: int = 0
    attempt: int


class TargetPublished(Message, kw_only=True, frozen=True):
    post_id: str
    target_id: str
    platform: Platform
    redrive: int = 0
    attempt: int
    platform_post_id: str
    platform_post_url: str | None = None
    container_ids: list[str] = []
    # What Crier changed to fit the platform (an image re-encoded under its size limit).
    notes: list[str] = []


class TargetAttemptFailed(Message, kw_only=True, frozen=True):
    post_id: str
    target_id: str
    platform: Platform
    redrive: int = 0
    attempt: int
    error_code: str
    error_message: str
    retry_in_seconds: float


class TargetFailed(Message, kw_only=True, frozen=True):
    post_id: str
    target_id: str
    platform: Platform
    redrive: int = 0
    attempt: int
    error_code: str
    error_message: str


class TargetDeadLettered(Message, kw_only=True, frozen=True):
    post_id: str
    target_id: str
    platform: Platform
    redrive: int = 0
    attempt: int
    error_code: str
    error_message: str


class PostStatusChanged(Message, kw_only=True, frozen=True):
    """The post's rolled-up status moved (emitted by the gateway, which owns the aggregate)."""

    post_id: str
    status: PostStatus
    previous_status: PostStatus
    external_ref: str | None = None


class AccountConnected(Message, kw_only=True, frozen=True):
    account_id: str
    platform: Platform
    username: str
    display_name: str | None = None
    network_unique_id: str
    tenant_id: str | None = None
    status: str = "active"
    account_type: str = "account"
    sandbox: bool = False
    updated_at: datetime
    limits: AccountLimits = AccountLimits()


class AccountDisconnected(Message, kw_only=True, frozen=True):
    account_id: str
    platform: Platform
    tenant_id: str | None = None
    updated_at: datetime


class AccountTokenExpired(Message, kw_only=True, frozen=True):
    account_id: str
    platform: Platform
    tenant_id: str | None = None
    updated_at: datetime


class AccountRefreshed(Message, kw_only=True, frozen=True):
    """Connect renewed the account's access token, or read again what its platform lets it post
    (`limits`, e.g. when its health was checked live). No public webhook: nothing changed for the
    user."""

    account_id: str
    platform: Platform
    tenant_id: str | None = None
    token_expires_at: datetime | None = None
    updated_at: datetime
    limits: AccountLimits = AccountLimits()


EVENT_SUBJECTS: dict[str, type[Message]] = {
    "evt.post.created": PostCreated,
    "evt.post.updated": PostUpdated,
    "evt.post.canceled": PostCanceled,
    "evt.post.status_changed": PostStatusChanged,
    "evt.post.redriven": PostRedriven,
    "evt.target.queued": TargetQueued,
    "evt.target.publishing": TargetPublishing,
    "evt.target.published": TargetPublished,
    "evt.target.attempt_failed": TargetAttemptFailed,
    "evt.target.failed": TargetFailed,
    "evt.target.dead_lettered": TargetDeadLettered,
    "evt.account.connected": AccountConnected,
    "evt.account.disconnected": AccountDisconnected,
    "evt.account.token_expired": AccountTokenExpired,
    "evt.account.refreshed": AccountRefreshed,
}
SUBJECT_OF: dict[type[Message], str] = {v: k for k, v in EVENT_SUBJECTS.items()}
