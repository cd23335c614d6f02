"""What the gateway tells other services about its posts, written to the outbox with each change."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from crier.contracts import events as contract
from crier.gateway.domain import events as ev
from crier.gateway.domain.post import Post
from crier.kit.bus.outbox import OutboxMessage

# Status-change ids derive from (post, version): the same change can never be announced twice.
_STATUS_IDS = uuid.UUID("0b7f5f0e-4f43-4a8e-b1a8-6a1d1f3d2c90")


def created(post: Post, event: ev.PostCreated) -> contract.PostCreated:
    return contract.PostCreated(
        id=str(uuid.uuid4()),
        occurred_at=event.at,
        org_id=post.org_id,
        mode=post.mode,
        post_id=post.id,
        containers=post.containers,
        scheduled_at=post.scheduled_at,
        is_draft=post.is_draft,
        config=post.config,
        targets=[
            contract.TargetSpec(
                target_id=t.id,
                account_id=t.account_id,
                platform=t.platform,
                account_username=t.account_username,
                tenant_id=t.tenant_id,
                override_body=t.override_body,
            )
            for t in post.targets
        ],
    )


def canceled(post: Post, event: ev.PostCanceled) -> contract.PostCanceled:
    return contract.PostCanceled(
        id=str(uuid.uuid4()),
        occurred_at=event.at,
        org_id=post.org_id,
        mode=post.mode,
        post_id=post.id,
        target_ids=event.target_ids,
    )


def redriven(post: Post, event: ev.TargetsRedriven) -> contract.PostRedriven:
    return contract.PostRedriven(
        id=str(uuid.uuid4()),
        occurred_at=event.at,
        org_id=post.org_id,
        mode=post.mode,
        post_id=post.id,
        target_ids=event.target_ids,
        redrive=event.redrive,
    )


def status_changed(before: Post, after: Post, at: datetime) -> contract.PostStatusChanged | None:
    if before.status == after.status:
        return None
    return contract.PostStatusChanged(
        id=str(uuid.uuid5(_STATUS_IDS, f"{after.id}:{after.version}")),
        occurred_at=at,
        org_id=after.org_id,
        mode=after.mode,
        post_id=after.id,
        status=after.status,
        previous_status=before.status,
        external_ref=after.external_ref,
    )


def of_change(before: Post, after: Post, events: Sequence[ev.AnyPostEvent]) -> list[OutboxMessage]:
    """What a change to an existing post announces: each cancellation and redrive, and the
    roll-up's move."""
    decided: list[contract.Message] = []
    for e in events:
        if isinstance(e, ev.PostCanceled):
            decided.append(canceled(after, e))
        elif isinstance(e, ev.TargetsRedriven):
            decided.append(redriven(after, e))
    return outgoing(*decided, status_changed(before, after, events[-1].at))


def outgoing(*messages: contract.Message | None) -> list[OutboxMessage]:
    """The messages to queue, each on its contract's subject; None stands for "nothing to say"."""
    return [OutboxMessage(subject=contract.SUBJECT_OF[type(m)], message=m) for m in messages if m is not None]
