"""The JSON the API accepts and returns (msgspec Structs; the OpenAPI document is generated from them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from crier.contracts.common import Mode, Platform, PostStatus, TargetStatus

Id = Annotated[str, Meta(min_length=1, max_length=128)]
Text = Annotated[str, Meta(max_length=100_000)]


class MediaRef(Struct, kw_only=True, forbid_unknown_fields=True):
    """A media object by its `id` (`POST /media`), or a `url` Crier fetches into one; not both."""

    id: Id | None = None
    url: Annotated[str, Meta(min_length=1, max_length=2048)] | None = None
    alt_text: Annotated[str, Meta(max_length=1_500)] | None = None


class Container(Struct, kw_only=True, forbid_unknown_fields=True):
    content: Text = ""
    media: Annotated[list[MediaRef], Meta(max_length=20)] = []


class PostMedia(Struct, kw_only=True):
    """A post's media as it was when the post was made."""

    id: str
    alt_text: str | None = None
    type: str | None = None
    mime: str = ""
    size_bytes: int = 0
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None


class PostContainer(Struct, kw_only=True):
    content: str = ""
    media: list[PostMedia] = []


class TargetOverride(Struct, kw_only=True, forbid_unknown_fields=True):
    account_id: Id
    override_body: Text | None = None


class PostCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    """Exactly one of `content` or `containers`; `scheduled_at` needs an explicit UTC offset.
    `accounts`, or an end user's `tenant_id` with the `platforms` to reach them on (each of their
    active accounts there). `queued_from_account` (one of the accounts, by id, username or
    network_unique_id) takes the next free posting slot instead of a `scheduled_at`, in
    `queue_timezone` (or `timezone`; UTC when neither)."""

    accounts: Annotated[list[Id], Meta(max_length=100)] = []
    tenant_id: Annotated[str, Meta(min_length=1, max_length=255)] | None = None
    platforms: Annotated[list[Annotated[str, Meta(max_length=64)]], Meta(max_length=20)] | None = None
    queued_from_account: Id | None = None
    queue_timezone: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    timezone: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    content: Text | None = None
    containers: Annotated[list[Container], Meta(max_length=25)] | None = None
    scheduled_at: str | None = None
    is_draft: bool = False
    config: dict[str, dict[str, Any]] = {}
    external_ref: Annotated[str, Meta(min_length=1, max_length=255)] | None = None
    targets: Annotated[list[TargetOverride], Meta(max_length=100)] = []


class Target(Struct, kw_only=True):
    id: str
    social_account_id: str
    platform: Platform
    status: TargetStatus
    platform_post_id: str | None
    platform_post_url: str | None
    error_code: str | None
    error_message: str | None
    attempts: int
    published_at: datetime | None
    updated_at: datetime
    # What Crier changed to fit the platform when it published (e.g. an image re-encoded under
    # the platform's size limit); empty when nothing was.
    notes: list[str] = []


class QueueSlot(Struct, kw_only=True):
    """The posting slot a queued post took, and the zone it was read in."""

    social_account_id: str | None
    weekday: int | None
    minute_of_day: int
    timezone: str


class Post(Struct, kw_only=True, omit_defaults=True):
    id: str
    status: PostStatus
    content: str
    containers: list[PostContainer]
    accounts: list[str]
    scheduled_at: datetime | None
    is_draft: bool
    config: dict[str, dict[str, Any]]
    external_ref: str | None
    targets: list[Target]
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    # Only on a post created in queue mode (`queued_from_account`).
    slot: QueueSlot | None = None
    # "crier": made through Crier; "imported": read from its platform by an import, never published
    # by Crier. No default, so it is always in the answer (the struct omits defaults).
    source: Annotated[
        Literal["crier", "imported"],
        Meta(description='"crier": made through Crier; "imported": read from its platform, never published by Crier.'),
    ]


class PostList(Struct, kw_only=True):
    data: list[Post]
    next_cursor: str | None


class TargetList(Struct, kw_only=True):
    data: list[Target]


class PostCanceled(Struct, kw_only=True):
    id: str
    canceled: bool = True


class ApiKeyCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    mode: Mode
    scopes: Annotated[list[str], Meta(min_length=1, max_length=6)]


class ApiKey(Struct, kw_only=True):
    id: str
    name: str
    mode: Mode
    scopes: list[str]
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKey, kw_only=True):
    """The only response that ever carries the secret."""

    key: str


class ApiKeyList(Struct, kw_only=True):
    data: list[ApiKey]


class ApiKeyRevoked(Struct, kw_only=True):
    id: str
    revoked: bool = True


class SandboxAccountCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    platform: Annotated[str, Meta(min_length=1, max_length=64)]
    username: Annotated[str, Meta(min_length=1, max_length=255)]
    tenant_id: Annotated[str, Meta(min_length=1, max_length=255)] | None = None


class Health(Struct, kw_only=True, omit_defaults=True):
    status: str
    services: dict[str, bool] = {}


def post_of(record: Any) -> Post:
    """The API's view of a post, from its projection rows."""
    row, targets = record.post, record.targets
    containers = msgspec.convert(row.containers, list[PostContainer])
    return Post(
        id=row.id,
        status=row.status,
        content=containers[0].content if containers else "",
        containers=containers,
        accounts=[t.account_id for t in targets],
        scheduled_at=row.scheduled_at,
        is_draft=row.is_draft,
        config=row.config,
        external_ref=row.external_ref,
        targets=[target_of(t) for t in targets],
        published_at=row.published_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        slot=_queue_slot(getattr(record, "slot", None)),
        source="imported" if getattr(row, "imported", False) else "crier",
    )


def _queue_slot(taken: Any) -> QueueSlot | None:
    if taken is None:
        return None
    slot, zone = taken
    return QueueSlot(
        social_account_id=slot.social_account_id, weekday=slot.weekday, minute_of_day=slot.minute_of_day, timezone=zone
    )


def target_of(row: Any) -> Target:
    return Target(
        id=row.id,
        social_account_id=row.account_id,
        platform=row.platform,
        status=row.status,
        platform_post_id=row.platform_post_id,
        platform_post_url=row.platform_post_url,
        error_code=row.error_code,
        error_message=row.error_message,
        attempts=row.attempts,
        published_at=row.published_at,
        updated_at=row.updated_at,
        notes=list(row.notes or []),
    )


_KEY_FIELDS = ("id", "name", "mode", "scopes", "prefix", "created_at", "revoked_at")


def key_of(row: Any) -> ApiKey:
    return ApiKey(**{k: row[k] for k in _KEY_FIELDS})


def created_key_of(row: Any, secret: str) -> ApiKeyCreated:
    return ApiKeyCreated(**{k: row[k] for k in _KEY_FIELDS}, key=secret)
