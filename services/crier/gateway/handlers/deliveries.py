"""Recording what the scheduler and publishers report about each target into the post's history."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts import events as contract
from crier.gateway.adapters import post_store
from crier.gateway.domain import events as ev
from crier.gateway.domain.post import apply
from crier.gateway.handlers.announcements import announce, status_changed
from crier.kit.bus import inbox
from crier.kit.log import get

log = get(__name__)
CONSUMER = "gateway"
APPEND_RETRIES = 8

TargetReport = (
    contract.TargetQueued
    | contract.TargetPublishing
    | contract.TargetPublished
    | contract.TargetAttemptFailed
    | contract.TargetFailed
    | contract.TargetDeadLettered
)


def as_post_event(report: TargetReport) -> ev.TargetEvent:
    """The wire event, restated as a fact in the post's own history."""
    common = {"at": report.occurred_at, "target_id": report.target_id, "source_event_id": report.id}
    match report:
        case contract.TargetQueued():
            return ev.TargetQueued(**common)
        case contract.TargetPublishing():
            return ev.TargetPublishing(**common, attempt=report.attempt)
        case contract.TargetPublished():
            return ev.TargetPublished(
                **common,
                attempt=report.attempt,
                platform_post_id=report.platform_post_id,
                platform_post_url=report.platform_post_url,
            )
        case contract.TargetAttemptFailed():
            return ev.TargetAttemptFailed(
                **common, attempt=report.attempt, error_code=report.error_code, error_message=report.error_message
            )
        case contract.TargetFailed():
            return ev.TargetFailed(
                **common, attempt=report.attempt, error_code=report.error_code, error_message=report.error_message
            )
        case contract.TargetDeadLettered():
            return ev.TargetDeadLettered(
                **common, attempt=report.attempt, error_code=report.error_code, error_message=report.error_message
            )
    raise TypeError(f"not a target event: {type(report).__name__}")


async def record_target_report(engine: AsyncEngine, report: TargetReport, wake: Callable[[], None]) -> bool:
    """Append the report to its post and update the projections; False when it was seen before
    or names a post this gateway does not hold."""
    fact = as_post_event(report)
    for _ in range(APPEND_RETRIES):
        try:
            async with engine.begin() as conn:
                if not await inbox.first_time(conn, CONSUMER, report.id):
                    return False
                post = await post_store.load(conn, report.post_id)
                if post is None or post.org_id != report.org_id or post.mode != report.mode:
                    log.warning("target_report.unknown_post", post_id=report.post_id, event_id=report.id)
                    return False
                await post_store.append(conn, post.id, post.version, [fact])
                after = apply(post, fact)
                await post_store.project(conn, after)
                changed = await announce(conn, status_changed(post, after, fact.at))
            if changed:
                wake()
            return True
        except post_store.ConcurrentAppend:
            continue
    raise post_store.ConcurrentAppend(report.post_id)
