"""What happened to a post, in the order it happened: the Post aggregate's event stream.

These are the gateway's own stored facts (the `post_events` table), not the wire contracts:
consumers translate `contracts.events` into them, so the event store survives contract changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from crier.contracts.common import Container, Mode, Platform


class PlannedTarget(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    account_id: str
    platform: Platform
    account_username: str = ""
    tenant_id: str | None = None
    override_body: str | None = None


class PostEvent(msgspec.Struct, kw_only=True, frozen=True, tag_field="type"):
    at: datetime


class PostCreated(PostEvent, kw_only=True, frozen=True, tag="post.created"):
    post_id: str
    org_id: str
    mode: Mode
    containers: list[Container]
    targets: list[PlannedTarget]
    scheduled_at: datetime | None = None
    is_draft: bool = False
    config: dict[str, dict[str, Any]] = {}
    external_ref: str | None = None


class PostImported(PostEvent, kw_only=True, frozen=True, tag="post.imported"):
    """A post the account made on its platform before (or beside) Crier, read by an import: it
    starts published, with the platform's id and URL, and is never published by Crier. `at` is
    when the platform says it was published (when the import read it, if the platform did not say)."""

    post_id: str
    org_id: str
    mode: Mode
    import_id: str
    content: str
    target: PlannedTarget
    platform_post_id: str
    platform_post_url: str | None = None
    imported_at: datetime


class DraftPublished(PostEvent, kw_only=True, frozen=True, tag="draft.published"):
    """The draft goes out: at `scheduled_at`, or at once when it is None."""

    scheduled_at: datetime | None = None


class PostEdited(PostEvent, kw_only=True, frozen=True, tag="post.edited"):
    """The post's new content, schedule and targets, whole. A target that stays keeps its id (and
    its state); one that is new gets a new id; one left out is gone from the post."""

    containers: list[Container]
    targets: list[PlannedTarget]
    scheduled_at: datetime | None = None
    config: dict[str, dict[str, Any]] = {}
    external_ref: str | None = None


class PostCanceled(PostEvent, kw_only=True, frozen=True, tag="post.canceled"):
    target_ids: list[str]


class TargetsRedriven(PostEvent, kw_only=True, frozen=True, tag="targets.redriven"):
    """Failed or dead targets go out again, as redrive generation `redrive` of the post."""

    target_ids: list[str]
    redrive: int


class TargetEvent(PostEvent, kw_only=True, frozen=True):
    target_id: str
    # The bus event this fact came from, so a replayed message is recognisable in the store.
    source_event_id: str = ""
    # The redrive generation of the delivery this fact is about (0: before any redrive).
    redrive: int = 0


class TargetQueued(TargetEvent, kw_only=True, frozen=True, tag="target.queued"):
    pass


class TargetPublishing(TargetEvent, kw_only=True, frozen=True, tag="target.publishing"):
    attempt: int


class TargetPublished(TargetEvent, kw_only=True, frozen=True, tag="target.published"):
    attempt: int
    platform_post_id: str
    platform_post_url: str | None = None
    notes: list[str] = []


class TargetAttemptFailed(TargetEvent, kw_only=True, frozen=True, tag="target.attempt_failed"):
    attempt: int
    error_code: str
    error_message: str


class TargetFailed(TargetEvent, kw_only=True, frozen=True, tag="target.failed"):
    attempt: int
    error_code: str
    error_message: str


class TargetDeadLettered(TargetEvent, kw_only=True, frozen=True, tag="target.dead_lettered"):
    attempt: int
    error_code: str
    error_message: str


AnyTargetEvent = (
    TargetQueued | TargetPublishing | TargetPublished | TargetAttemptFailed | TargetFailed | TargetDeadLettered
)
AnyPostEvent = (
    PostCreated | PostImported | DraftPublished | PostEdited | PostCanceled | TargetsRedriven | AnyTargetEvent
)

_decoder: msgspec.json.Decoder[AnyPostEvent] = msgspec.json.Decoder(AnyPostEvent)


def encode(event: PostEvent) -> tuple[str, dict[str, Any]]:
    """The event's type name and its JSON-ready body, as stored in `post_events`."""
    data = msgspec.to_builtins(event)
    return data["type"], data


def decode(data: dict[str, Any] | bytes | str) -> AnyPostEvent:
    if isinstance(data, dict):
        event: AnyPostEvent = msgspec.convert(data, AnyPostEvent)
        return event
    return _decoder.decode(data)
