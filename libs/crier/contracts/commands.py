"""Commands: requests in the imperative, sent on the PUBLISH work queue under `cmd.…`."""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any, Literal

from crier.contracts.common import Container, Message, Platform


class PublishTarget(Message, kw_only=True, frozen=True):
    """Deliver one target of a post to its platform. `id` is the target id; the message id is the
    target id too (`<target_id>:r<n>` for redrive generation n), so a replay dedupes."""

    post_id: str
    target_id: str
    account_id: str
    platform: Platform
    account_username: str = ""
    containers: list[Container]
    config: dict[str, Any] = {}
    # The redrive generation: 0 for the target's first delivery, n when the post's n-th redrive
    # sends it out again. A publisher starts a fresh attempt count for a generation higher than
    # the one it last delivered, and settles a lower one without effect.
    redrive: int = 0
    # The moment the post was scheduled for; None when it was to go out as soon as possible. A
    # scheduled target falling due travels on its platform's due lanes, served before the others.
    due_at: datetime | None = None


# Each platform's queue is split into lanes by a stable hash of the organisation, so a publisher can
# serve organisations in turn: one organisation's burst fills its own lane, not everyone's queue.
# The scheduler and the publisher must agree on the count: a publisher reads lanes
# 0..PUBLISH_LANES-1 and a command on a lane above would wait for nobody. So only ever raise it, and
# roll the publishers out before the schedulers.
PUBLISH_LANES = 8
LaneKind = Literal["due", "now"]
Lane = tuple[LaneKind, int]


def publish_subject(platform: str) -> str:
    """The platform's single queue of earlier versions: no longer written, still read, so commands
    queued before an upgrade are delivered after it."""
    return f"cmd.publish.{platform}"


def lane_of(org_id: str) -> int:
    # crc32, not hash(): Python salts str hashes per process, and every scheduler must agree.
    return zlib.crc32(org_id.encode()) % PUBLISH_LANES


def lane_for(cmd: PublishTarget) -> Lane:
    """A scheduled target's first delivery is due now and goes ahead of the queue; a redrive is a
    retry someone asked for, not a moment anyone set, so it queues with the immediate targets."""
    kind: LaneKind = "due" if cmd.due_at is not None and cmd.redrive == 0 else "now"
    return kind, lane_of(cmd.org_id)


def lane_subject(platform: str, lane: Lane) -> str:
    kind, number = lane
    return f"cmd.publish.{platform}.{kind}.{number}"


def command_subject(cmd: PublishTarget) -> str:
    """Where the scheduler sends a target's command."""
    return lane_subject(cmd.platform, lane_for(cmd))


def publish_msg_id(cmd: PublishTarget) -> str:
    """A redriven command must not be swallowed by JetStream's duplicate window as a replay of
    the target's earlier command, so each generation has a message id of its own."""
    return cmd.target_id if cmd.redrive == 0 else f"{cmd.target_id}:r{cmd.redrive}"


def dead_subject(platform: str) -> str:
    return f"dead.publish.{platform}"
