"""What the gateway tells other services about its posts, written to the outbox with each change."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from crier.contracts import events as contract
from crier.gateway.domain import events as ev
from crier.gateway.domain.post import Post
from crier.kit.bus.outbox import OutboxMessage

# Status-change ids derive from (post, version): the same change can never be announced twice.
_STATUS_IDS = uuid.UUID("0b7f5f0e-4f43-4a8e-b1a8-6a1d1f3d2c90")


def created(post: Post, event: ev.PostCreated) -> contract.PostCreated:
    return contract.PostCreated(
        **_about(post, event.at),
        containers=post.containers,
        scheduled_at=post.scheduled_at,
        is_draft=post.is_draft,
        config=post.config,
        targets=_specs(post),
    )


def canceled(post: Post, event: ev.PostCanceled) -> contract.PostCanceled:
    return contract.PostCanceled(
        **_about(post, event.at),
        target_ids=event.target_ids,
    )


def redriven(post: Post, event: ev.TargetsRedriven) -> contract.PostRedriven:
    return contract.PostRedriven(
        **_about(post, event.at),
        target_ids=event.target_ids,
        redrive=event.redrive,
    )


def updated(before: Post, after: Post, event: ev.DraftPublished | ev.PostEdited) -> contract.PostUpdated:
    return contract.PostUpdated(
        **_about(after, event.at),
        version=after.version,
        status=after.status,
        containers=after.containers,
        targets=_specs(after),
        removed_target_ids=_removed(before, after),
        scheduled_at=after.scheduled_at,
        is_draft=after.is_draft,
        config=after.config,
        external_ref=after.external_ref,
        draft_published=isinstance(event, ev.DraftPublished),
    )


def _about(post: Post, at: datetime) -> dict[str, Any]:
    """The fields every announcement of a post carries: a fresh event id, when, whose, and which post."""
    return {"id": str(uuid.uuid4()), "occurred_at": at, "org_id": post.org_id, "mode": post.mode, "post_id": post.id}


def _removed(before: Post, after: Post) -> list[str]:
    staying = {t.id for t in after.targets}
    return [t.id for t in before.targets if t.id not in staying]


def _specs(post: Post) -> list[contract.TargetSpec]:
    return [
        contract.TargetSpec(
            target_id=t.id,
            account_id=t.account_id,
            platform=t.platform,
            account_username=t.account_username,
            tenant_id=t.tenant_id,
            override_body=t.override_body,
        )
        for t in post.targets
    ]


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
    """What a change to an existing post announces: each cancellation, redrive, edit and published
    draft, and the roll-up's move. Targets an edit removed are announced canceled as well, so a
    command the scheduler fired meanwhile is dropped by the publisher as any canceled one is."""
    decided: list[contract.Message] = []
    for e in events:
        if isinstance(e, ev.DraftPublished | ev.PostEdited):
            decided.append(updated(before, after, e))
            removed = _removed(before, after)
            if removed:
                decided.append(canceled(after, ev.PostCanceled(at=e.at, target_ids=removed)))
        elif isinstance(e, ev.PostCanceled):
            decided.append(canceled(after, e))
        elif isinstance(e, ev.TargetsRedriven):
            decided.append(redriven(after, e))
    return outgoing(*decided, status_changed(before, after, events[-1].at))


def outgoing(*messages: contract.Message | None) -> list[OutboxMessage]:
    """The messages to queue, each on its contract's subject; None stands for "nothing to say"."""
    return [OutboxMessage(subject=contract.SUBJECT_OF[type(m)], message=m) for m in messages if m is not None]
