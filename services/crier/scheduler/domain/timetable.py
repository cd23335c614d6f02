"""What goes into the timetable for a created or updated post, what firing announces, and how long
the alarm may sleep."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec

from crier.contracts.commands import PublishTarget
from crier.contracts.common import Container, Mode, Platform
from crier.contracts.events import PostCreated, PostUpdated, TargetQueued, TargetSpec

# Either carries the whole post: an update is not a difference to apply to what came before.
PostState = PostCreated | PostUpdated


@dataclass(frozen=True)
class Entry:
    """One target waiting for its moment, with the command to send when it comes."""

    target_id: str
    post_id: str
    org_id: str
    mode: Mode
    platform: Platform
    # None means "now" — taken from the database clock when the row is written.
    scheduled_at: datetime | None
    command: PublishTarget


def entries_for(post: PostState) -> list[Entry]:
    """One entry per target; drafts have none until they are published."""
    if post.is_draft:
        return []
    return [
        Entry(
            target_id=t.target_id,
            post_id=post.post_id,
            org_id=post.org_id,
            mode=post.mode,
            platform=t.platform,
            scheduled_at=_aware(post.scheduled_at),
            command=command_for(post, t),
        )
        for t in post.targets
    ]


# A post's creation is its first version.
CREATED_VERSION = 1


def version_of(post: PostState) -> int:
    """The post's version the entries stand for."""
    return post.version if isinstance(post, PostUpdated) else CREATED_VERSION


def command_for(post: PostState, target: TargetSpec) -> PublishTarget:
    return PublishTarget(
        # The target id is the command id, so a replayed command is dropped by JetStream's dedupe.
        id=target.target_id,
        occurred_at=post.occurred_at,
        org_id=post.org_id,
        mode=post.mode,
        post_id=post.post_id,
        target_id=target.target_id,
        account_id=target.account_id,
        platform=target.platform,
        account_username=target.account_username,
        containers=containers_for(post.containers, target.override_body),
        config=dict(post.config.get(target.platform, {})),
        due_at=_aware(post.scheduled_at),
    )


def queued(command: PublishTarget, *, event_id: str, at: datetime) -> TargetQueued:
    """The announcement that a target fell due and its command is on its way to the publisher."""
    return TargetQueued(
        id=event_id,
        occurred_at=at,
        org_id=command.org_id,
        mode=command.mode,
        post_id=command.post_id,
        target_id=command.target_id,
        platform=command.platform,
        redrive=command.redrive,
    )


def containers_for(containers: list[Container], override_body: str | None) -> list[Container]:
    if override_body is None or not containers:
        return list(containers)
    return [msgspec.structs.replace(containers[0], content=override_body), *containers[1:]]


def _aware(moment: datetime | None) -> datetime | None:
    # The API demands an offset; a naive value that slips through is read as UTC, never local time.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def sleep_seconds(next_due: datetime | None, now: datetime, cap_s: float) -> float:
    """How long the alarm sleeps: until the next due moment, never longer than the cap."""
    if next_due is None:
        return cap_s
    return min(cap_s, max(0.0, (next_due - now).total_seconds()))


def earliest(entries: list[Entry]) -> datetime | None:
    """The earliest due moment among new entries; None when one of them is due immediately."""
    times = [e.scheduled_at for e in entries]
    if not times or any(t is None for t in times):
        return None
    return min(t for t in times if t is not None)
