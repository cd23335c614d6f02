"""The public event catalog: which internal events become which webhook events, and their payloads.

Every webhook body and every `/events` item has the same envelope:

    {"id": "evt_…", "type": "post.published", "created_at": "2026-06-09T10:10:00.123Z", "data": {…}}

`id` is derived from the internal event id (and the public type), so an internal event that the
bus delivers twice still yields one public event. `created_at` is when the fact happened.

| type | from | data |
|---|---|---|
| `post.scheduled` | `evt.post.created` with `scheduled_at`, not a draft | `post_id`, `scheduled_at`, `targets: [{target_id, account_id, platform, tenant_id}]` |
| `post.scheduled` | `evt.post.updated` publishing a draft with `scheduled_at` | the same |
| `post.updated` | `evt.post.updated` of an edit (of a draft or a scheduled post) | `post_id`, `status`, `scheduled_at`, `is_draft`, `external_ref`, `targets: [{target_id, account_id, platform, tenant_id}]` (as the post now stands), `removed_target_ids` |
| `post.published` | `evt.target.published` | `post_id`, `target_id`, `account_id`, `tenant_id`, `platform`, `platform_post_id`, `platform_post_url`, `attempt`, `notes` (what Crier changed to fit the platform, e.g. an image re-encoded) |
| `post.error` | `evt.target.attempt_failed` | `post_id`, `target_id`, `account_id`, `tenant_id`, `platform`, `error_code`, `error_message`, `attempt`, `will_retry: true`, `retry_in_seconds`, `target_status: "retrying"` |
| `post.error` | `evt.target.failed` / `evt.target.dead_lettered` | the same with `will_retry: false`, `retry_in_seconds: null`, `target_status: "failed"` / `"dead"` |
| `target.dead_lettered` | `evt.target.dead_lettered` | `post_id`, `target_id`, `account_id`, `tenant_id`, `platform`, `error_code`, `error_message`, `attempt` |
| `post.failed` / `post.partial` / `post.canceled` | `evt.post.status_changed` to that status | `post_id`, `status`, `previous_status`, `external_ref` |
| `account.connected` | `evt.account.connected` | `account_id`, `platform`, `username`, `display_name`, `network_unique_id`, `tenant_id`, `status`, `account_type`, `sandbox` |
| `account.disconnected` / `account.token_expired` | `evt.account.disconnected` / `…token_expired` | `account_id`, `platform`, `tenant_id` |
| `import.completed` / `import.failed` | `evt.import.completed` / `…failed` | the import's fields as its producer emits them (`account_id`, …) |
| `ping` | the test operation, to one endpoint | `endpoint_id`, `message` |

`account_id` and `tenant_id` of target events come from the post's creation event (or the edit
that added the target); they are null when that event predates the dispatcher. Every event of one post — its `post.scheduled`, each
target's `post.error` and `post.published`, its roll-up — reaches an endpoint in the order it
happened (so a target's `post.published` never comes before the post's `post.scheduled`), and
the events of one account likewise.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from crier.contracts import events as evt

_ID_NAMESPACE = uuid.UUID("6f1c7a52-2f0e-4d8e-9a55-3c2b8f2f8d11")
_ROLL_UPS = {"failed": "post.failed", "partial": "post.partial", "canceled": "post.canceled"}
_ACCOUNT = {
    "evt.account.connected": "account.connected",
    "evt.account.disconnected": "account.disconnected",
    "evt.account.token_expired": "account.token_expired",
}
_IMPORT = {"evt.import.completed": "import.completed", "evt.import.failed": "import.failed"}
_ENVELOPE = ("id", "occurred_at", "org_id", "mode")


@dataclass(frozen=True)
class KnownTarget:
    """What the dispatcher remembers about a target from its post's creation event."""

    target_id: str
    account_id: str
    tenant_id: str | None


@dataclass(frozen=True)
class PublicEvent:
    id: str
    type: str
    created_at: datetime
    data: dict[str, Any]
    # Deliveries with the same key go to an endpoint one after the other, in event order.
    order_key: str | None

    def body(self) -> bytes:
        return msgspec.json.encode({"id": self.id, "type": self.type, "created_at": self.created_at, "data": self.data})


def public_id(internal_id: str, public_type: str) -> str:
    return "evt_" + uuid.uuid5(_ID_NAMESPACE, f"{internal_id}/{public_type}").hex


