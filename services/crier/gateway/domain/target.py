"""One target: a post's delivery to one social account, and the rules for moving it along.

Events reach the gateway at least once and not always in order (redeliveries, several publisher
replicas), so a target only ever moves forward: each event names a point in the delivery's life,
and an event pointing at or before where the target already is changes nothing.

A failed or dead target can be redriven: it goes out again as a new generation of delivery, with
a fresh attempt count. A point in a delivery's life is therefore (generation, attempt, phase), and
a report from an earlier generation (a late or redelivered event of the delivery the redrive
replaced) changes nothing, however high its attempt number.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from crier.contracts.common import Platform, TargetStatus
from crier.gateway.domain import events as ev

PENDING: TargetStatus = "pending"
QUEUED: TargetStatus = "queued"
PUBLISHING: TargetStatus = "publishing"
RETRYING: TargetStatus = "retrying"
PUBLISHED: TargetStatus = "published"
FAILED: TargetStatus = "failed"
DEAD: TargetStatus = "dead"
CANCELED: TargetStatus = "canceled"
TERMINAL: frozenset[TargetStatus] = frozenset({PUBLISHED, FAILED, DEAD, CANCELED})
CANCELABLE: frozenset[TargetStatus] = frozenset({PENDING, QUEUED})
IN_FLIGHT: frozenset[TargetStatus] = frozenset({PUBLISHING, RETRYING})
RETRYABLE: frozenset[TargetStatus] = frozenset({FAILED, DEAD})


class Target(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    position: int
    account_id: str
    platform: Platform
    account_username: str = ""
    tenant_id: str | None = None
    override_body: str | None = None
    status: TargetStatus = PENDING
    platform_post_id: str | None = None
    platform_post_url: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    attempts: int = 0
    published_at: datetime | None = None
    updated_at: datetime
    # What Crier changed to fit the platform when it published (an image re-encoded smaller).
    notes: list[str] = []
    # The generation of delivery the target is in: 0 until it is first redriven, then the post's
    # redrive that last sent it out again. `attempts` counts within it.
    redrive: int = 0


def _progress(status: TargetStatus, attempts: int) -> tuple[int, int]:
    """Where a non-terminal target stands: (attempt number, phase within that attempt)."""
    phase = {PENDING: 0, QUEUED: 1, PUBLISHING: 2, RETRYING: 3}[status]
    return (attempts if status in IN_FLIGHT else 0, phase)


def advance(target: Target, event: ev.TargetEvent | ev.PostCanceled | ev.TargetsRedriven) -> Target:
    """The target after `event`, or the same target when the event is late or a repeat."""
    if isinstance(event, ev.PostCanceled):
        if target.status in CANCELABLE and target.id in event.target_ids:
            return msgspec.structs.replace(target, status=CANCELED, updated_at=event.at)
        return target
    if isinstance(event, ev.TargetsRedriven):
        if target.id in event.target_ids and target.status in RETRYABLE and event.redrive > target.redrive:
            return _redriven(target, event)
        return target
    if event.redrive != target.redrive:
        # From a delivery a redrive replaced. (Never from a generation still to come: the gateway
        # records a redrive before any service hears of it.)
        return target
    if target.status in TERMINAL:
        # The platform has the post even if the cancel got recorded first: the truth wins.
        if target.status == CANCELED and isinstance(event, ev.TargetPublished):
            return _published(target, event)
        return target
    now = _progress(target.status, target.attempts)
    match event:
        case ev.TargetQueued() if now < (0, 1):
            return msgspec.structs.replace(target, status=QUEUED, updated_at=event.at)
        case ev.TargetPublishing() if now < (event.attempt, 2):
            return msgspec.structs.replace(
                target, status=PUBLISHING, attempts=max(target.attempts, event.attempt), updated_at=event.at
            )
        case ev.TargetAttemptFailed() if now < (event.attempt, 3):
            return msgspec.structs.replace(
                target,
                status=RETRYING,
                attempts=max(target.attempts, event.attempt),
                error_code=event.error_code,
                error_message=event.error_message,
                updated_at=event.at,
            )
        case ev.TargetPublished():
            return _published(target, event)
        case ev.TargetFailed() | ev.TargetDeadLettered():
            return msgspec.structs.replace(
                target,
                status=FAILED if isinstance(event, ev.TargetFailed) else DEAD,
                attempts=max(target.attempts, event.attempt),
                error_code=event.error_code,
                error_message=event.error_message,
                updated_at=event.at,
            )
    return target


def _redriven(target: Target, event: ev.TargetsRedriven) -> Target:
    return msgspec.structs.replace(
        target,
        status=QUEUED,
        redrive=event.redrive,
        attempts=0,
        error_code=None,
        error_message=None,
        updated_at=event.at,
    )


def _published(target: Target, event: ev.TargetPublished) -> Target:
    return msgspec.structs.replace(
        target,
        status=PUBLISHED,
        attempts=max(target.attempts, event.attempt),
        platform_post_id=event.platform_post_id,
        platform_post_url=event.platform_post_url,
        notes=list(event.notes),
        error_code=None,
        error_message=None,
        published_at=event.at,
        updated_at=event.at,
    )
