"""Recording what the scheduler and publishers report about each target into the post's history."""

from __future__ import annotations

from collections.abc import Sequence

from crier.contracts import events as contract
from crier.gateway.adapters import post_store
from crier.gateway.domain import events as ev
from crier.gateway.handlers import announcements
from crier.gateway.handlers.context import Context
from crier.kit.errors import NotFound
from crier.kit.log import get

log = get(__name__)

TargetReport = (
    contract.TargetQueued
    | contract.TargetPublishing
    | contract.TargetPublished
    | contract.TargetAttemptFailed
    | contract.TargetFailed
    | contract.TargetDeadLettered
)


def as_post_event(report: TargetReport) -> ev.AnyTargetEvent:
    """The wire event, restated as a fact in the post's own history."""
    common = {
        "at": report.occurred_at,
        "target_id": report.target_id,
        "source_event_id": report.id,
        "redrive": report.redrive,
    }
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
                notes=report.notes,
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


async def record_target_report(ctx: Context, report: TargetReport) -> bool:
    """Append the report to its post and update the projections; False when it was seen before
    or names a post this gateway does not hold."""
    fact = as_post_event(report)
    try:
        after = await post_store.change(
            ctx.uow,
            post_id=report.post_id,
            org_id=report.org_id,
            mode=report.mode,
            facts={report.id: fact},
            announce=announcements.of_change,
        )
    except NotFound:
        log.warning("target_report.unknown_post", post_id=report.post_id, event_id=report.id)
        return False
    return after is not None


async def record_target_reports(ctx: Context, reports: Sequence[TargetReport]) -> None:
    """Reports of one post, in stream order, appended in one transaction (each message's id claimed
    in the inbox, those seen before left out): under a backlog a post's reports arrive together,
    and one transaction apiece was the report consumer's whole cost."""
    first = reports[0]
    if any((r.post_id, r.org_id, r.mode) != (first.post_id, first.org_id, first.mode) for r in reports):
        raise ValueError("reports of one post only")
    try:
        await post_store.change(
            ctx.uow,
            post_id=first.post_id,
            org_id=first.org_id,
            mode=first.mode,
            facts={r.id: as_post_event(r) for r in reports},
            announce=announcements.of_change,
        )
    except NotFound:
        log.warning("target_report.unknown_post", post_id=first.post_id, event_ids=[r.id for r in reports])