def translate(subject: str, event: Any, target: KnownTarget | None = None) -> list[PublicEvent]:
    """The public events one internal event stands for (often none)."""
    match event:
        case evt.PostCreated() | evt.PostUpdated() if _scheduled(event):
            return [
                _public(
                    event,
                    "post.scheduled",
                    event.post_id,
                    {"post_id": event.post_id, "scheduled_at": event.scheduled_at, "targets": _targets(event)},
                )
            ]
        case evt.PostUpdated() if not event.draft_published:
            return [
                _public(
                    event,
                    "post.updated",
                    event.post_id,
                    {
                        "post_id": event.post_id,
                        "status": event.status,
                        "scheduled_at": event.scheduled_at,
                        "is_draft": event.is_draft,
                        "external_ref": event.external_ref,
                        "targets": _targets(event),
                        "removed_target_ids": list(event.removed_target_ids),
                    },
                )
            ]
        case evt.TargetPublished():
            return [
                _public(
                    event,
                    "post.published",
                    event.post_id,
                    {
                        **_target_fields(event, target),
                        "platform_post_id": event.platform_post_id,
                        "platform_post_url": event.platform_post_url,
                        "attempt": event.attempt,
                        "notes": list(event.notes),
                    },
                )
            ]
        case evt.TargetAttemptFailed():
            return [
                _public(
                    event,
                    "post.error",
                    event.post_id,
                    {
                        **_error_fields(event, target),
                        "will_retry": True,
                        "retry_in_seconds": event.retry_in_seconds,
                        "target_status": "retrying",
                    },
                )
            ]
        case evt.TargetFailed():
            return [
                _public(
                    event,
                    "post.error",
                    event.post_id,
                    {
                        **_error_fields(event, target),
                        "will_retry": False,
                        "retry_in_seconds": None,
                        "target_status": "failed",
                    },
                )
            ]
        case evt.TargetDeadLettered():
            fields = _error_fields(event, target)
            return [
                _public(
                    event,
                    "post.error",
                    event.post_id,
                    {**fields, "will_retry": False, "retry_in_seconds": None, "target_status": "dead"},
                ),
                _public(event, "target.dead_lettered", event.post_id, fields),
            ]
        case evt.PostStatusChanged() if event.status in _ROLL_UPS:
            return [
                _public(
                    event,
                    _ROLL_UPS[event.status],
                    event.post_id,
                    {
                        "post_id": event.post_id,
                        "status": event.status,
                        "previous_status": event.previous_status,
                        "external_ref": event.external_ref,
                    },
                )
            ]
        case evt.AccountConnected():
            return [
                _public(
                    event,
                    "account.connected",
                    event.account_id,
                    {
                        "account_id": event.account_id,
                        "platform": event.platform,
                        "username": event.username,
                        "display_name": event.display_name,
                        "network_unique_id": event.network_unique_id,
                        "tenant_id": event.tenant_id,
                        "status": event.status,
                        "account_type": event.account_type,
                        "sandbox": event.sandbox,
                    },
                )
            ]
        case evt.AccountDisconnected() | evt.AccountTokenExpired():
            return [
                _public(
                    event,
                    _ACCOUNT[subject],
                    event.account_id,
                    {"account_id": event.account_id, "platform": event.platform, "tenant_id": event.tenant_id},
                )
            ]
        case dict() if subject in _IMPORT:
            return [_from_import(subject, event)]
    return []


def _scheduled(event: evt.PostCreated | evt.PostUpdated) -> bool:
    """A post that is now scheduled for the first time: created so, or a draft published so."""
    first = isinstance(event, evt.PostCreated) or event.draft_published
    return first and event.scheduled_at is not None and not event.is_draft


def _targets(event: evt.PostCreated | evt.PostUpdated) -> list[dict[str, Any]]:
    return [
        {"target_id": t.target_id, "account_id": t.account_id, "platform": t.platform, "tenant_id": t.tenant_id}
        for t in event.targets
    ]


def known_targets(event: evt.PostCreated | evt.PostUpdated) -> list[KnownTarget]:
    return [KnownTarget(t.target_id, t.account_id, t.tenant_id) for t in event.targets]


def ping(endpoint_id: str, now: datetime) -> PublicEvent:
    return PublicEvent(
        id=f"evt_{uuid.uuid4().hex}",
        type="ping",
        created_at=now,
        order_key=None,
        data={"endpoint_id": endpoint_id, "message": "Test event from Crier: your endpoint is reachable."},
    )


def _public(event: Any, public_type: str, order_key: str, data: dict[str, Any]) -> PublicEvent:
    return PublicEvent(public_id(event.id, public_type), public_type, event.occurred_at, data, order_key)


def _target_fields(event: Any, target: KnownTarget | None) -> dict[str, Any]:
    return {
        "post_id": event.post_id,
        "target_id": event.target_id,
        "account_id": target.account_id if target else None,
        "tenant_id": target.tenant_id if target else None,
        "platform": event.platform,
    }


def _error_fields(event: Any, target: KnownTarget | None) -> dict[str, Any]:
    return {
        **_target_fields(event, target),
        "error_code": event.error_code,
        "error_message": event.error_message,
        "attempt": event.attempt,
    }


def _from_import(subject: str, event: dict[str, Any]) -> PublicEvent:
    public_type = _IMPORT[subject]
    occurred = msgspec.convert(event.get("occurred_at"), datetime | None, strict=False) or datetime.now(UTC)
    data = {k: v for k, v in event.items() if k not in _ENVELOPE}
    key = data.get("import_id") or data.get("account_id")
    return PublicEvent(public_id(str(event["id"]), public_type), public_type, occurred, data, key)
